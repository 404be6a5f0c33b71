//! Processor: SQS ingest queue → archive in S3 → claim in DynamoDB → follow-up fetch → order state → order
//! updates queue. Wiring only; the behaviour lives in `hookline::processor`.

use hookline::api_budget::Priority;
use hookline::archive::{Archive, ArchiveKey, ArchiveStore, S3Archive};
use hookline::config::{ProcessorEnv, env_lookup};
use hookline::idempotency::DynamoEventStore;
use hookline::order_api::RetryPolicy;
use hookline::order_state::DynamoOrderStateStore;
use hookline::processor::{Processor, ProcessorConfig, lambda};
use hookline::providers::{ProviderApis, SessionSharing, configured_order_apis};
use hookline::queue::SqsQueue;
use hookline::watch::DynamoWatchStore;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    // Clients and secrets are built once per container, not per batch.
    let env = ProcessorEnv::from_env()?;
    let apis = configured_order_apis(env_lookup)?;
    let aws = hookline::aws::from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    // Every container shares one API session per provider (Secrets Manager), renewed by
    // whoever holds the lease in the events table.
    let sharing = SessionSharing {
        aws: aws.clone(),
        lease_table: env.events_table.clone(),
    };
    // The connections open while the API credentials load (Secrets Manager: another host).
    let (api, ()) = tokio::join!(
        ProviderApis::load(
            &apis,
            RetryPolicy::default(),
            Some(&sharing),
            Priority::Delivery,
        ),
        hookline::warm_up::processor_connections(&dynamodb, &sqs, &env),
    );
    let processor = Processor {
        events: DynamoEventStore::new(dynamodb.clone(), &env.events_table),
        states: DynamoOrderStateStore::new(dynamodb.clone(), &env.events_table),
        api: api?,
        updates: SqsQueue::new(sqs.clone(), &env.order_updates_queue_url),
        credentials: env
            .esim_credentials_queue_url
            .as_ref()
            .map(|url| SqsQueue::new(sqs.clone(), url)),
        watches: DynamoWatchStore::new(dynamodb, &env.events_table),
        config: ProcessorConfig::from_env(&env),
    };
    // Every entry is signed with the archive key, which only this function reads.
    let archive = match (&env.archive_bucket, &env.archive_key_secret_id) {
        (Some(bucket), Some(key_secret)) => Some(Archive {
            store: ArchiveStore::S3(S3Archive::new(&aws, bucket)),
            key: ArchiveKey::load(&aws, key_secret).await?,
        }),
        _ => None,
    };
    let (processor, archive) = (&processor, archive.as_ref());
    lambda_runtime::run(service_fn(move |event| {
        lambda::handle(processor, archive, event)
    }))
    .await
}
