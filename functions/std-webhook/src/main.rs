//! Standard Webhooks receiver (`/webhooks/std/{source}`), secrets per source. Wiring only; the
//! behaviour lives in `hookline::receiver` and `hookline::providers::standard_webhooks`.

use hookline::providers::standard_webhooks::{StandardWebhooksScheme, parse_sources};
use hookline::secrets_manager::load_from_env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::telemetry::init_json();
    let (sources, refreshers) = load_from_env("STD", parse_sources).await?;
    hookline::receiver::lambda::run(StandardWebhooksScheme::new(sources), refreshers).await
}
