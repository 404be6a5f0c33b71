//! Optty notification receiver (`/webhooks/optty/{token}`): the path token authenticates, the
//! processor confirms every notification with Optty's API. Wiring only; the behaviour lives in
//! `hookline::receiver` and `hookline::providers::optty`.

use hookline::providers::optty::OpttyScheme;
use hookline::secrets_manager::load_from_env;
use hookline::signature::SecretSet;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::telemetry::init_json();
    let (tokens, refreshers) = load_from_env("OPTTY", SecretSet::parse).await?;
    hookline::receiver::lambda::run(OpttyScheme::new(tokens), refreshers).await
}
