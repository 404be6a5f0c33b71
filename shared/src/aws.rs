//! AWS SDK configuration: timeouts suited to a receiver that must answer within seconds, and a
//! way to point every client at a local emulator.

use std::time::Duration;

pub use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::Credentials;

/// Region used with a local emulator when none is configured.
pub const EMULATOR_REGION: &str = "us-east-1";

fn timeouts() -> TimeoutConfig {
    // Short enough that a receiver answers 503 well within API Gateway's 30 s, long enough for
    // SQS's normal tail latency. The SDK's standard retry (3 attempts) runs inside these bounds.
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}

/// Configuration from the environment, as in Lambda. `AWS_ENDPOINT_URL` (a standard SDK
/// variable) redirects every client, e.g. to a local emulator. Loaded once per process: a
/// receiver's Secrets Manager and SQS clients share it, so init resolves credentials once.
pub async fn from_env() -> SdkConfig {
    static LOADED: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();
    LOADED
        .get_or_init(|| {
            aws_config::defaults(BehaviorVersion::latest())
                .timeout_config(timeouts())
                .load()
        })
        .await
        .clone()
}

/// Configuration for a local emulator (moto server) at `endpoint_url`: static test
/// credentials, so no AWS account or profile is needed.
pub async fn for_emulator(endpoint_url: &str) -> SdkConfig {
    emulator_loader(endpoint_url).load().await
}

/// [`for_emulator`], every request counted in [`crate::usage`] (`hookline bench-cost`).
pub async fn for_emulator_counted(endpoint_url: &str) -> SdkConfig {
    use aws_smithy_http_client::tls;
    let sdk_default = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    emulator_loader(endpoint_url)
        .http_client(crate::usage::http::CountingHttpClient::wrap(sdk_default))
        .load()
        .await
}

fn emulator_loader(endpoint_url: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(Region::new(EMULATOR_REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "hookline-emulator",
        ))
        .timeout_config(timeouts())
}
