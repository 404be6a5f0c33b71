//! Standard Webhooks receiver (`/webhooks/std/{source}`): API Gateway → verify → SQS.
//! Wiring only: the provider is `hookline::providers::standard_webhooks`, the rest
//! `hookline::receiver`.

use hookline::providers::standard_webhooks;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::receiver::lambda::run(standard_webhooks::SECRETS, standard_webhooks::scheme).await
}
