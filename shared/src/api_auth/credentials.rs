//! A provider's API credentials: what logs in, never what is sent on every request.
//!
//! Locally they come from two variables (e.g. `OCTOPUS_API_KEY`, `OCTOPUS_API_SECRET`); in AWS
//! from one Secrets Manager secret holding JSON, `{"api_key","api_secret"}` (Octopus) or
//! `{"client_id","client_secret"}` (Optty), re-read on the receivers' interval and at once when
//! the provider refuses them, so a rotation needs no deploy.

use std::sync::Arc;
use std::time::Duration;

use crate::keyring::Keyring;
use crate::secrets_manager::{SecretRefresher, SecretsError};
use crate::signature::Secret;

/// An id (API key, client id) and its secret. Debug output shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub id: Secret,
    pub secret: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// The field pairs a credentials secret may hold, by provider document: Octopus' login takes
/// an API key and secret, Optty's token endpoint a client id and secret.
const FIELD_PAIRS: [(&str, &str); 2] = [("api_key", "api_secret"), ("client_id", "client_secret")];

impl Credentials {
    pub fn new(id: &str, secret: &str) -> Result<Self, String> {
        let (id, secret) = (id.trim(), secret.trim());
        if id.is_empty() || secret.is_empty() {
            return Err("an API credential is empty".into());
        }
        Ok(Self {
            id: Secret::new(id.as_bytes()),
            secret: Secret::new(secret.as_bytes()),
        })
    }

    /// The JSON of a credentials secret. The error names the fields expected, never a value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| "the credentials secret is not a JSON object".to_string())?;
        let field = |name: &str| value.get(name).and_then(|v| v.as_str());
        FIELD_PAIRS
            .iter()
            .find_map(|(id, secret)| Some((field(id)?, field(secret)?)))
            .ok_or_else(|| {
                "the credentials secret needs \"api_key\" and \"api_secret\" (Octopus) or \
                 \"client_id\" and \"client_secret\" (Optty)"
                    .to_string()
            })
            .and_then(|(id, secret)| Self::new(id, secret))
    }

    /// The id as text (for a request body); credentials were made from text.
    pub fn id_text(&self) -> &str {
        std::str::from_utf8(self.id.expose()).unwrap_or_default()
    }

    pub fn secret_text(&self) -> &str {
        std::str::from_utf8(self.secret.expose()).unwrap_or_default()
    }
}

/// Where the credentials in force come from.
#[derive(Clone, Debug)]
pub struct CredentialSource {
    current: Keyring<Credentials>,
    refresher: Option<Arc<SecretRefresher>>,
}

impl CredentialSource {
    /// Credentials that never change (local runs, tests).
    pub fn fixed(credentials: Credentials) -> Self {
        Self {
            current: Keyring::new(credentials),
            refresher: None,
        }
    }

    /// The credentials in `secret_id`, read now and re-read every `interval`.
    pub async fn from_secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: &str,
        interval: Duration,
    ) -> Result<Self, SecretsError> {
        let (current, refresher) =
            SecretRefresher::start(client, secret_id, interval, Credentials::parse).await?;
        Ok(Self {
            current,
            refresher: Some(Arc::new(refresher)),
        })
    }

    /// The credentials to log in with now, re-read first when their interval has passed.
    pub async fn current(&self) -> Arc<Credentials> {
        if let Some(refresher) = &self.refresher {
            refresher.refresh_if_due().await;
        }
        self.current.current()
    }

    /// Re-reads the credentials now (the provider refused them). True when they changed.
    pub async fn reread(&self) -> bool {
        let Some(refresher) = &self.refresher else {
            return false;
        };
        let before = self.current.current();
        match refresher.refresh().await {
            Ok(()) => *self.current.current() != *before,
            Err(error) => {
                tracing::warn!(error = %error, "API credentials not re-read; the current ones stay");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_documented_pairs_and_names_no_value() {
        let octopus = Credentials::parse(r#"{"api_key":"k","api_secret":"s"}"#).unwrap();
        assert_eq!(octopus.id_text(), "k");
        let optty = Credentials::parse(r#"{"client_id":"c","client_secret":"s"}"#).unwrap();
        assert_eq!(optty.secret_text(), "s");
        let error = Credentials::parse(r#"{"api_key":"SECRETVALUE"}"#).unwrap_err();
        assert!(!error.contains("SECRETVALUE"), "{error}");
        assert!(Credentials::parse(r#"{"api_key":" ","api_secret":"s"}"#).is_err());
        assert!(Credentials::parse("not json").is_err());
        assert_eq!(format!("{octopus:?}"), "Credentials(<redacted>)");
    }
}
