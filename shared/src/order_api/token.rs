//! The bearer token of a provider's order API: a fixed value (local runs and tests), or a
//! Secrets Manager secret read at init, re-read on the receivers' interval, and re-read at once
//! when the API answers 401 (a rotated token), so a token is never in a function's
//! configuration and a rotation needs no deploy.

use std::sync::Arc;

use reqwest::header::HeaderValue;

use crate::config::TokenSource;
use crate::keyring::Keyring;
use crate::secrets_manager::{SecretRefresher, SecretsError};
use crate::signature::Secret;

/// The `Authorization` header in force, and what keeps it current.
#[derive(Clone, Debug)]
pub struct ApiToken {
    header: Keyring<HeaderValue>,
    refresher: Option<Arc<SecretRefresher>>,
}

/// `Bearer <token>`, marked sensitive so no debug output shows it.
fn bearer(token: &str) -> Result<HeaderValue, String> {
    let token = token.trim();
    if token.is_empty() {
        return Err("the API token is empty".into());
    }
    let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the API token is not a valid header value".to_string())?;
    header.set_sensitive(true);
    Ok(header)
}

impl ApiToken {
    /// A token that never changes.
    pub fn fixed(token: &Secret) -> Result<Self, String> {
        Ok(Self {
            header: Keyring::new(bearer(&String::from_utf8_lossy(token.expose()))?),
            refresher: None,
        })
    }

    /// The token as configured: fixed, or read from Secrets Manager (client from the
    /// environment) and kept current.
    pub async fn load(source: &TokenSource) -> Result<Self, SecretsError> {
        match source {
            TokenSource::Value(token) => Self::fixed(token).map_err(|reason| {
                SecretsError::Setup(crate::keyring::SetupError::Invalid {
                    origin: "the API token variable".into(),
                    reason,
                })
            }),
            TokenSource::SecretId(secret_id) => {
                let interval = crate::secrets_manager::refresh_interval()?;
                let client = aws_sdk_secretsmanager::Client::new(&crate::aws::from_env().await);
                Self::from_secrets_manager(client, secret_id, interval).await
            }
        }
    }

    /// The token in `secret_id`, re-read every `interval` and after a 401.
    pub async fn from_secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: &str,
        interval: std::time::Duration,
    ) -> Result<Self, SecretsError> {
        let (header, refresher) =
            SecretRefresher::start(client, secret_id, interval, bearer).await?;
        Ok(Self {
            header,
            refresher: Some(Arc::new(refresher)),
        })
    }

    /// The header to send now.
    pub fn header(&self) -> HeaderValue {
        self.header.current().as_ref().clone()
    }

    /// Re-reads the token if its interval has passed.
    pub async fn refresh_if_due(&self) {
        if let Some(refresher) = &self.refresher {
            refresher.refresh_if_due().await;
        }
    }

    /// Re-reads the token now (after a 401). True when a token was read; the one in force
    /// stays when the read fails.
    pub async fn refresh_now(&self) -> bool {
        let Some(refresher) = &self.refresher else {
            return false;
        };
        match refresher.refresh().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, "API token not re-read after a 401; the current one stays");
                false
            }
        }
    }
}
