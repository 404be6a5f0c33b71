//! Coinme webhook receiver (`/webhooks/coinme`): API Gateway → verify → SQS.
//! Wiring only: the provider is `hookline::providers::coinme`, the rest
//! `hookline::receiver`.

use hookline::providers::coinme;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::receiver::lambda::run(coinme::SECRETS, coinme::scheme).await
}
