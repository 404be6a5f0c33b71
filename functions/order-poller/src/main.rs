//! Order poller: every minute (EventBridge), polls the watched orders that are due and enqueues
//! their status changes to the ingest queue. Wiring only; the behaviour lives in
//! `hookline::poller`.

use hookline::config::{PollerEnv, env_lookup};
use hookline::order_api::RetryPolicy;
use hookline::poller::{Poller, PollerConfig, lambda};
use hookline::providers::{ProviderApis, configured_order_apis};
use hookline::queue::SqsQueue;
use hookline::watch::DynamoWatchStore;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    let env = PollerEnv::from_env()?;
    let apis = configured_order_apis(env_lookup)?;
    let aws = hookline::aws::from_env().await;
    let poller = Poller {
        watches: DynamoWatchStore::new(aws_sdk_dynamodb::Client::new(&aws), &env.events_table),
        api: ProviderApis::load(&apis, RetryPolicy::default()).await?,
        ingest: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), &env.ingest_queue_url),
        config: PollerConfig::from_env(&env),
    };
    let poller = &poller;
    lambda_runtime::run(service_fn(move |event| lambda::poll(poller, event))).await
}
