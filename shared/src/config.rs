//! Configuration read from environment variables at init, by the functions' `main` (the edge)
//! and passed in. Errors name the variable, never its value: values include secrets. Defaults
//! belong to what they configure: the readers here leave an unset optional value `None`.
//! Provider variables (API base URLs, tokens, scheme settings) are declared by each provider's
//! module in the registry and read with these helpers.

use thiserror::Error;

/// The ingest queue every receiver sends to.
pub const INGEST_QUEUE_URL: &str = "INGEST_QUEUE_URL";
/// The DynamoDB table of claim records and order state.
pub const EVENTS_TABLE: &str = "EVENTS_TABLE";
/// The FIFO queue the processor publishes order updates to.
pub const ORDER_UPDATES_QUEUE_URL: &str = "ORDER_UPDATES_QUEUE_URL";
/// Optional: the short-retention FIFO queue for order updates that carry an eSIM activation
/// code; without it they go to the order-updates queue.
pub const ESIM_CREDENTIALS_QUEUE_URL: &str = "ESIM_CREDENTIALS_QUEUE_URL";
/// Optional: lifetime of claim records in seconds (default 7 days).
pub const EVENT_RECORD_TTL_SECS: &str = "EVENT_RECORD_TTL_SECS";
/// Optional: records of one batch processed at once (default 8).
pub const PROCESSOR_CONCURRENCY: &str = "PROCESSOR_CONCURRENCY";
/// The archive bucket (unset: no archive).
pub const ARCHIVE_BUCKET: &str = "ARCHIVE_BUCKET";
/// The Secrets Manager secret holding the archive's digest keys (`archive::ArchiveKey`).
pub const ARCHIVE_KEY_SECRET_ID: &str = "ARCHIVE_KEY_SECRET_ID";
/// Event types processed as unknown (archived, acknowledged, no effect) until released, then
/// applied with `hookline replay --from-archive --reprocess`. Needs the archive.
pub const HOLD_EVENT_TYPES: &str = "HOLD_EVENT_TYPES";
/// Optional: `true` forwards every field of an event's data downstream, not only the provider's
/// allow-list (`processor::forward`). Default `false`.
pub const FORWARD_ALL_EVENT_FIELDS: &str = "FORWARD_ALL_EVENT_FIELDS";
/// Optional: seconds after which a registered watch gives up (default a day).
pub const WATCH_GIVE_UP_SECS: &str = "WATCH_GIVE_UP_SECS";
/// Optional: seconds between re-reads of receiver secrets from Secrets Manager (default 300).
pub const SECRETS_REFRESH_SECS: &str = "SECRETS_REFRESH_SECS";
/// Polls of one eSIM's install phase after which its watch ends (poller; default 30).
pub const ESIM_INSTALL_MAX_POLLS: &str = "ESIM_INSTALL_MAX_POLLS";
/// Optional: `false` skips opening the AWS connection during init (`warm_up`); default `true`.
/// Only the benchmark of the first request turns it off, to measure what it saves.
pub const WARM_CONNECTIONS_AT_INIT: &str = "WARM_CONNECTIONS_AT_INIT";

/// Which of the providers' environments the stack talks to: `sandbox` or `production`
/// (`ProviderEnvironment` in the template). Every log line and order update carries it.
pub const PROVIDER_ENVIRONMENT: &str = "PROVIDER_ENVIRONMENT";
/// Optional: how long before its expiry an API token is renewed, in seconds (default: the
/// smaller of 5 minutes and a tenth of the token's lifetime).
pub const TOKEN_REFRESH_MARGIN_SECS: &str = "API_TOKEN_REFRESH_MARGIN_SECS";

/// The providers' environment: separate hosts, credentials and data (Octopus and Optty
/// document both). Unset means sandbox: a sandbox stack must never pass for production, so
/// production is only ever said explicitly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProviderEnvironment {
    #[default]
    Sandbox,
    Production,
}

