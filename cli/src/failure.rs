//! How a command fails: one sentence for the person, and an exit status for the script. The
//! statuses are an interface (README "Exit status"): never renumbered.

use std::fmt::Display;

use aws_smithy_runtime_api::client::result::SdkError;

/// A command's failure, by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Anything else: a file that cannot be written, a server that would not start. Status 1.
    #[error("{0}")]
    Failed(String),
    /// The command line asks for something that cannot be done as given. Status 2, as clap's
    /// own usage errors.
    #[error("{0}")]
    Usage(String),
    /// What the command was asked about does not exist: an event, a stack, a file. Status 3.
    #[error("{0}")]
    NotFound(String),
    /// AWS (or the emulator) could not be reached: network, credentials, region. Status 4.
    #[error("{0}")]
    AwsUnreachable(String),
    /// The command ran and its check did not pass: a smoke route failed, a template is stale, a
    /// request was refused, a storm saw a violation. Status 5.
    #[error("{0}")]
    CheckFailed(String),
}

impl Failure {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Failed(_) => 1,
            Failure::Usage(_) => 2,
            Failure::NotFound(_) => 3,
            Failure::AwsUnreachable(_) => 4,
            Failure::CheckFailed(_) => 5,
        }
    }

    /// An AWS call's failure, `context` first ("cannot read TABLE"), then what to do about it;
    /// classed as unreachable or not found where it was.
    pub fn aws<E, R>(context: impl Display, error: &SdkError<E, R>) -> Self
    where
        E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let message = format!("{context}: {}", hookline::aws::explain(error));
        if hookline::aws::is_unreachable(error) {
            Failure::AwsUnreachable(message)
        } else if hookline::aws::is_not_found(error) {
            Failure::NotFound(message)
        } else {
            Failure::Failed(message)
        }
    }

    /// A local file that cannot be read: not found when it is missing.
    pub fn file(path: &std::path::Path, error: &std::io::Error) -> Self {
        let message = format!("cannot read {}: {error}", path.display());
        match error.kind() {
            std::io::ErrorKind::NotFound => Failure::NotFound(message),
            _ => Failure::Failed(message),
        }
    }
}

/// Most failures are sentences built where they happen; they are plain failures unless said.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Failed(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::Failed(message.to_string())
    }
}
