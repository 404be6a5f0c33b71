//! Configuration read from environment variables at init. Errors name the variable, never its
//! value: values include secrets.

use thiserror::Error;

use crate::signature::{Secret, SecretSet, SecretSetError};

/// The ingest queue every receiver sends to.
pub const INGEST_QUEUE_URL: &str = "INGEST_QUEUE_URL";
/// The Octopus webhook secrets: a JSON array or a comma-separated list (several during rotation).
pub const OCTOPUS_WEBHOOK_SECRETS: &str = "OCTOPUS_WEBHOOK_SECRETS";

/// The DynamoDB table of claim records and order state.
pub const EVENTS_TABLE: &str = "EVENTS_TABLE";
/// The FIFO queue the processor publishes order updates to.
pub const ORDER_UPDATES_QUEUE_URL: &str = "ORDER_UPDATES_QUEUE_URL";
/// Origin of the Octopus Cards API, e.g. `https://api.example.com`.
pub const OCTOPUS_API_BASE_URL: &str = "OCTOPUS_API_BASE_URL";
/// Bearer token of the Octopus Cards API.
pub const OCTOPUS_API_TOKEN: &str = "OCTOPUS_API_TOKEN";
/// Optional: lifetime of claim records in seconds (default 7 days).
pub const EVENT_RECORD_TTL_SECS: &str = "EVENT_RECORD_TTL_SECS";
/// Optional: records of one batch processed at once (default 8).
pub const PROCESSOR_CONCURRENCY: &str = "PROCESSOR_CONCURRENCY";

/// Optional: seconds between re-reads of receiver secrets from Secrets Manager (default 300).
pub const SECRETS_REFRESH_SECS: &str = "SECRETS_REFRESH_SECS";

/// How often receivers re-read their secrets.
pub fn secrets_refresh_interval() -> Result<std::time::Duration, ConfigError> {
    let default = crate::secrets_manager::DEFAULT_REFRESH.as_secs();
    optional_number(
        &|name| std::env::var(name).ok(),
        SECRETS_REFRESH_SECS,
        default,
    )
    .map(std::time::Duration::from_secs)
}

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

/// What the processor function needs.
#[derive(Clone, Debug)]
pub struct ProcessorEnv {
    pub events_table: String,
    pub order_updates_queue_url: String,
    pub octopus_api_base_url: String,
    pub octopus_api_token: Secret,
    pub record_ttl_secs: i64,
    pub concurrency: usize,
}

impl ProcessorEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = crate::processor::ProcessorConfig::default();
        Ok(Self {
            events_table: required(&lookup, EVENTS_TABLE)?,
            order_updates_queue_url: required(&lookup, ORDER_UPDATES_QUEUE_URL)?,
            octopus_api_base_url: required(&lookup, OCTOPUS_API_BASE_URL)?,
            octopus_api_token: Secret::new(required(&lookup, OCTOPUS_API_TOKEN)?.trim().as_bytes()),
            record_ttl_secs: optional_number(
                &lookup,
                EVENT_RECORD_TTL_SECS,
                defaults.record_ttl_secs,
            )?,
            concurrency: optional_number(&lookup, PROCESSOR_CONCURRENCY, defaults.concurrency)?,
        })
    }
}

fn optional_number<T: std::str::FromStr + PartialOrd + Default>(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| *n > T::default())
            .ok_or(ConfigError::Invalid {
                var,
                reason: "not a positive whole number".into(),
            }),
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
    fn processor_env_with_defaults_and_bad_numbers() {
        let base = [
            (EVENTS_TABLE, "t"),
            (ORDER_UPDATES_QUEUE_URL, "http://q"),
            (OCTOPUS_API_BASE_URL, "http://api"),
            (OCTOPUS_API_TOKEN, "tok"),
        ];
        let env = ProcessorEnv::from_lookup(lookup(&base)).unwrap();
        assert_eq!(env.record_ttl_secs, 7 * 24 * 3600);
        assert_eq!(env.concurrency, 8);
        let mut bad = base.to_vec();
        bad.push((PROCESSOR_CONCURRENCY, "0"));
        assert!(matches!(
            ProcessorEnv::from_lookup(lookup(&bad)),
            Err(ConfigError::Invalid {
                var: PROCESSOR_CONCURRENCY,
                ..
            })
        ));
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
