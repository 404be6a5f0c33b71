//! OwlPay and Harbor receiver (`/webhooks/owlpay`, `/webhooks/owlpay-harbor`): API Gateway → verify → SQS.
//! Wiring only: the provider is `hookline::providers::owlpay`, the rest
//! `hookline::receiver`.

use hookline::providers::owlpay;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::receiver::lambda::run(owlpay::SECRETS, owlpay::scheme).await
}
