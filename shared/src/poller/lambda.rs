//! Lambda adapters of the watches: the scheduled poller, and the registration route.

use std::convert::Infallible;

use lambda_http::{Body, Request, Response};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::transactions::{TransactionsApi, TransactionsPoller};
use super::{Poller, registration};
use crate::clock::instant_of;
use crate::cursor::CursorStore;
use crate::order_api::OrderApi;
use crate::queue::Queue;
use crate::watch::WatchStore;

/// One scheduled run (the EventBridge event itself carries nothing needed): the wallets'
/// transactions when configured, then the watches. A store failure fails the invocation: the
/// next minute's run starts over, and no watch is lost.
pub async fn poll<W, A, Q, C, T>(
    poller: &Poller<W, A, Q>,
    transactions: Option<&TransactionsPoller<C, T, Q>>,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error>
where
    W: WatchStore,
    A: OrderApi,
    Q: Queue,
    C: CursorStore,
    T: TransactionsApi,
{
    let deadline = instant_of(event.context.deadline);
    let movements = match transactions {
        Some(transactions) => {
            let report = transactions.run(deadline).await;
            tracing::info!(
                wallets = report.wallets,
                movements = report.movements,
                failed = report.failed,
                "wallet transactions polled"
            );
            report.movements
        }
        None => 0,
    };
    let report = poller.run(deadline).await?;
    crate::metrics::emit(&super::metrics::poller_run(
        &report,
        OffsetDateTime::now_utc(),
    ));
    tracing::info!(
        polled = report.polled,
        changes = report.changes,
        settled = report.settled,
        given_up = report.given_up,
        order_not_found = report.order_not_found,
        failed = report.failed,
        "poller run done"
    );
    Ok(json!({
        "polled": report.polled,
        "changes": report.changes,
        "settled": report.settled,
        "given_up": report.given_up,
        "order_not_found": report.order_not_found,
        "failed": report.failed,
        "wallet_movements": movements,
    }))
}

/// `POST /orders/watch` through API Gateway (IAM-authorised in the template).
pub async fn register<W: WatchStore>(
    store: &W,
    give_up_after: i64,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let (status, body) = if request.method() == http::Method::POST {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        registration::register(store, request.body().as_ref(), now, give_up_after).await
    } else {
        (405, json!({"error": "method_not_allowed"}).to_string())
    };
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