impl ProviderEnvironment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    /// [`PROVIDER_ENVIRONMENT`] from `lookup`; anything but the two names is an error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match lookup(PROVIDER_ENVIRONMENT)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "sandbox") => Ok(Self::Sandbox),
            Some("production") => Ok(Self::Production),
            Some(_) => Err(ConfigError::Invalid {
                var: PROVIDER_ENVIRONMENT,
                reason: "must be sandbox or production".into(),
            }),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// The process environment as a lookup.
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// What every receiver function needs besides its secrets (see
/// [`ReceiverSecrets`](crate::secrets_manager::ReceiverSecrets)).
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    pub queue_url: String,
    /// How long the processor remembers an event ([`EVENT_RECORD_TTL_SECS`]): bounds the age of
    /// events whose request time is unsigned.
    pub record_ttl_secs: Option<i64>,
    /// Open the SQS connection during init ([`WARM_CONNECTIONS_AT_INIT`]).
    pub warm_connections: bool,
}

impl ReceiverConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }

    /// Like [`from_env`](Self::from_env) with an explicit lookup, for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            queue_url: required(&lookup, INGEST_QUEUE_URL)?,
            record_ttl_secs: optional_number(&lookup, EVENT_RECORD_TTL_SECS)?,
            warm_connections: optional_bool(&lookup, WARM_CONNECTIONS_AT_INIT, true)?,
        })
    }
}

/// What the processor function needs besides the order APIs (read by the registry:
/// `providers::ProviderApis`). Unset optional values are `None`: the processor's defaults apply.
#[derive(Clone, Debug)]
pub struct ProcessorEnv {
    pub events_table: String,
    pub order_updates_queue_url: String,
    pub esim_credentials_queue_url: Option<String>,
    pub record_ttl_secs: Option<i64>,
    pub concurrency: Option<usize>,
    /// How long a watch registered by a partial delivery lasts at most.
    pub watch_give_up_secs: Option<i64>,
    /// Forward every event field, not only the allow-listed ones.
    pub forward_all_event_fields: bool,
    pub environment: ProviderEnvironment,
    pub archive_bucket: Option<String>,
    /// The secret of the archive's digest keys; set whenever `archive_bucket` is.
    pub archive_key_secret_id: Option<String>,
    pub hold_event_types: Vec<String>,
    /// Open the DynamoDB connection during init ([`WARM_CONNECTIONS_AT_INIT`]), and the SQS one
    /// when `ingest_queue_url` is set.
    pub warm_connections: bool,
    /// The ingest queue (`INGEST_QUEUE_URL`), read only to open the SQS connection during init:
    /// its ARN is a read the processor's role already has (it consumes the queue), and the
    /// order updates go to the same SQS endpoint. Without it the first publish opens it.
    pub ingest_queue_url: Option<String>,
}

impl ProcessorEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let archive_bucket = lookup(ARCHIVE_BUCKET).filter(|v| !v.trim().is_empty());
        let hold_event_types: Vec<String> = lookup(HOLD_EVENT_TYPES)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        if !hold_event_types.is_empty() && archive_bucket.is_none() {
            // A held event has no effect; without the archive nothing could apply it later.
            return Err(ConfigError::Invalid {
                var: HOLD_EVENT_TYPES,
                reason: format!("needs the archive ({ARCHIVE_BUCKET})"),
            });
        }
        let archive_key_secret_id = lookup(ARCHIVE_KEY_SECRET_ID).filter(|v| !v.trim().is_empty());
        if archive_bucket.is_some() && archive_key_secret_id.is_none() {
            // An entry the processor does not sign cannot be told from a planted one.
            return Err(ConfigError::Invalid {
                var: ARCHIVE_KEY_SECRET_ID,
                reason: format!("is needed with the archive ({ARCHIVE_BUCKET})"),
            });
        }
        Ok(Self {
            archive_bucket,
            archive_key_secret_id,
            hold_event_types,
            events_table: required(&lookup, EVENTS_TABLE)?,
            order_updates_queue_url: required(&lookup, ORDER_UPDATES_QUEUE_URL)?,
            esim_credentials_queue_url: lookup(ESIM_CREDENTIALS_QUEUE_URL)
                .filter(|v| !v.trim().is_empty()),
            record_ttl_secs: optional_number(&lookup, EVENT_RECORD_TTL_SECS)?,
            concurrency: optional_number(&lookup, PROCESSOR_CONCURRENCY)?,
            watch_give_up_secs: optional_number(&lookup, WATCH_GIVE_UP_SECS)?,
            environment: ProviderEnvironment::from_lookup(&lookup)?,
            forward_all_event_fields: optional_bool(&lookup, FORWARD_ALL_EVENT_FIELDS, false)?,
            warm_connections: optional_bool(&lookup, WARM_CONNECTIONS_AT_INIT, true)?,
            ingest_queue_url: lookup(INGEST_QUEUE_URL).filter(|v| !v.trim().is_empty()),
        })
    }
}

