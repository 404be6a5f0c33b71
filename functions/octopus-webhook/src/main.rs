//! Octopus Cards webhook receiver: API Gateway HTTP API → verify → SQS ingest queue.
//! Wiring only; the behaviour lives in `hookline::receiver` and `hookline::providers::octopus`.

use hookline::providers::octopus::OctopusScheme;
use hookline::secrets_manager::load_from_env;
use hookline::signature::SecretSet;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::telemetry::init_json();
    // Secrets and clients are loaded once per container, not per request.
    let (secrets, refreshers) = load_from_env("OCTOPUS", SecretSet::parse).await?;
    hookline::receiver::lambda::run(OctopusScheme::new(secrets), refreshers).await
}
