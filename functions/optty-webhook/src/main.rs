//! Optty notification receiver (`/webhooks/optty/{token}`): API Gateway → verify → SQS.
//! Wiring only: the provider is `hookline::providers::optty`, the rest
//! `hookline::receiver`.

use hookline::providers::optty;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::receiver::lambda::run(optty::SECRETS, optty::scheme).await
}
