//! Configuration read from environment variables at init. Errors name the variable, never its
//! value: values include secrets.

use thiserror::Error;

use crate::signature::{SecretSet, SecretSetError};

/// The ingest queue every receiver sends to.
pub const INGEST_QUEUE_URL: &str = "INGEST_QUEUE_URL";
/// The Octopus webhook secrets: a JSON array or a comma-separated list (several during rotation).
pub const OCTOPUS_WEBHOOK_SECRETS: &str = "OCTOPUS_WEBHOOK_SECRETS";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// What a receiver function needs.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    pub queue_url: String,
    pub secrets: SecretSet,
}

impl ReceiverConfig {
    /// Reads the queue URL and the secrets held in `secrets_var`.
    pub fn from_env(secrets_var: &'static str) -> Result<Self, ConfigError> {
        Self::from_lookup(secrets_var, |name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with an explicit lookup, for tests.
    pub fn from_lookup(
        secrets_var: &'static str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let queue_url = required(&lookup, INGEST_QUEUE_URL)?;
        let secrets =
            SecretSet::parse(&required(&lookup, secrets_var)?).map_err(|e: SecretSetError| {
                ConfigError::Invalid {
                    var: secrets_var,
                    reason: e.to_string(),
                }
            })?;
        Ok(Self { queue_url, secrets })
    }
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<String, ConfigError> {
    lookup(var)
        .filter(|value| !value.trim().is_empty())
        .ok_or(ConfigError::Missing(var))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn reads_queue_and_secrets() {
        let config = ReceiverConfig::from_lookup(
            OCTOPUS_WEBHOOK_SECRETS,
            lookup(&[
                (INGEST_QUEUE_URL, "http://q"),
                (OCTOPUS_WEBHOOK_SECRETS, "a,b"),
            ]),
        )
        .unwrap();
        assert_eq!(config.queue_url, "http://q");
        assert_eq!(config.secrets.secrets().len(), 2);
    }

    #[test]
    fn missing_or_blank_values_are_named() {
        let err = ReceiverConfig::from_lookup(
            OCTOPUS_WEBHOOK_SECRETS,
            lookup(&[
                (INGEST_QUEUE_URL, "http://q"),
                (OCTOPUS_WEBHOOK_SECRETS, " , "),
            ]),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: OCTOPUS_WEBHOOK_SECRETS,
                ..
            }
        ));
        let err = ReceiverConfig::from_lookup(OCTOPUS_WEBHOOK_SECRETS, lookup(&[])).unwrap_err();
        assert_eq!(err, ConfigError::Missing(INGEST_QUEUE_URL));
    }

    #[test]
    fn errors_never_show_values() {
        let err = ReceiverConfig::from_lookup(
            OCTOPUS_WEBHOOK_SECRETS,
            lookup(&[
                (INGEST_QUEUE_URL, "http://q"),
                (OCTOPUS_WEBHOOK_SECRETS, "[\"s3cr3t\", 1]"),
            ]),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
