//! Processor: SQS ingest queue → claim in DynamoDB → follow-up fetch → order state → order
//! updates queue. Wiring only; the behaviour lives in `hookline::processor`.

use hookline::config::ProcessorEnv;
use hookline::idempotency::DynamoEventStore;
use hookline::order_api::{
    ApiToken, OctopusOrderClient, OpttyOrderClient, ProviderApis, RetryPolicy,
};
use hookline::order_state::DynamoOrderStateStore;
use hookline::processor::{Processor, ProcessorConfig, lambda};
use hookline::queue::SqsQueue;
use hookline::watch::DynamoWatchStore;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    // Clients and secrets are built once per container, not per batch.
    let env = ProcessorEnv::from_env()?;
    let aws = hookline::aws::from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let processor = Processor {
        events: DynamoEventStore::new(dynamodb.clone(), &env.events_table),
        states: DynamoOrderStateStore::new(dynamodb.clone(), &env.events_table),
        api: ProviderApis {
            octopus: Some(OctopusOrderClient::with_token(
                &env.octopus_api_base_url,
                ApiToken::load(&env.octopus_api_token).await?,
                RetryPolicy::default(),
            )?),
            optty: match &env.optty_api {
                Some((base, key)) => Some(OpttyOrderClient::with_token(
                    base,
                    ApiToken::load(key).await?,
                    RetryPolicy::default(),
                )?),
                None => None,
            },
        },
        updates: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), &env.order_updates_queue_url),
        credentials: env
            .esim_credentials_queue_url
            .as_ref()
            .map(|url| SqsQueue::new(aws_sdk_sqs::Client::new(&aws), url)),
        watches: DynamoWatchStore::new(dynamodb.clone(), &env.events_table),
        config: ProcessorConfig {
            record_ttl_secs: env.record_ttl_secs,
            concurrency: env.concurrency,
            watch_give_up_secs: env.watch_give_up_secs,
            forward_all_event_fields: env.forward_all_event_fields,
            ..ProcessorConfig::default()
        },
    };
    let processor = &processor;
    lambda_runtime::run(service_fn(move |event| lambda::handle(processor, event))).await
}
