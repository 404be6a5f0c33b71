//! Where the containers of a stack share one session per provider API, and the lease that lets
//! exactly one of them renew it.
//!
//! In AWS ([`AwsSessionStore`]) the session lives in a Secrets Manager secret of its own (a
//! token is a secret: never in the table, a log or a queue) and the lease is an item of the
//! events table, `AUTH_LEASE#{provider}`, holding who renews and until when: no token. Locally
//! ([`MemorySessionStore`]) both are in the process, shared by every client made from it.
//!
//! Why a lease: Octopus allows 10 logins and 20 refreshes a minute in production ("Best
//! Practices: Rate limits") and revokes a refresh token once used ("Refresh Token"), so two
//! containers refreshing at once would burn the limit and one of them would hold a revoked
//! token. With the lease, N containers cost one renewal per token lifetime, whatever N is.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;

use super::AuthError;
use super::session::{Session, now_ms};
use crate::dynamo::{is_condition_failure, n, s};

/// How the containers share a provider's session.
#[derive(Clone, Debug)]
pub enum SessionStore {
    Memory(Arc<MemorySessionStore>),
    Aws(AwsSessionStore),
}

/// The session and lease in this process.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    state: Mutex<Shared>,
}

/// The session, and the lease: who holds it until when (Unix ms).
type Shared = (Option<Session>, Option<(String, i64)>);

/// The session in a Secrets Manager secret, the lease in the events table.
#[derive(Clone, Debug)]
pub struct AwsSessionStore {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub session_secret_id: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub provider: &'static str,
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn store_error(what: &str, error: impl std::error::Error) -> AuthError {
    AuthError::Store(format!("{what}: {}", DisplayErrorContext(&error)))
}

impl SessionStore {
    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    /// The session the containers share, if one was written.
    pub async fn read(&self) -> Result<Option<Session>, AuthError> {
        match self {
            Self::Memory(store) => Ok(store.lock().0.clone()),
            Self::Aws(store) => store.read().await,
        }
    }

    /// Puts `session` in force for every container.
    pub async fn write(&self, session: &Session) -> Result<(), AuthError> {
        match self {
            Self::Memory(store) => {
                store.lock().0 = Some(session.clone());
                Ok(())
            }
            Self::Aws(store) => store.write(session).await,
        }
    }

    /// Takes the renewal lease for `holder` until `duration` from now, when no one else holds
    /// it. True when taken.
    pub async fn try_lease(&self, holder: &str, duration: Duration) -> Result<bool, AuthError> {
        let (now, until) = (now_ms(), now_ms().saturating_add(ms(duration)));
        match self {
            Self::Memory(store) => {
                let mut state = store.lock();
                let free = state
                    .1
                    .as_ref()
                    .is_none_or(|(who, end)| *end <= now || who == holder);
                if free {
                    state.1 = Some((holder.to_string(), until));
                }
                Ok(free)
            }
            Self::Aws(store) => store.try_lease(holder, now, until).await,
        }
    }

    /// Gives the lease up, if `holder` still has it.
    pub async fn release(&self, holder: &str) -> Result<(), AuthError> {
        match self {
            Self::Memory(store) => {
                let mut state = store.lock();
                if state.1.as_ref().is_some_and(|(who, _)| who == holder) {
                    state.1 = None;
                }
                Ok(())
            }
            Self::Aws(store) => store.release(holder).await,
        }
    }
}

impl MemorySessionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AwsSessionStore {
    fn lease_key(&self) -> String {
        format!("AUTH_LEASE#{}", self.provider)
    }

    async fn read(&self) -> Result<Option<Session>, AuthError> {
        let output = self
            .secrets
            .get_secret_value()
            .secret_id(&self.session_secret_id)
            .send()
            .await
            .map_err(|e| store_error("reading the session secret", e))?;
        // The template creates the secret as `{}`: no session yet. Anything unreadable is
        // treated the same way (a renewal overwrites it), never as an error that stops fetches.
        Ok(output
            .secret_string()
            .and_then(|text| serde_json::from_str(text).ok()))
    }

    async fn write(&self, session: &Session) -> Result<(), AuthError> {
        let text = serde_json::to_string(session).map_err(|_| AuthError::Malformed)?;
        self.secrets
            .put_secret_value()
            .secret_id(&self.session_secret_id)
            .secret_string(text)
            .send()
            .await
            .map_err(|e| store_error("writing the session secret", e))?;
        Ok(())
    }

    async fn try_lease(&self, holder: &str, now: i64, until: i64) -> Result<bool, AuthError> {
        let result = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&self.lease_key()))
            .item("holder", s(holder))
            .item("lease_until", n(until))
            // The table's TTL removes a lease nobody released, a day later.
            .item("expires_at", n(until / 1000 + 86_400))
            .condition_expression(
                "attribute_not_exists(pk) OR lease_until <= :now OR holder = :holder",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(store_error("taking the renewal lease", error)),
        }
    }

    async fn release(&self, holder: &str) -> Result<(), AuthError> {
        let result = self
            .dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&self.lease_key()))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(store_error("releasing the renewal lease", error)),
        }
    }
}
