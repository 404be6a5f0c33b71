//! `POST /orders/watch` (IAM-authorised): registers an order for the poller. Wiring only; the
//! behaviour lives in `hookline::poller::registration`.

use hookline::config::{EVENTS_TABLE, WATCH_GIVE_UP_SECS, env_lookup, optional_number, required};
use hookline::poller::lambda;
use hookline::watch::{DEFAULT_GIVE_UP_SECS, DynamoWatchStore};
use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    let table = required(&env_lookup, EVENTS_TABLE)?;
    let give_up_after =
        optional_number(&env_lookup, WATCH_GIVE_UP_SECS)?.unwrap_or(DEFAULT_GIVE_UP_SECS);
    let aws = hookline::aws::from_env().await;
    let store = DynamoWatchStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let store = &store;
    lambda_http::run(service_fn(move |request| {
        lambda::register(store, give_up_after, request)
    }))
    .await
}
