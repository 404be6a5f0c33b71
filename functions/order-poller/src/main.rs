//! Order poller: every minute (EventBridge), polls the watched orders that are due and enqueues
//! their status changes to the ingest queue. Wiring only; the behaviour lives in
//! `hookline::poller`.

use hookline::api_budget::Priority;
use hookline::config::{PollerEnv, env_lookup};
use hookline::cursor::DynamoCursorStore;
use hookline::order_api::RetryPolicy;
use hookline::poller::transactions::{HttpTransactions, TransactionsPoller};
use hookline::poller::{Poller, PollerConfig, lambda};
use hookline::providers::octopus::transactions;
use hookline::providers::{Provider, ProviderApis, SessionSharing, configured_order_apis};
use hookline::queue::SqsQueue;
use hookline::watch::DynamoWatchStore;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    let env = PollerEnv::from_env()?;
    let apis = configured_order_apis(env_lookup)?;
    let aws = hookline::aws::from_env().await;
    // The processor's containers and this one share one API session per provider.
    let sharing = SessionSharing {
        aws: aws.clone(),
        lease_table: env.events_table.clone(),
    };
    let poller = Poller {
        watches: DynamoWatchStore::new(aws_sdk_dynamodb::Client::new(&aws), &env.events_table),
        api: ProviderApis::load(
            &apis,
            RetryPolicy::default(),
            Some(&sharing),
            Priority::Poll,
        )
        .await?,
        ingest: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), &env.ingest_queue_url),
        config: PollerConfig::from_env(&env),
    };
    let transactions = transactions_poller(&poller, &env, &aws)?;
    let (poller, transactions) = (&poller, transactions.as_ref());
    lambda_runtime::run(service_fn(move |event| {
        lambda::poll(poller, transactions, event)
    }))
    .await
}

/// The Octopus wallets' transactions poll, when `OCTOPUS_WALLET_IDS` names wallets.
fn transactions_poller(
    poller: &Poller<DynamoWatchStore, ProviderApis, SqsQueue>,
    env: &PollerEnv,
    aws: &hookline::aws::SdkConfig,
) -> Result<Option<TransactionsPoller<DynamoCursorStore, HttpTransactions, SqsQueue>>, Error> {
    let wallets =
        transactions::wallet_ids(&env_lookup(transactions::WALLET_IDS).unwrap_or_default())?;
    if wallets.is_empty() {
        return Ok(None);
    }
    let client = poller
        .api
        .client(Provider::Octopus)
        .ok_or("the Octopus API is not configured")?
        .clone();
    Ok(Some(TransactionsPoller {
        cursors: DynamoCursorStore::new(aws_sdk_dynamodb::Client::new(aws), &env.events_table),
        api: HttpTransactions {
            client,
            path: env_lookup(transactions::TRANSACTIONS_PATH)
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| transactions::DEFAULT_TRANSACTIONS_PATH.into()),
            limit: 200,
        },
        ingest: poller.ingest.clone(),
        wallets,
        max_pages: 10,
        clock: hookline::clock::Clock::system(),
    }))
}