/// What the order poller needs besides the order APIs.
#[derive(Clone, Debug)]
pub struct PollerEnv {
    pub events_table: String,
    pub ingest_queue_url: String,
    /// Polls of one eSIM's install phase after which its watch ends.
    pub max_install_polls: Option<u32>,
}

impl PollerEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            events_table: required(&lookup, EVENTS_TABLE)?,
            ingest_queue_url: required(&lookup, INGEST_QUEUE_URL)?,
            max_install_polls: optional_number(&lookup, ESIM_INSTALL_MAX_POLLS)?,
        })
    }
}

/// A positive whole number, or `None` when unset.
pub fn optional_number<T: std::str::FromStr + PartialOrd + Default>(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<T>, ConfigError> {
    match lookup(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| *n > T::default())
            .map(Some)
            .ok_or(ConfigError::Invalid {
                var,
                reason: "not a positive whole number".into(),
            }),
    }
}

/// `true` or `false` (any case); unset or empty is `default`.
pub fn optional_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(var)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            var,
            reason: "must be true or false".into(),
        }),
    }
}

/// An environment of `(name, value)` pairs, for tests.
#[cfg(test)]
pub(crate) fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    }
}

/// A variable that must be set and not blank.
pub fn required(
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

    #[test]
    fn connections_are_warmed_at_init_unless_turned_off() {
        let receiver = |pairs: &[(&str, &str)]| {
            let mut env = vec![(INGEST_QUEUE_URL, "http://q")];
            env.extend_from_slice(pairs);
            ReceiverConfig::from_lookup(lookup(&env)).map(|c| c.warm_connections)
        };
        assert_eq!(receiver(&[]), Ok(true));
        assert_eq!(
            receiver(&[(WARM_CONNECTIONS_AT_INIT, " FALSE ")]),
            Ok(false)
        );
        assert_eq!(receiver(&[(WARM_CONNECTIONS_AT_INIT, "")]), Ok(true));
        let error = receiver(&[(WARM_CONNECTIONS_AT_INIT, "no")]).unwrap_err();
        assert!(
            error.to_string().contains(WARM_CONNECTIONS_AT_INIT),
            "{error}"
        );
        let processor = ProcessorEnv::from_lookup(lookup(&[
            (EVENTS_TABLE, "t"),
            (ORDER_UPDATES_QUEUE_URL, "http://q"),
            (WARM_CONNECTIONS_AT_INIT, "false"),
        ]));
        assert!(!processor.map(|env| env.warm_connections).unwrap_or(true));
    }

    #[test]
    fn the_environment_is_sandbox_unless_production_is_said() {
        let of = |value: &str| {
            ProviderEnvironment::from_lookup(lookup(&[(PROVIDER_ENVIRONMENT, value)]))
        };
        assert_eq!(
            ProviderEnvironment::from_lookup(lookup(&[])),
            Ok(ProviderEnvironment::Sandbox)
        );
        assert_eq!(of(""), Ok(ProviderEnvironment::Sandbox));
        assert_eq!(of(" Production "), Ok(ProviderEnvironment::Production));
        assert_eq!(
            of("sandbox").map(ProviderEnvironment::as_str),
            Ok("sandbox")
        );
        assert!(matches!(
            of("prod"),
            Err(ConfigError::Invalid {
                var: PROVIDER_ENVIRONMENT,
                ..
            })
        ));
    }

    #[test]
    fn receivers_need_the_queue() {
        let config =
            ReceiverConfig::from_lookup(lookup(&[(INGEST_QUEUE_URL, "http://q")])).unwrap();
        assert_eq!(config.queue_url, "http://q");
        let err = ReceiverConfig::from_lookup(lookup(&[(INGEST_QUEUE_URL, " ")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing(INGEST_QUEUE_URL));
    }

    #[test]
    fn processor_env_leaves_defaults_to_the_processor_and_refuses_bad_numbers() {
        let base = [(EVENTS_TABLE, "t"), (ORDER_UPDATES_QUEUE_URL, "http://q")];
        let env = ProcessorEnv::from_lookup(lookup(&base)).unwrap();
        assert_eq!((env.record_ttl_secs, env.concurrency), (None, None));
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
}
