//! Optty order API path: `GET /orders/{reference}` (Bearer). The answer's `status` is the truth
//! hookline records for an Optty order; the notification only says when to ask.

use crate::order::OrderRef;
use crate::order_api::FetchError;
use crate::order_api::{HttpOrderClient, OrderPath};

/// Client of the Optty merchant API.
pub type OpttyOrderClient = HttpOrderClient<OpttyPaths>;

#[derive(Clone, Copy, Debug, Default)]
pub struct OpttyPaths;

/// Longest order reference accepted.
const MAX_REFERENCE_LEN: usize = 128;

/// Optty references are merchant-chosen: letters, digits and `-_.:` only, so a reference can
/// never change the path it is put into (it is also path-encoded).
pub fn optty_reference(reference: &str) -> Result<&str, FetchError> {
    let valid = !reference.is_empty()
        && reference.len() <= MAX_REFERENCE_LEN
        && reference != "."
        && reference != ".."
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if valid {
        Ok(reference)
    } else {
        Err(FetchError::InvalidOrderId(
            reference.chars().take(32).collect(),
        ))
    }
}

impl OrderPath for OpttyPaths {
    fn segments(&self, order: &OrderRef) -> Result<Vec<String>, FetchError> {
        let reference = optty_reference(&order.order_id)?;
        Ok(vec!["orders".into(), reference.to_string()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderKind;
    use crate::order_api::RetryPolicy;

    fn url(reference: &str) -> Result<String, FetchError> {
        let token = crate::api_auth::unused_token("optty");
        let client = OpttyOrderClient::new(
            "https://api.optty.example/v1",
            token,
            RetryPolicy::default(),
        )
        .unwrap();
        let order = OrderRef {
            provider: "optty".into(),
            kind: OrderKind::Order,
            order_id: reference.into(),
        };
        client.order_url(&order).map(|u| u.to_string())
    }

    #[test]
    fn references_go_under_the_base_and_nothing_else_does() {
        assert_eq!(
            url("ord-1001").unwrap(),
            "https://api.optty.example/v1/orders/ord-1001"
        );
        for bad in ["", "..", "a/b", "a?b", "a b", "%2e", &"x".repeat(129)] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }
}
