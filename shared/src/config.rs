//! Configuration read from environment variables at init. Errors name the variable, never its
//! value: values include secrets.

use thiserror::Error;

use crate::signature::Secret;

/// The ingest queue every receiver sends to.
pub const INGEST_QUEUE_URL: &str = "INGEST_QUEUE_URL";

/// The DynamoDB table of claim records and order state.
pub const EVENTS_TABLE: &str = "EVENTS_TABLE";
/// The FIFO queue the processor publishes order updates to.
pub const ORDER_UPDATES_QUEUE_URL: &str = "ORDER_UPDATES_QUEUE_URL";
/// Optional: the short-retention FIFO queue for order updates that carry an eSIM activation
/// code; without it they go to the order-updates queue.
pub const ESIM_CREDENTIALS_QUEUE_URL: &str = "ESIM_CREDENTIALS_QUEUE_URL";
/// Origin of the Octopus Cards API, e.g. `https://api.example.com`.
pub const OCTOPUS_API_BASE_URL: &str = "OCTOPUS_API_BASE_URL";
/// Bearer token of the Octopus Cards API.
pub const OCTOPUS_API_TOKEN: &str = "OCTOPUS_API_TOKEN";
/// In AWS: the Secrets Manager secret holding the Octopus API token (preferred over the value).
pub const OCTOPUS_API_TOKEN_SECRET_ID: &str = "OCTOPUS_API_TOKEN_SECRET_ID";
/// Optional: base URL of the Optty merchant API (Optty notifications fail without it).
pub const OPTTY_API_BASE_URL: &str = "OPTTY_API_BASE_URL";
/// Bearer token of the Optty merchant API; required when the base URL is set.
pub const OPTTY_API_KEY: &str = "OPTTY_API_KEY";
/// In AWS: the Secrets Manager secret holding the Optty API key (preferred over the value).
pub const OPTTY_API_KEY_SECRET_ID: &str = "OPTTY_API_KEY_SECRET_ID";

/// Where an API token comes from: a Secrets Manager secret (in AWS: never in the function's
/// configuration) or the value itself (local runs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Value(Secret),
    SecretId(String),
}

/// `{id_var}` if set, else `{value_var}`; neither is an error naming the secret variable.
fn token_source(
    lookup: &impl Fn(&str) -> Option<String>,
    id_var: &'static str,
    value_var: &'static str,
) -> Result<TokenSource, ConfigError> {
    let set = |name| lookup(name).filter(|v: &String| !v.trim().is_empty());
    match (set(id_var), set(value_var)) {
        (Some(id), _) => Ok(TokenSource::SecretId(id.trim().to_string())),
        (None, Some(value)) => Ok(TokenSource::Value(Secret::new(value.trim().as_bytes()))),
        (None, None) => Err(ConfigError::Missing(id_var)),
    }
}
/// Coinme: the signature header's name (default `X-Coinme-Signature`).
pub const COINME_SIGNATURE_HEADER: &str = "COINME_SIGNATURE_HEADER";
/// Coinme: `base64` (default) or `hex`.
pub const COINME_SIGNATURE_ENCODING: &str = "COINME_SIGNATURE_ENCODING";
/// Optional: lifetime of claim records in seconds (default 7 days).
pub const EVENT_RECORD_TTL_SECS: &str = "EVENT_RECORD_TTL_SECS";
/// Optional: records of one batch processed at once (default 8).
pub const PROCESSOR_CONCURRENCY: &str = "PROCESSOR_CONCURRENCY";

/// Optional: `true` forwards every field of an event's data downstream, not only the provider's
/// allow-list (`processor::forward`). Default `false`.
pub const FORWARD_ALL_EVENT_FIELDS: &str = "FORWARD_ALL_EVENT_FIELDS";

/// Optional: seconds after which a registered watch gives up (default a day).
pub const WATCH_GIVE_UP_SECS: &str = "WATCH_GIVE_UP_SECS";

/// How long a registered watch lasts at most.
pub fn watch_give_up_secs() -> Result<i64, ConfigError> {
    optional_number(
        &|name| std::env::var(name).ok(),
        WATCH_GIVE_UP_SECS,
        crate::watch::api::DEFAULT_GIVE_UP_SECS,
    )
}

/// What the order poller needs.
#[derive(Clone, Debug)]
pub struct PollerEnv {
    pub events_table: String,
    pub ingest_queue_url: String,
    pub octopus_api_base_url: String,
    pub octopus_api_token: TokenSource,
}

impl PollerEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            events_table: required(&lookup, EVENTS_TABLE)?,
            ingest_queue_url: required(&lookup, INGEST_QUEUE_URL)?,
            octopus_api_base_url: required(&lookup, OCTOPUS_API_BASE_URL)?,
            octopus_api_token: token_source(
                &lookup,
                OCTOPUS_API_TOKEN_SECRET_ID,
                OCTOPUS_API_TOKEN,
            )?,
        })
    }
}

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

/// What every receiver function needs besides its secrets (see
/// [`secrets_manager::load_from_env`](crate::secrets_manager::load_from_env)).
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    pub queue_url: String,
}

impl ReceiverConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with an explicit lookup, for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            queue_url: required(&lookup, INGEST_QUEUE_URL)?,
        })
    }
}

