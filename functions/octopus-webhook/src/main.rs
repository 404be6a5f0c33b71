//! Octopus Cards webhook receiver (`/webhooks/octopus`): API Gateway → verify → SQS.
//! Wiring only: the provider is `hookline::providers::octopus`, the rest
//! `hookline::receiver`.

use hookline::providers::octopus;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::receiver::lambda::run(octopus::SECRETS, octopus::scheme).await
}
