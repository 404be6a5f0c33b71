//! The active secrets of one receiver, replaceable while it runs.
//!
//! A scheme reads the current secrets once per request; a [`SecretRefresher`] swaps in a new
//! set after rotation without a deploy. Readers never wait on a fetch: the swap itself is one
//! pointer under a lock held for nanoseconds.
//!
//! [`SecretRefresher`]: crate::secrets_manager::SecretRefresher

use std::fmt;
use std::sync::{Arc, RwLock};

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
