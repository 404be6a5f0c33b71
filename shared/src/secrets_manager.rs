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
use crate::keyring::Keyring;

/// How often secrets are re-read, unless `SECRETS_REFRESH_SECS` says otherwise.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error("reading secret {id} from Secrets Manager failed: {reason}")]
    Fetch { id: String, reason: String },
    #[error("secret {id} has no string value")]
    NoString { id: String },
    #[error("secret {id} is not a valid secret list: {reason}")]
    Invalid { id: String, reason: String },
    #[error("neither {id_var} (a Secrets Manager secret) nor {list_var} is set")]
    NotConfigured { id_var: String, list_var: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

type Apply = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

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
        let text = fetch(&client, &secret_id).await?;
        let keyring = Keyring::new(parse(&text).map_err(|e| SecretsError::Invalid {
            id: secret_id.clone(),
            reason: e.to_string(),
        })?);
        let target = keyring.clone();
        let apply: Apply = Box::new(move |text| {
            let secrets = parse(text).map_err(|e| e.to_string())?;
            target.replace(secrets);
            Ok(())
        });
        let refresher = Self {
            client,
            secret_id,
            interval,
            next_due: Mutex::new(Instant::now() + interval),
            apply,
        };
        Ok((keyring, refresher))
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
        let text = fetch(&self.client, &self.secret_id).await?;
        (self.apply)(&text).map_err(|reason| SecretsError::Invalid {
            id: self.secret_id.clone(),
            reason,
        })
    }
}

async fn fetch(
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

/// Where a receiver's secrets come from, by environment: `{PREFIX}_WEBHOOK_SECRET_ID` (Secrets
/// Manager, in AWS) or else `{PREFIX}_WEBHOOK_SECRETS` (the list itself, for local runs).
pub async fn load_from_env<T, E>(
    prefix: &str,
    parse: fn(&str) -> Result<T, E>,
) -> Result<(Keyring<T>, Vec<SecretRefresher>), SecretsError>
where
    T: Send + Sync + 'static,
    E: fmt::Display + 'static,
{
    let id_var = format!("{prefix}_WEBHOOK_SECRET_ID");
    let list_var = format!("{prefix}_WEBHOOK_SECRETS");
    let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(secret_id) = non_empty(&id_var) {
        let interval = crate::config::secrets_refresh_interval()?;
        let client = aws_sdk_secretsmanager::Client::new(&crate::aws::from_env().await);
        let (keyring, refresher) =
            SecretRefresher::start(client, secret_id, interval, parse).await?;
        return Ok((keyring, vec![refresher]));
    }
    let list = non_empty(&list_var).ok_or(SecretsError::NotConfigured {
        id_var,
        list_var: list_var.clone(),
    })?;
    let secrets = parse(&list).map_err(|e| SecretsError::Invalid {
        id: list_var,
        reason: e.to_string(),
    })?;
    Ok((Keyring::new(secrets), Vec::new()))
}