/// What the processor function needs.
#[derive(Clone, Debug)]
pub struct ProcessorEnv {
    pub events_table: String,
    pub order_updates_queue_url: String,
    pub esim_credentials_queue_url: Option<String>,
    pub octopus_api_base_url: String,
    pub octopus_api_token: TokenSource,
    /// The Optty API base URL and key, when Optty is in use.
    pub optty_api: Option<(String, TokenSource)>,
    pub record_ttl_secs: i64,
    pub concurrency: usize,
    /// How long a watch registered by a partial delivery lasts at most.
    pub watch_give_up_secs: i64,
    /// Forward every event field, not only the allow-listed ones.
    pub forward_all_event_fields: bool,
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
            esim_credentials_queue_url: lookup(ESIM_CREDENTIALS_QUEUE_URL)
                .filter(|v| !v.trim().is_empty()),
            octopus_api_base_url: required(&lookup, OCTOPUS_API_BASE_URL)?,
            octopus_api_token: token_source(
                &lookup,
                OCTOPUS_API_TOKEN_SECRET_ID,
                OCTOPUS_API_TOKEN,
            )?,
            optty_api: match lookup(OPTTY_API_BASE_URL).filter(|v| !v.trim().is_empty()) {
                None => None,
                Some(base) => Some((
                    base,
                    token_source(&lookup, OPTTY_API_KEY_SECRET_ID, OPTTY_API_KEY)?,
                )),
            },
            record_ttl_secs: optional_number(
                &lookup,
                EVENT_RECORD_TTL_SECS,
                defaults.record_ttl_secs,
            )?,
            concurrency: optional_number(&lookup, PROCESSOR_CONCURRENCY, defaults.concurrency)?,
            watch_give_up_secs: optional_number(
                &lookup,
                WATCH_GIVE_UP_SECS,
                defaults.watch_give_up_secs,
            )?,
            forward_all_event_fields: match lookup(FORWARD_ALL_EVENT_FIELDS)
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("" | "false") => false,
                Some("true") => true,
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        var: FORWARD_ALL_EVENT_FIELDS,
                        reason: "must be true or false".into(),
                    });
                }
            },
        })
    }
}

/// The Coinme scheme's per-account choices.
pub fn coinme_options(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<crate::providers::coinme::CoinmeOptions, ConfigError> {
    let mut options = crate::providers::coinme::CoinmeOptions::default();
    if let Some(header) = lookup(COINME_SIGNATURE_HEADER).filter(|v| !v.trim().is_empty()) {
        let header = header.trim().to_ascii_lowercase();
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid {
                var: COINME_SIGNATURE_HEADER,
                reason: "not a valid header name".into(),
            });
        }
        options.signature_header = header;
    }
    if let Some(encoding) = lookup(COINME_SIGNATURE_ENCODING).filter(|v| !v.trim().is_empty()) {
        options.encoding = encoding.parse().map_err(|reason| ConfigError::Invalid {
            var: COINME_SIGNATURE_ENCODING,
            reason,
        })?;
    }
    Ok(options)
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
    fn receivers_need_the_queue() {
        let config =
            ReceiverConfig::from_lookup(lookup(&[(INGEST_QUEUE_URL, "http://q")])).unwrap();
        assert_eq!(config.queue_url, "http://q");
        let err = ReceiverConfig::from_lookup(lookup(&[(INGEST_QUEUE_URL, " ")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing(INGEST_QUEUE_URL));
    }

    #[test]
    fn coinme_options_default_and_override() {
        use crate::providers::coinme::Encoding;
        let default = coinme_options(lookup(&[])).unwrap();
        assert_eq!(
            (default.signature_header.as_str(), default.encoding),
            ("x-coinme-signature", Encoding::Base64)
        );
        let set = coinme_options(lookup(&[
            (COINME_SIGNATURE_HEADER, "X-Sig"),
            (COINME_SIGNATURE_ENCODING, "HEX"),
        ]))
        .unwrap();
        assert_eq!(
            (set.signature_header.as_str(), set.encoding),
            ("x-sig", Encoding::Hex)
        );
        assert!(coinme_options(lookup(&[(COINME_SIGNATURE_ENCODING, "base32")])).is_err());
        assert!(coinme_options(lookup(&[(COINME_SIGNATURE_HEADER, "bad header")])).is_err());
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
    fn optty_api_needs_its_key() {
        let base = [
            (EVENTS_TABLE, "t"),
            (ORDER_UPDATES_QUEUE_URL, "http://q"),
            (OCTOPUS_API_BASE_URL, "http://api"),
            (OCTOPUS_API_TOKEN, "tok"),
            (OPTTY_API_BASE_URL, "http://optty"),
        ];
        assert_eq!(
            ProcessorEnv::from_lookup(lookup(&base)).unwrap_err(),
            ConfigError::Missing(OPTTY_API_KEY_SECRET_ID)
        );
        let mut with_key = base.to_vec();
        with_key.push((OPTTY_API_KEY, "k"));
        assert!(
            ProcessorEnv::from_lookup(lookup(&with_key))
                .unwrap()
                .optty_api
                .is_some()
        );
    }

    #[test]
    fn a_token_secret_id_is_preferred_to_a_token_in_the_environment() {
        let base = [
            (EVENTS_TABLE, "t"),
            (ORDER_UPDATES_QUEUE_URL, "http://q"),
            (OCTOPUS_API_BASE_URL, "http://api"),
            (OCTOPUS_API_TOKEN, "tok"),
            (OCTOPUS_API_TOKEN_SECRET_ID, "hookline/octopus-api"),
        ];
        let env = ProcessorEnv::from_lookup(lookup(&base)).unwrap();
        assert_eq!(
            env.octopus_api_token,
            TokenSource::SecretId("hookline/octopus-api".into())
        );
        assert_eq!(
            ProcessorEnv::from_lookup(lookup(&base[..3])).unwrap_err(),
            ConfigError::Missing(OCTOPUS_API_TOKEN_SECRET_ID)
        );
    }
}
