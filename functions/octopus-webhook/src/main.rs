//! Octopus Cards webhook receiver: API Gateway HTTP API → verify → SQS ingest queue.
//! Wiring only; the behaviour lives in `hookline::receiver` and `hookline::providers::octopus`.

use hookline::config::{OCTOPUS_WEBHOOK_SECRETS, ReceiverConfig};
use hookline::providers::octopus::OctopusScheme;
use hookline::queue::SqsQueue;
use hookline::receiver::{Receiver, lambda};
use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    hookline::telemetry::init_json();
    // Clients and secrets are built once per container, not per request.
    let config = ReceiverConfig::from_env(OCTOPUS_WEBHOOK_SECRETS)?;
    let sqs = aws_sdk_sqs::Client::new(&hookline::aws::from_env().await);
    let receiver = Receiver::new(
        OctopusScheme::new(config.secrets),
        SqsQueue::new(sqs, config.queue_url),
    );
    let receiver = &receiver;
    lambda_http::run(service_fn(move |request| lambda::handle(receiver, request))).await
}
