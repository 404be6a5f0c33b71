//! Which fields of an event's data an order update forwards downstream. Allow-lists, not
//! deny-lists: a field a provider adds tomorrow stays home until it is reviewed and listed.
//! `FORWARD_ALL_EVENT_FIELDS` (template parameter `ForwardAllEventFields`) opts out.
//!
//! | provider | forwarded | left out |
//! |---|---|---|
//! | Octopus | the documented order, eSIM and wallet fields (`providers::octopus::FORWARDED_FIELDS`) | anything else |
//! | Optty | the documented notification fields (`providers::optty::FORWARDED_FIELDS`) | the card `token`, `rawBnplResponse`, `metaData`, `redirectUrl`, `orderToken`, `hash` |
//! | Coinme, OwlPay, Standard Webhooks | the whole `data` | — (their documents put no credential in a payload; Standard Webhooks payloads are the sender's own) |

use serde_json::{Map, Value};

/// The allow-list of a provider's events, `None` when its data is forwarded whole: each
/// provider's `FORWARDED_FIELDS` in its module, through the registry.
pub fn allow_list(provider: &str) -> Option<&'static [&'static str]> {
    crate::providers::Provider::of_event(provider).and_then(|p| p.spec().forwarded_fields)
}

/// The part of `data` that `provider`'s allow-list lets through (all of it, without a list).
pub fn forwarded(provider: &str, data: &Value) -> Value {
    match (allow_list(provider), data) {
        (Some(allowed), Value::Object(fields)) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| allowed.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect::<Map<String, Value>>(),
        ),
        _ => data.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optty_card_tokens_and_raw_responses_stay_home() {
        // Regression: the card token and the BNPL provider's raw response went downstream.
        let notification = json!({"event": "ORDER_STATUS_UPDATE", "notified_status": "SUCCESSFUL",
            "orderReference": "ord-1", "amount": 10, "token": "card-token-secret",
            "rawBnplResponse": {"secret": true}, "metaData": {"email": "a@b.c"},
            "redirectUrl": "https://pay.example/x", "hash": "h"});
        let out = forwarded("optty", &notification);
        assert_eq!(
            out,
            json!({"event": "ORDER_STATUS_UPDATE", "notified_status": "SUCCESSFUL",
                   "orderReference": "ord-1", "amount": 10})
        );
    }

    #[test]
    fn octopus_forwards_its_documented_fields_only() {
        let data = json!({"id": 1, "status": "DELIVERED", "activation_code": "LPA:1$x$SECRET"});
        assert_eq!(
            forwarded("octopus", &data),
            json!({"id": 1, "status": "DELIVERED"})
        );
    }

    #[test]
    fn providers_without_a_list_are_forwarded_whole() {
        let data = json!({"order": {"uuid": "o"}, "anything": 1});
        for provider in ["owlpay", "owlpay-harbor", "coinme", "std:acme"] {
            assert_eq!(forwarded(provider, &data), data, "{provider}");
        }
    }
}
