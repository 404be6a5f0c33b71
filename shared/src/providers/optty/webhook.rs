//! Optty order notifications.
//!
//! Optty publishes no way to check a notification's `hash`, so a notification proves nothing by
//! itself. Two things make it safe: the route carries a secret path token
//! (`/webhooks/optty/{token}`), compared in constant time and never logged; and the processor
//! never believes the notification's status, it asks Optty's API (`GET /orders/{reference}`)
//! and records what the API says. A forged notification can at worst cause one extra API call.
//!
//! Optty sends no event id. The dedupe key is derived from what identifies one change:
//! the transaction (or order reference), the notification type and the status.
//!
//! A final status update may carry the customer's card `token` ("it will also include the token
//! on a final status update ... can be used for merchant-initiated payments", Optty's
//! notifications document). hookline has no use for it and no signature covers the body, so the
//! receiver replaces it with `"<redacted>"` before anything is kept: the queue message, the
//! archive and the table never hold it.

use std::borrow::Cow;

use http::HeaderMap;
use serde::Deserialize;

use crate::keyring::Keyring;
use crate::signature::SecretSet;
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, malformed_json, validate_event_id,
};

pub const PROVIDER: &str = "optty";
pub const KNOWN_EVENT_TYPES: &[&str] = &["ORDER_STATUS_UPDATE", "ORDER_ASYNC_CALLBACK"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    transaction_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    order_reference: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
    #[serde(borrow)]
    order_token: Option<Cow<'a, str>>,
    #[serde(borrow)]
    capture_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    capture_reference: Option<Cow<'a, str>>,
    #[serde(borrow)]
    refund_reference: Option<Cow<'a, str>>,
}

/// The Optty scheme: the active path tokens.
#[derive(Clone, Debug)]
pub struct OpttyScheme {
    tokens: Keyring<SecretSet>,
}

impl OpttyScheme {
    pub fn new(tokens: impl Into<Keyring<SecretSet>>) -> Self {
        Self {
            tokens: tokens.into(),
        }
    }
}

impl WebhookScheme for OpttyScheme {
    fn plan(&self, message: &crate::message::QueueMessage) -> Result<crate::plan::Plan, crate::plan::PlanError> {
        super::plan::plan(message)
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn verify_routed(
        &self,
        route: &Route<'_>,
        _headers: &HeaderMap,
        body: &[u8],
        _now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        let token = route
            .param
            .ok_or(Rejection::InvalidSignature("missing path token"))?;
        if !self.tokens.current().contains(token.as_bytes()) {
            return Err(Rejection::InvalidSignature(
                "path token is not an active token",
            ));
        }
        parse_notification(body)
    }

    fn stored_body<'a>(&self, body: &'a str) -> Cow<'a, str> {
        without_card_token(body)
    }
}

/// What the card token is replaced with.
pub const REDACTED_CARD_TOKEN: &str = "<redacted>";

/// `body` with a non-null top-level `token` replaced by [`REDACTED_CARD_TOKEN`]; unchanged (the
/// very bytes) when it has none. The body was parsed by [`parse_notification`] already.
pub fn without_card_token(body: &str) -> Cow<'_, str> {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(body) else {
        return Cow::Borrowed(body);
    };
    match fields.get_mut("token") {
        Some(token) if !token.is_null() && token.as_str() != Some(REDACTED_CARD_TOKEN) => {
            *token = serde_json::Value::from(REDACTED_CARD_TOKEN);
            Cow::Owned(serde_json::Value::Object(fields).to_string())
        }
        _ => Cow::Borrowed(body),
    }
}

/// The order reference an Optty notification is about: what `GET /orders/{reference}` takes.
pub fn order_reference(body: &[u8]) -> Option<String> {
    let notification: Notification<'_> = serde_json::from_slice(body).ok()?;
    notification
        .order_reference
        .or(notification.reference)
        .or(notification.order_token)
        .filter(|r| !r.is_empty())
        .map(Cow::into_owned)
}

