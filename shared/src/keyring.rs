//! The active secrets of one receiver, replaceable while it runs.
//!
//! A receiver declares the [`SecretList`]s it reads; whoever loads them (the Lambda adapter from
//! Secrets Manager or the environment, the CLI from flags) hands them over as
//! [`LoadedSecrets`], from which the provider's scheme makes its typed [`Keyring`]s. Each keyring
//! made keeps a [`Binding`], so the loader can later put a re-read value in force (a
//! [`SecretRefresher`]) without a deploy. A scheme reads the current secrets once per request;
//! readers never wait on a fetch: the swap itself is one pointer under a lock held for
//! nanoseconds.
//!
//! [`SecretRefresher`]: crate::secrets_manager::SecretRefresher

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use thiserror::Error;

/// One list of signing secrets a receiver reads. In AWS, `{env_prefix}_WEBHOOK_SECRET_ID` names
/// its Secrets Manager secret; locally `{env_prefix}_WEBHOOK_SECRETS` holds the list itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretList {
    pub env_prefix: &'static str,
    /// The template parameter naming its Secrets Manager secret.
    pub parameter: &'static str,
    /// Without it the routes it signs answer 404 (OwlPay Harbor); a required list missing stops
    /// the function at init.
    pub optional: bool,
    /// The published test value that signs the samples in `events/`; what `hookline serve`
    /// verifies with unless told otherwise. Never used by a deployed stack.
    pub test_value: &'static str,
    /// What its secret holds, as the template parameter's description says it
    /// (`hookline template`).
    pub description: &'static str,
}

impl SecretList {
    /// The variable naming its Secrets Manager secret.
    pub fn id_var(&self) -> String {
        format!("{}_WEBHOOK_SECRET_ID", self.env_prefix)
    }

    /// The variable holding the list itself (local runs).
    pub fn list_var(&self) -> String {
        format!("{}_WEBHOOK_SECRETS", self.env_prefix)
    }
}

/// Why a receiver's secrets or settings are unusable. Names where a value came from, never the
/// value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SetupError {
    #[error("secret {origin} is not a valid secret list: {reason}")]
    Invalid { origin: String, reason: String },
    #[error("neither {id_var} (a Secrets Manager secret) nor {list_var} is set")]
    NotConfigured { id_var: String, list_var: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Puts a newly read text of a secret list in force; the error says why it was not.
pub type Apply = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// A keyring made from `text` with `parse`, and the [`Apply`] that replaces its contents.
pub fn bind<T, E>(text: &str, parse: fn(&str) -> Result<T, E>) -> Result<(Keyring<T>, Apply), E>
where
    T: Send + Sync + 'static,
    E: fmt::Display + 'static,
{
    let keyring = Keyring::new(parse(text)?);
    let target = keyring.clone();
    let apply: Apply = Box::new(move |text| {
        target.replace(parse(text).map_err(|e| e.to_string())?);
        Ok(())
    });
    Ok((keyring, apply))
}

/// A keyring a scheme made from a loaded list: how to refresh it.
pub struct Binding {
    pub env_prefix: &'static str,
    pub apply: Apply,
}

/// The secret lists of one receiver as loaded: their text, and where each came from (a secret
/// id or a variable name, for errors).
#[derive(Default)]
pub struct LoadedSecrets {
    texts: BTreeMap<&'static str, (String, String)>,
    bindings: Mutex<Vec<Binding>>,
}

impl fmt::Debug for LoadedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedSecrets")
            .field("lists", &self.texts.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl LoadedSecrets {
    /// Records the text of `list`, read from `origin`.
    pub fn insert(&mut self, list: SecretList, origin: impl Into<String>, text: impl Into<String>) {
        self.texts
            .insert(list.env_prefix, (origin.into(), text.into()));
    }

    /// The keyring of the list named `env_prefix`, or `None` when it was not loaded.
    pub fn optional<T, E>(
        &self,
        env_prefix: &str,
        parse: fn(&str) -> Result<T, E>,
    ) -> Result<Option<Keyring<T>>, SetupError>
    where
        T: Send + Sync + 'static,
        E: fmt::Display + 'static,
    {
        let Some((&prefix, (origin, text))) = self.texts.get_key_value(env_prefix) else {
            return Ok(None);
        };
        let (keyring, apply) = bind(text, parse).map_err(|e| SetupError::Invalid {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
        let binding = Binding {
            env_prefix: prefix,
            apply,
        };
        match self.bindings.lock() {
            Ok(mut bindings) => bindings.push(binding),
            Err(poisoned) => poisoned.into_inner().push(binding),
        }
        Ok(Some(keyring))
    }

    /// Like [`optional`](Self::optional), for a list the receiver cannot do without.
    pub fn required<T, E>(
        &self,
        env_prefix: &str,
        parse: fn(&str) -> Result<T, E>,
    ) -> Result<Keyring<T>, SetupError>
    where
        T: Send + Sync + 'static,
        E: fmt::Display + 'static,
    {
        self.optional(env_prefix, parse)?
            .ok_or_else(|| SetupError::NotConfigured {
                id_var: format!("{env_prefix}_WEBHOOK_SECRET_ID"),
                list_var: format!("{env_prefix}_WEBHOOK_SECRETS"),
            })
    }

    /// The keyrings made so far, for their refreshers.
    pub fn take_bindings(&self) -> Vec<Binding> {
        match self.bindings.lock() {
            Ok(mut bindings) => std::mem::take(&mut *bindings),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// Shared, swappable secrets of type `T` (a [`SecretSet`](crate::signature::SecretSet), or one
/// set per source for Standard Webhooks).
pub struct Keyring<T> {
    current: Arc<RwLock<Arc<T>>>,
}

impl<T> Keyring<T> {
    pub fn new(secrets: T) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(secrets))),
        }
    }

    /// The secrets in force now.
    pub fn current(&self) -> Arc<T> {
        // A poisoned lock only means a writer panicked mid-swap of an `Arc`: the value is whole.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts `secrets` in force for every later request.
    pub fn replace(&self, secrets: T) {
        let fresh = Arc::new(secrets);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

impl<T> Clone for Keyring<T> {
    /// A handle to the same secrets, not a copy: a replacement is seen by every clone.
    fn clone(&self) -> Self {
        Self {
            current: Arc::clone(&self.current),
        }
    }
}

impl<T> fmt::Debug for Keyring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

impl<T> From<T> for Keyring<T> {
    fn from(secrets: T) -> Self {
        Self::new(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SecretSet;

    #[test]
    fn a_replacement_is_seen_through_every_handle() {
        let keyring = Keyring::new(SecretSet::parse("old-signing-secret").unwrap());
        let handle = keyring.clone();
        keyring.replace(SecretSet::parse("new-signing-secret").unwrap());
        assert_eq!(handle.current().primary().expose(), b"new-signing-secret");
    }

    #[test]
    fn debug_shows_no_secret() {
        let keyring = Keyring::new(SecretSet::parse("hunter2-hunter2-hunter2").unwrap());
        assert!(!format!("{keyring:?}").contains("hunter2"));
    }
}
