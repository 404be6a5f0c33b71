//! OwlPay and OwlPay Harbor webhook receiver (`/webhooks/owlpay`, `/webhooks/owlpay-harbor`).
//! Wiring only; the behaviour lives in `hookline::receiver` and `hookline::providers::owlpay`.

use hookline::providers::owlpay::OwlPayScheme;
use hookline::secrets_manager::{SecretsError, load_from_env};
use hookline::signature::SecretSet;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::telemetry::init_json();
    let (owlpay, mut refreshers) = load_from_env("OWLPAY", SecretSet::parse).await?;
    // Harbor is optional: without its secrets its route answers 404.
    let harbor = match load_from_env("OWLPAY_HARBOR", SecretSet::parse).await {
        Ok((keyring, more)) => {
            refreshers.extend(more);
            Some(keyring)
        }
        Err(SecretsError::NotConfigured { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    hookline::receiver::lambda::run(OwlPayScheme::new(owlpay, harbor), refreshers).await
}
