//! Order poller: every minute (EventBridge), polls the watched orders that are due and enqueues
//! their status changes to the ingest queue. Wiring only; the behaviour lives in
//! `hookline::watch`.

use hookline::config::PollerEnv;
use hookline::order_api::{ApiToken, OctopusOrderClient, RetryPolicy};
use hookline::queue::SqsQueue;
use hookline::watch::poller::{Poller, PollerConfig};
use hookline::watch::{DynamoWatchStore, lambda};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    let env = PollerEnv::from_env()?;
    let aws = hookline::aws::from_env().await;
    let poller = Poller {
        watches: DynamoWatchStore::new(aws_sdk_dynamodb::Client::new(&aws), &env.events_table),
        api: OctopusOrderClient::with_token(
            &env.octopus_api_base_url,
            ApiToken::load(&env.octopus_api_token).await?,
            RetryPolicy::default(),
        )?,
        ingest: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), &env.ingest_queue_url),
        config: PollerConfig::default(),
    };
    let poller = &poller;
    lambda_runtime::run(service_fn(move |event| lambda::poll(poller, event))).await
}
