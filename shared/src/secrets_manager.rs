//! Receiver secrets from AWS Secrets Manager: read at init, re-read on an interval so a rotation
//! takes effect without a deploy.
//!
//! One secret per provider holds its active signing secrets (a JSON array, or for Standard
//! Webhooks a JSON object of source → array). The refresh runs on the request path when it is
//! due, because a Lambda container does no work between requests; a failed refresh keeps the
//! secrets in force and tries again at the next interval, so Secrets Manager being down never
//! turns genuine webhooks away. Secret values never reach a log line or an error.

use std::fmt;
use std::time::Duration;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::ConfigError;
use crate::keyring::{Apply, Keyring, LoadedSecrets, SecretList, SetupError, bind};

/// How often secrets are re-read, unless `SECRETS_REFRESH_SECS` says otherwise.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error("cannot read secret {id} from Secrets Manager: {reason}")]
    Fetch { id: String, reason: String },
    #[error("secret {id} has no string value")]
    NoString { id: String },
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Re-reads one secret when its interval has passed and puts the parsed value in force.
pub struct SecretRefresher {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    interval: Duration,
    next_due: Mutex<Instant>,
    apply: Apply,
}

impl fmt::Debug for SecretRefresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretRefresher")
            .field("secret_id", &self.secret_id)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl SecretRefresher {
    /// Reads the secret now (an init failure is better than a receiver that refuses everything)
    /// and returns the keyring it fills with the refresher that keeps it current.
    pub async fn start<T, E>(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        interval: Duration,
        parse: fn(&str) -> Result<T, E>,
    ) -> Result<(Keyring<T>, Self), SecretsError>
    where
        T: Send + Sync + 'static,
        E: fmt::Display + 'static,
    {
        let secret_id = secret_id.into();
        let text = read_secret(&client, &secret_id).await?;
        let (keyring, apply) = bind(&text, parse).map_err(|e| SetupError::Invalid {
            origin: secret_id.clone(),
            reason: e.to_string(),
        })?;
        Ok((keyring, Self::new(client, secret_id, interval, apply)))
    }

    /// Keeps a keyring made from the secret's text current with `apply`.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        interval: Duration,
        apply: Apply,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            interval,
            next_due: Mutex::new(Instant::now() + interval),
            apply,
        }
    }

    /// Re-reads the secret if the interval has passed. Concurrent requests do not queue up
    /// behind a refresh: whoever finds it under way goes on with the current secrets.
    pub async fn refresh_if_due(&self) {
        let Ok(mut next_due) = self.next_due.try_lock() else {
            return;
        };
        if Instant::now() < *next_due {
            return;
        }
        *next_due = Instant::now() + self.interval;
        match self.refresh().await {
            Ok(()) => tracing::info!(secret_id = %self.secret_id, "signing secrets refreshed"),
            Err(error) => tracing::warn!(
                error = %error,
                "signing secrets not refreshed; the current ones stay in force"
            ),
        }
    }

    /// Re-reads the secret now.
    pub async fn refresh(&self) -> Result<(), SecretsError> {
        let text = read_secret(&self.client, &self.secret_id).await?;
        (self.apply)(&text).map_err(|reason| {
            SecretsError::Setup(SetupError::Invalid {
                origin: self.secret_id.clone(),
                reason,
            })
        })
    }
}

/// The secret's text (the one reader of a secret: receivers, the processor's credentials and
/// the CLI's operator commands); errors name the secret, never its value.
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<String, SecretsError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| SecretsError::Fetch {
            id: secret_id.to_string(),
            reason: DisplayErrorContext(&e).to_string(),
        })?;
    output
        .secret_string()
        .map(str::to_string)
        .ok_or_else(|| SecretsError::NoString {
            id: secret_id.to_string(),
        })
}

/// How often receivers re-read their secrets: `SECRETS_REFRESH_SECS`, default 300 s.
pub fn refresh_interval() -> Result<Duration, ConfigError> {
    let secs = crate::config::optional_number(
        &crate::config::env_lookup,
        crate::config::SECRETS_REFRESH_SECS,
    )?;
    Ok(secs.map_or(DEFAULT_REFRESH, Duration::from_secs))
}

/// A receiver's secret lists as loaded at init, with what keeps the Secrets Manager ones current.
pub struct ReceiverSecrets {
    pub loaded: LoadedSecrets,
    /// Secret ids by list, for the lists read from Secrets Manager.
    from_secrets_manager: Vec<(&'static str, String)>,
    client: Option<aws_sdk_secretsmanager::Client>,
    interval: Duration,
}

impl ReceiverSecrets {
    /// Loads `lists` by environment: from Secrets Manager where `{prefix}_WEBHOOK_SECRET_ID` is
    /// set (in AWS), else from `{prefix}_WEBHOOK_SECRETS` (the list itself, local runs). A list
    /// set in neither is left out: the scheme says whether it can do without.
    pub async fn load_from_env(lists: &[SecretList]) -> Result<Self, SecretsError> {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut secrets = Self {
            loaded: LoadedSecrets::default(),
            from_secrets_manager: Vec::new(),
            client: None,
            interval: refresh_interval()?,
        };
        for list in lists {
            if let Some(secret_id) = non_empty(&list.id_var()) {
                let client = match &secrets.client {
                    Some(client) => client.clone(),
                    None => aws_sdk_secretsmanager::Client::new(&crate::aws::from_env().await),
                };
                let text = read_secret(&client, &secret_id).await?;
                secrets.loaded.insert(*list, secret_id.clone(), text);
                secrets
                    .from_secrets_manager
                    .push((list.env_prefix, secret_id));
                secrets.client = Some(client);
            } else if let Some(text) = non_empty(&list.list_var()) {
                secrets.loaded.insert(*list, list.list_var(), text);
            }
        }
        Ok(secrets)
    }

    /// The refreshers of the keyrings the scheme made from Secrets Manager secrets.
    pub fn refreshers(self) -> Vec<SecretRefresher> {
        let Some(client) = self.client else {
            return Vec::new();
        };
        self.loaded
            .take_bindings()
            .into_iter()
            .filter_map(|binding| {
                let (_, secret_id) = self
                    .from_secrets_manager
                    .iter()
                    .find(|(prefix, _)| *prefix == binding.env_prefix)?;
                Some(SecretRefresher::new(
                    client.clone(),
                    secret_id.clone(),
                    self.interval,
                    binding.apply,
                ))
            })
            .collect()
    }
}
