//! `POST /orders/watch` (IAM-authorised): registers an order for the poller. Wiring only; the
//! behaviour lives in `hookline::watch::api`.

use hookline::config::{EVENTS_TABLE, watch_give_up_secs};
use hookline::watch::{DynamoWatchStore, lambda};
use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    let table = std::env::var(EVENTS_TABLE).map_err(|_| format!("{EVENTS_TABLE} is not set"))?;
    let give_up_after = watch_give_up_secs()?;
    let aws = hookline::aws::from_env().await;
    let store = DynamoWatchStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let store = &store;
    lambda_http::run(service_fn(move |request| {
        lambda::register(store, give_up_after, request)
    }))
    .await
}
