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
                .http_client(crate::tls::sdk_http_client())
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
    emulator_loader(endpoint_url)
        .http_client(crate::usage::http::CountingHttpClient::wrap(
            crate::tls::sdk_http_client(),
        ))
        .load()
        .await
}

/// A configuration that resolves nothing: no credentials, no region, no instance metadata
/// (IMDS) lookup. For commands that touch only local files; a client built on it fails at once.
pub fn offline() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .build()
}

fn emulator_loader(endpoint_url: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(crate::tls::sdk_http_client())
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

/// Whether [`explain`] adds the SDK's whole error chain (`hookline --verbose`).
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`explain`] add the SDK's whole error chain.
pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, std::sync::atomic::Ordering::Relaxed);
}

/// Whether an AWS call failed before AWS could answer: no network, no credentials, no region, or
/// no answer in time. A command reports these with its own exit status (`hookline`'s 4): the
/// fix is the caller's setup, not the request.
pub fn is_unreachable<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => true,
        SdkError::ConstructionFailure(_) => {
            let chain = aws_sdk_sqs::error::DisplayErrorContext(error).to_string();
            chain.contains("credentials") || chain.contains("region")
        }
        _ => false,
    }
}

/// Whether AWS answered that the thing named does not exist (a stack, a queue, a table, a
/// secret): a command reports it with its "not found" exit status (`hookline`'s 3).
pub fn is_not_found<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let SdkError::ServiceError(service) = error else {
        return false;
    };
    let code = service.err().code().unwrap_or_default();
    let message = service.err().message().unwrap_or_default();
    code.contains("NotFound")
        || code.contains("NonExistent")
        || code == "NoSuchBucket"
        || code == "NoSuchKey"
        // CloudFormation's answer for an unknown stack.
        || (code == "ValidationError" && message.contains("does not exist"))
}

/// An AWS call's failure for the person running a command: one sentence that says what is
/// missing and how to supply it, rather than the SDK's chain (kilobytes of nested `Debug` when no
/// credentials are found), which follows only when [`set_verbose`].
pub fn explain<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let chain = aws_sdk_sqs::error::DisplayErrorContext(error).to_string();
    let sentence = match error {
        SdkError::ServiceError(service) => service.err().to_string(),
        SdkError::DispatchFailure(_) if chain.contains("credentials") => {
            "no AWS credentials were found: run `aws configure` or set AWS_PROFILE (or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); for a local emulator give \
             --endpoint-url"
                .to_string()
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            "AWS could not be reached: check the network, AWS_REGION, or --endpoint-url".to_string()
        }
        SdkError::ConstructionFailure(_) if chain.contains("region") => {
            "no AWS region is set: set AWS_REGION (or a profile's region)".to_string()
        }
        SdkError::ConstructionFailure(_) => {
            "the request could not be built (a name or setting is missing)".to_string()
        }
        _ => "AWS answered something unexpected".to_string(),
    };
    match VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
        true => format!("{sentence} ({chain})"),
        false => format!("{sentence} (--verbose for the SDK's detail)"),
    }
}