/// Reads the notification type and derives its dedupe key.
pub fn parse_notification(body: &[u8]) -> Result<VerifiedEvent, Rejection> {
    let notification: Notification<'_> = serde_json::from_slice(body).map_err(|e| {
        malformed_json(
            &e,
            "a JSON object whose event, status and references are strings",
        )
    })?;
    let event_type = notification
        .event
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Rejection::Malformed("notification has no event".into()))?;
    let status = notification
        .status
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Rejection::Malformed("notification has no status".into()))?;
    if notification.order_reference.is_none()
        && notification.reference.is_none()
        && notification.order_token.is_none()
    {
        return Err(Rejection::Malformed(
            "notification has no orderReference, reference or orderToken".into(),
        ));
    }
    let subject = notification
        .transaction_id
        .or(notification.order_reference)
        .or(notification.reference)
        .or(notification.order_token)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Rejection::Malformed("notification has no transactionId or reference".into())
        })?;
    // Everything that tells two notifications apart: a capture after its authorisation, or a
    // second partial refund, keeps the order's status but is a notification of its own.
    let mut event_id = format!("{subject}#{event_type}#{status}");
    for part in [
        &notification.capture_status,
        &notification.capture_reference,
        &notification.refund_reference,
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    {
        event_id.push('#');
        event_id.push_str(part);
    }
    validate_event_id(&event_id)?;
    Ok(VerifiedEvent {
        provider: PROVIDER.to_string(),
        known_type: KNOWN_EVENT_TYPES.contains(&event_type.as_ref()),
        event_id,
        event_type: event_type.into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "hookline-optty-test-path-token";
    const BODY: &[u8] = br#"{"event":"ORDER_STATUS_UPDATE","status":"SUCCESSFUL","transactionId":"txn-77","orderReference":"ord-1001","hash":"abc","token":"card-token-secret"}"#;

    fn verify(param: Option<&str>, body: &[u8]) -> Result<VerifiedEvent, Rejection> {
        let scheme = OpttyScheme::new(SecretSet::parse(TOKEN).unwrap());
        let route = Route {
            path: "/webhooks/optty/x",
            param,
        };
        scheme.verify_routed(&route, &HeaderMap::new(), body, 0)
    }

    #[test]
    fn the_path_token_authenticates() {
        let event = verify(Some(TOKEN), BODY).unwrap();
        assert_eq!(event.event_id, "txn-77#ORDER_STATUS_UPDATE#SUCCESSFUL");
        assert!(event.known_type);
        for wrong in [
            Some("hookline-optty-test-path-tokeX"),
            Some(""),
            Some(&TOKEN[..10]),
            None,
        ] {
            let err = verify(wrong, BODY).unwrap_err();
            assert_eq!((err.status(), err.error_code()), (401, "invalid_signature"));
        }
    }

    #[test]
    fn the_card_token_is_not_kept_and_a_body_without_one_is_kept_as_received() {
        let text = std::str::from_utf8(BODY).unwrap();
        let stored = without_card_token(text);
        assert!(!stored.contains("card-token-secret"), "{stored}");
        let fields: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(fields["token"], REDACTED_CARD_TOKEN);
        assert_eq!(fields["orderReference"], "ord-1001");
        assert_eq!(
            verify(Some(TOKEN), stored.as_bytes()).unwrap().event_id,
            verify(Some(TOKEN), BODY).unwrap().event_id,
            "the same event after redaction"
        );
        for kept in [
            r#"{"event":"E","status":"S","orderReference":"o","token":null}"#,
            r#"{"event":"E","status":"S","orderReference":"o"}"#,
        ] {
            assert!(matches!(without_card_token(kept), Cow::Borrowed(b) if b == kept));
        }
        let numeric = without_card_token(r#"{"token":4111111111111111}"#);
        assert!(!numeric.contains("4111"));
    }

    #[test]
    fn each_status_of_a_transaction_is_its_own_event() {
        let declined = String::from_utf8_lossy(BODY).replace("SUCCESSFUL", "DECLINED");
        let a = verify(Some(TOKEN), BODY).unwrap().event_id;
        let b = verify(Some(TOKEN), declined.as_bytes()).unwrap().event_id;
        assert_ne!(a, b);
        let no_txn = br#"{"event":"ORDER_STATUS_UPDATE","status":"CANCELED","orderReference":"ord-1","cancelledBy":"USER"}"#;
        assert_eq!(
            verify(Some(TOKEN), no_txn).unwrap().event_id,
            "ord-1#ORDER_STATUS_UPDATE#CANCELED"
        );
        assert_eq!(order_reference(no_txn).as_deref(), Some("ord-1"));
    }

    #[test]
    fn capture_and_refund_notifications_of_one_status_have_ids_of_their_own() {
        // Regression: `{txn}#{event}#{status}` gave these one id; the second was a Conflict,
        // dead-lettered, and a redrive conflicted again.
        let base = r#"{"event":"ORDER_STATUS_UPDATE","status":"SUCCESSFUL","transactionId":"txn-9","orderReference":"ord-9""#;
        let bodies = [
            format!("{base}}}"),
            format!(r#"{base},"captureStatus":"AUTHORIZED"}}"#),
            format!(r#"{base},"captureStatus":"CAPTURED","captureReference":"cap-1"}}"#),
            format!(r#"{base},"refundReference":"rf-1"}}"#),
            format!(r#"{base},"refundReference":"rf-2"}}"#),
        ];
        let ids: Vec<String> = bodies
            .iter()
            .map(|b| verify(Some(TOKEN), b.as_bytes()).unwrap().event_id)
            .collect();
        let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), bodies.len(), "{ids:?}");
        assert_eq!(
            ids[2],
            "txn-9#ORDER_STATUS_UPDATE#SUCCESSFUL#CAPTURED#cap-1"
        );
        // The same notification again has the same id (a retry is a duplicate).
        assert_eq!(
            verify(Some(TOKEN), bodies[4].as_bytes()).unwrap().event_id,
            ids[4]
        );
    }

    #[test]
    fn malformed_notifications_are_refused_without_echoing() {
        for body in [
            &br#"{"status":"SUCCESSFUL","orderReference":"o"}"#[..],
            br#"{"event":"ORDER_STATUS_UPDATE","orderReference":"o"}"#,
            br#"{"event":"ORDER_STATUS_UPDATE","status":"SUCCESSFUL","transactionId":"t"}"#,
            br#"{"event":"ORDER_STATUS_UPDATE","status":"SUCCESSFUL","orderReference":7}"#,
            b"card-token-secret",
        ] {
            let err = verify(Some(TOKEN), body).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(!err.to_string().contains("card-token"));
        }
    }
}
