//! Registering an order to watch: `POST /orders/watch` with
//! `{"provider": "octopus", "kind": "esim", "order_id": "9302481", "client_reference": "..."}`.
//! Registering is idempotent; registering an eSIM again re-arms its install watch.
//! Independent of Lambda; the `order-watch` function and `hookline serve` both call it.

use serde::Deserialize;
use serde_json::json;

use crate::order::{OrderKind, OrderRef};
use crate::watch::{Registration, Watch, WatchStore};

pub use crate::watch::DEFAULT_GIVE_UP_SECS;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default = "only_watchable_provider")]
    provider: String,
    kind: String,
    order_id: serde_json::Value,
    client_reference: Option<String>,
}

/// `provider` may be left out while one provider alone can be watched (today Octopus).
fn only_watchable_provider() -> String {
    match crate::providers::watchable_names().as_slice() {
        [only] => (*only).to_string(),
        _ => String::new(),
    }
}

/// A registration request read into a watch due now, or why it cannot be.
pub fn parse_request(body: &[u8], now: i64, give_up_after: i64) -> Result<Watch, String> {
    let request: Request = serde_json::from_slice(body).map_err(|_| {
        "body must be {\"provider\"?, \"kind\": \"voucher\"|\"esim\"|\"topup\", \"order_id\", \"client_reference\"?}".to_string()
    })?;
    let kind = match request.kind.as_str() {
        "voucher" => OrderKind::Voucher,
        "esim" => OrderKind::Esim,
        "topup" => OrderKind::Topup,
        _ => return Err("kind must be voucher, esim or topup".into()),
    };
    let order_id = match request.order_id {
        serde_json::Value::String(id) => id,
        serde_json::Value::Number(id) => id.to_string(),
        _ => return Err("order_id must be a positive integer".into()),
    };
    if request
        .client_reference
        .as_ref()
        .is_some_and(|r| r.len() > 128 || r.chars().any(char::is_control))
    {
        return Err("client_reference is at most 128 printable characters".into());
    }
    let order = watchable(&request.provider, kind, &order_id)?;
    Ok(Watch::new(
        order,
        request.client_reference,
        now,
        give_up_after,
    ))
}

/// Handles one registration: the HTTP status and JSON body.
pub async fn register<W: WatchStore>(
    store: &W,
    body: &[u8],
    now: i64,
    give_up_after: i64,
) -> (u16, String) {
    let watch = match parse_request(body, now, give_up_after) {
        Ok(watch) => watch,
        Err(reason) => {
            return (
                400,
                json!({"error": "invalid_request", "detail": reason}).to_string(),
            );
        }
    };
    let registered = match store.register(&watch).await {
        Ok(Registration::Registered) => Ok((true, false)),
        // Registering an eSIM again re-arms its install watch: the customer says they
        // installed it, so the install phase starts over (a no-op for any other watch).
        Ok(Registration::AlreadyWatched) if watch.order.kind == OrderKind::Esim => store
            .rearm(&watch.order, now, watch.give_up_at)
            .await
            .map(|rearmed| (false, rearmed)),
        Ok(Registration::AlreadyWatched) => Ok((false, false)),
        Err(error) => Err(error),
    };
    match registered {
        Ok((created, rearmed)) => {
            tracing::info!(
                order_kind = %watch.order.kind,
                order_id = %watch.order.order_id,
                created,
                rearmed,
                "order watch registered"
            );
            let body = json!({"watching": true, "created": created, "rearmed": rearmed, "key": watch.key()})
                .to_string();
            (if created { 201 } else { 200 }, body)
        }
        Err(error) => {
            tracing::error!(error = %error, "order watch not registered");
            (503, json!({"error": "store_unavailable"}).to_string())
        }
    }
}

/// The order a registration names, if its provider's watch rules (the registry) accept it:
/// today only Octopus documents ask for polling.
pub fn watchable(provider: &str, kind: OrderKind, order_id: &str) -> Result<OrderRef, String> {
    let rules = crate::providers::Provider::of_event(provider)
        .and_then(|p| p.spec().watch.as_ref())
        .ok_or_else(|| {
            format!(
                "provider {provider:?} cannot be watched; only {} orders are polled",
                crate::providers::watchable_names().join(", ")
            )
        })?;
    (rules.check)(kind, order_id)?;
    Ok(OrderRef {
        provider: provider.to_string(),
        kind,
        order_id: order_id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::MemoryWatchStore;

    #[tokio::test]
    async fn registering_twice_is_one_watch() {
        let store = MemoryWatchStore::new();
        let body = br#"{"kind":"esim","order_id":9302481,"client_reference":"TRIP"}"#;
        assert_eq!(register(&store, body, 1000, 60).await.0, 201);
        assert_eq!(register(&store, body, 1001, 60).await.0, 200);
        assert_eq!(store.due(2000, 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn registering_an_esim_again_rearms_its_install_watch_once_it_is_there() {
        let store = MemoryWatchStore::new();
        let body = br#"{"kind":"esim","order_id":9302481}"#;
        assert_eq!(register(&store, body, 1000, 86_400).await.0, 201);
        let (status, answer) = register(&store, body, 1010, 86_400).await;
        assert_eq!(status, 200);
        assert!(
            answer.contains(r#""rearmed":false"#),
            "still fulfilling: {answer}"
        );
        let key = "WATCH#octopus#esim#9302481";
        let (mut watch, _) = store.get(key).unwrap();
        watch.phase = crate::watch::Phase::Install;
        watch.phase_polls = 30;
        watch.next_poll_at = 50_000;
        store
            .end(&watch, crate::watch::EndReason::GaveUp)
            .await
            .unwrap();
        assert!(store.due(60_000, 10).await.unwrap().is_empty());
        let (status, answer) = register(&store, body, 70_000, 86_400).await;
        assert_eq!(status, 200);
        assert!(answer.contains(r#""rearmed":true"#), "{answer}");
        let (watch, ended) = store.get(key).unwrap();
        assert_eq!(ended, None);
        assert_eq!(
            (
                watch.phase_started_at,
                watch.next_poll_at,
                watch.phase_polls
            ),
            (70_000, 70_000, 0)
        );
        assert_eq!(watch.give_up_at, 70_000 + 86_400);
        assert_eq!(store.due(70_000, 10).await.unwrap().len(), 1);
        let voucher = br#"{"kind":"voucher","order_id":5}"#;
        register(&store, voucher, 1000, 60).await;
        assert!(
            register(&store, voucher, 2000, 60)
                .await
                .1
                .contains(r#""rearmed":false"#)
        );
    }

    #[tokio::test]
    async fn bad_requests_are_400_with_a_reason() {
        let store = MemoryWatchStore::new();
        for body in [
            &br#"{"kind":"esim"}"#[..],
            br#"{"kind":"car","order_id":1}"#,
            br#"{"kind":"esim","order_id":"../1"}"#,
            br#"{"provider":"coinme","kind":"esim","order_id":1}"#,
            br#"{"kind":"esim","order_id":1,"extra":true}"#,
            b"not json",
        ] {
            let (status, reply) = register(&store, body, 0, 60).await;
            assert_eq!(status, 400, "{reply}");
        }
    }
}
