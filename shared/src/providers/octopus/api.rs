//! Octopus Cards order API paths: `GET /api/v1/orders/{id}` (vouchers),
//! `GET /api/v1/esim/orders/{id}` (eSIM) and `GET /api/v1/topups/orders/{id}` (top-ups).

use crate::order::{OrderKind, OrderRef};
use crate::order_api::FetchError;
use crate::order_api::{HttpOrderClient, OrderPath};

/// Client of the Octopus Cards API.
pub type OctopusOrderClient = HttpOrderClient<OctopusPaths>;

#[derive(Clone, Copy, Debug, Default)]
pub struct OctopusPaths;

/// Octopus order ids are positive integers; anything else never reaches a URL.
pub fn octopus_order_id(order_id: &str) -> Result<u64, FetchError> {
    let invalid = || FetchError::InvalidOrderId(order_id.chars().take(32).collect());
    if order_id.is_empty() || order_id.len() > 19 || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    order_id.parse().map_err(|_| invalid())
}

impl OrderPath for OctopusPaths {
    fn segments(&self, order: &OrderRef) -> Result<Vec<String>, FetchError> {
        let id = octopus_order_id(&order.order_id)?.to_string();
        Ok(match order.kind {
            OrderKind::Esim => vec![
                "api".into(),
                "v1".into(),
                "esim".into(),
                "orders".into(),
                id,
            ],
            OrderKind::Topup => vec![
                "api".into(),
                "v1".into(),
                "topups".into(),
                "orders".into(),
                id,
            ],
            _ => vec!["api".into(), "v1".into(), "orders".into(), id],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order_api::RetryPolicy;

    fn client(base: &str) -> OctopusOrderClient {
        OctopusOrderClient::new(
            base,
            crate::api_auth::unused_token("octopus"),
            RetryPolicy::default(),
        )
        .unwrap()
    }

    fn order(kind: OrderKind, id: &str) -> OrderRef {
        OrderRef {
            provider: "octopus".into(),
            kind,
            order_id: id.into(),
        }
    }

    #[test]
    fn urls_by_kind_under_the_base_path() {
        let c = client("https://api.example.com/base/");
        assert_eq!(
            c.order_url(&order(OrderKind::Voucher, "12345"))
                .unwrap()
                .as_str(),
            "https://api.example.com/base/api/v1/orders/12345"
        );
        assert_eq!(
            client("https://api.example.com")
                .order_url(&order(OrderKind::Esim, "9302481"))
                .unwrap()
                .as_str(),
            "https://api.example.com/api/v1/esim/orders/9302481"
        );
    }

    #[test]
    fn ids_that_are_not_integers_never_reach_a_url() {
        let c = client("https://api.example.com");
        for id in [
            "",
            "12a",
            "../admin",
            "1/2",
            "-1",
            "１２",
            "12345678901234567890",
            "1%2F2",
        ] {
            assert!(c.order_url(&order(OrderKind::Voucher, id)).is_err(), "{id}");
        }
    }
}
