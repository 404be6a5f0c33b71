//! Which fields of an event's data an order update forwards downstream. Allow-lists, not
//! deny-lists: a field a provider adds tomorrow stays home until it is reviewed and listed.
//! `FORWARD_ALL_EVENT_FIELDS` (template parameter `ForwardAllEventFields`) opts out.
//!
//! | provider | forwarded | left out |
//! |---|---|---|
//! | Octopus | the documented order, eSIM and wallet fields ([`OCTOPUS`]) | anything else |
//! | Optty | the documented notification fields ([`OPTTY`]) | the card `token`, `rawBnplResponse`, `metaData`, `redirectUrl`, `orderToken`, `hash` |
//! | Coinme, OwlPay, Standard Webhooks | the whole `data` | — (their documents put no credential in a payload; Standard Webhooks payloads are the sender's own) |

use serde_json::{Map, Value};

/// Octopus webhook `data` fields (vouchers, eSIM, wallet), as its documents and samples give them.
pub const OCTOPUS: &[&str] = &[
    "id",
    "reference_code",
    "client_reference",
    "status",
    "product_name",
    "denomination",
    "quantity",
    "delivered_quantity",
    "delivered_on",
    "created_at",
    "amount",
    "currency",
    "country_code",
    "data_amount_gb",
    "validity_days",
    "iccid",
    "is_installed",
    "activation_status",
    "failure_code",
    "failure_reason",
    "is_user_fixable",
    "transaction_id",
    "balance_after",
    "type",
];

/// Optty notification fields worth passing on (its status arrives as `notified_status`).
pub const OPTTY: &[&str] = &[
    "event",
    "notified_status",
    "transactionId",
    "orderId",
    "orderReference",
    "reference",
    "currency",
    "amount",
    "transactionReference",
    "paymentStatus",
    "provider",
    "orderDate",
    "preferredDisplayMode",
    "incontextDisplayMode",
    "cancelledBy",
    "captureStatus",
    "captureReference",
    "rejectReason",
    "refundReference",
];

/// The allow-list of a provider, `None` when its data is forwarded whole.
pub fn allow_list(provider: &str) -> Option<&'static [&'static str]> {
    match provider {
        crate::providers::octopus::PROVIDER => Some(OCTOPUS),
        crate::providers::optty::PROVIDER => Some(OPTTY),
        _ => None,
    }
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
