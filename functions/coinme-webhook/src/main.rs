//! Coinme webhook receiver: API Gateway HTTP API → verify → SQS ingest queue.
//! Wiring only; the behaviour lives in `hookline::receiver` and `hookline::providers::coinme`.

use hookline::config::coinme_options;
use hookline::providers::coinme::CoinmeScheme;
use hookline::secrets_manager::load_from_env;
use hookline::signature::SecretSet;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::telemetry::init_json();
    let options = coinme_options(|name| std::env::var(name).ok())?;
    let (secrets, refreshers) = load_from_env("COINME", SecretSet::parse).await?;
    hookline::receiver::lambda::run(CoinmeScheme::new(secrets, options), refreshers).await
}
