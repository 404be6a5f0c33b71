//! HMAC-SHA256 signing keys and constant-time verification, shared by every provider scheme.
//!
//! A provider may have several active secrets at once (rotation), so verification always runs
//! against the whole [`SecretSet`] and never stops at the first mismatch: the time taken does not
//! depend on which secret, if any, matched.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// One signing secret. Its `Debug` output is redacted so it cannot leak through logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// HMAC-SHA256 of the concatenation of `parts` under this secret.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        mac_of(self.keyed(), parts)
    }

    /// The HMAC state with the key absorbed, ready for data.
    fn keyed(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    /// Lowercase-hex HMAC-SHA256 of `parts`, as most providers put it in a header.
    pub fn sign_hex(&self, parts: &[&[u8]]) -> String {
        hex::encode(self.sign(parts))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn mac_of(mut mac: HmacSha256, parts: &[&[u8]]) -> [u8; TAG_LEN] {
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Shortest secret accepted: a placeholder or a typo must never become a key. No provider hookline
/// knows documents shorter secrets, so there is no setting to go below it.
pub const MIN_SECRET_BYTES: usize = 16;

/// Most signatures one request may present (a header listing several during a rotation).
/// Beyond it the request is refused before any hashing, so an attacker cannot make one request
/// cost more than a genuine one.
pub const MAX_SIGNATURE_CANDIDATES: usize = 8;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecretSetError {
    #[error("no signing secret is configured")]
    Empty,
    #[error("the secret list is not a JSON array of strings")]
    NotJsonList,
    /// Names the secret's place in the list, never its value.
    #[error(
        "secret #{position} of the list is {len} bytes, shorter than the {min} required (a placeholder or a typo?)"
    )]
    TooShort {
        position: usize,
        len: usize,
        min: usize,
    },
}

/// The secrets that are active for one provider; a signature made with any of them is valid.
///
/// Each secret's HMAC state is keyed once, when the set is built (at init), and cloned per
/// verification: a request pays for hashing its body, not for absorbing the key again.
#[derive(Clone)]
pub struct SecretSet {
    secrets: Vec<Secret>,
    keyed: Vec<HmacSha256>,
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.secrets).finish()
    }
}

impl SecretSet {
    /// A set of secrets each at least [`MIN_SECRET_BYTES`] long.
    pub fn new(secrets: Vec<Secret>) -> Result<Self, SecretSetError> {
        Self::with_min_len(secrets, MIN_SECRET_BYTES)
    }

    /// A set of secrets each at least `min` bytes long (a scheme whose specification asks for
    /// more, such as Standard Webhooks' 24). Never accepts an empty key.
    pub fn with_min_len(secrets: Vec<Secret>, min: usize) -> Result<Self, SecretSetError> {
        if secrets.is_empty() {
            return Err(SecretSetError::Empty);
        }
        let min = min.max(1);
        if let Some((position, secret)) = secrets
            .iter()
            .enumerate()
            .find(|(_, secret)| secret.0.len() < min)
        {
            return Err(SecretSetError::TooShort {
                position: position + 1,
                len: secret.0.len(),
                min,
            });
        }
        let keyed = secrets.iter().map(Secret::keyed).collect();
        Ok(Self { secrets, keyed })
    }

    /// Parses a list of secrets: either a JSON array of strings (the shape kept in Secrets
    /// Manager) or a comma- or newline-separated list (convenient in an environment variable).
    /// Blank entries are ignored; an empty result is an error, never "accept everything"; a
    /// secret shorter than [`MIN_SECRET_BYTES`] is an error.
    pub fn parse(list: &str) -> Result<Self, SecretSetError> {
        let secrets = split_list(list)?
            .into_iter()
            .map(|s| Secret::new(s.into_bytes()))
            .collect();
        Self::new(secrets)
    }

    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// The secret new signatures are made with (the first one listed).
    pub fn primary(&self) -> &Secret {
        &self.secrets[0]
    }

    /// True when `tag` is the HMAC-SHA256 of `parts` under any active secret.
    ///
    /// Every secret is tried and the results are combined with constant-time operations. A tag
    /// of the wrong length never matches.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        <[u8; TAG_LEN]>::try_from(tag).is_ok_and(|tag| self.verify_any(parts, &[tag]))
    }

    /// True when any of `tags` is the HMAC-SHA256 of `parts` under any active secret. Each
    /// secret's MAC of `parts` is computed once and compared with every tag in constant time,
    /// so the cost is one pass over the body per secret, whatever the number of tags; callers
    /// cap the tags at [`MAX_SIGNATURE_CANDIDATES`].
    pub fn verify_any(&self, parts: &[&[u8]], tags: &[[u8; TAG_LEN]]) -> bool {
        let mut matched = Choice::from(0);
        for keyed in &self.keyed {
            let mac = mac_of(keyed.clone(), parts);
            for tag in tags {
                matched |= mac.ct_eq(tag);
            }
        }
        matched.into()
    }

    /// Like [`verify`](Self::verify) for a hex-encoded tag; anything that is not exactly 64
    /// hex digits fails.
    pub fn verify_hex(&self, parts: &[&[u8]], tag_hex: &str) -> bool {
        let mut tag = [0u8; TAG_LEN];
        if hex::decode_to_slice(tag_hex, &mut tag).is_err() {
            return false;
        }
        self.verify(parts, &tag)
    }

    /// True when `candidate` equals one of the secrets: for secrets presented as they are (a
    /// path token). Both sides are hashed first, so the comparison is constant-time and does
    /// not even reveal the secret's length.
    pub fn contains(&self, candidate: &[u8]) -> bool {
        use sha2::Digest;
        let presented = Sha256::digest(candidate);
        let mut matched = Choice::from(0);
        for secret in &self.secrets {
            matched |= Sha256::digest(secret.expose()).ct_eq(&presented);
        }
        matched.into()
    }

    /// Like [`verify`](Self::verify) for a standard-base64 tag (padding optional); anything
    /// that does not decode to exactly 32 bytes fails.
    pub fn verify_base64(&self, parts: &[&[u8]], tag_base64: &str) -> bool {
        use base64::Engine;
        let engine = &base64::engine::general_purpose::STANDARD;
        let trimmed = tag_base64.trim_end_matches('=');
        let padded = format!("{trimmed}{}", "=".repeat((4 - trimmed.len() % 4) % 4));
        match engine.decode(padded) {
            Ok(tag) => self.verify(parts, &tag),
            Err(_) => false,
        }
    }
}

/// The entries of a secret list (see [`SecretSet::parse`]), trimmed, blanks left out.
pub fn split_list(list: &str) -> Result<Vec<String>, SecretSetError> {
    let trimmed = list.trim();
    let entries: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed)
            .map_err(|_| SecretSetError::NotJsonList)?
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        trimmed
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    if entries.is_empty() {
        return Err(SecretSetError::Empty);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector computed outside Rust:
    //   printf '%s' '{"id":"evt_abc123","type":"order.delivered"}' \
    //     | openssl dgst -sha256 -hmac 'hookline-test-secret'
    const BODY: &[u8] = br#"{"id":"evt_abc123","type":"order.delivered"}"#;
    const OPENSSL_HEX: &str = "e8ba3e0e36596f0ff31a11ae5a3052832e2c727a766fc913661c4d4373fae1ed";

    fn set(list: &str) -> SecretSet {
        SecretSet::parse(list).expect("valid secret list")
    }

    #[test]
    fn matches_the_openssl_vector() {
        let secrets = set("hookline-test-secret");
        assert_eq!(secrets.primary().sign_hex(&[BODY]), OPENSSL_HEX);
        assert!(secrets.verify_hex(&[BODY], OPENSSL_HEX));
    }

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        // Too short for a SecretSet: the vector checks the HMAC itself.
        assert_eq!(
            Secret::new("Jefe").sign_hex(&[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn any_active_secret_verifies() {
        let secrets = set("old-signing-secret, new-signing-secret");
        let by_new = Secret::new("new-signing-secret").sign_hex(&[BODY]);
        let by_old = Secret::new("old-signing-secret").sign_hex(&[BODY]);
        assert!(secrets.verify_hex(&[BODY], &by_new));
        assert!(secrets.verify_hex(&[BODY], &by_old));
        let by_removed = Secret::new("removed-signing-secret").sign_hex(&[BODY]);
        assert!(!secrets.verify_hex(&[BODY], &by_removed));
    }

    #[test]
    fn malformed_tags_fail() {
        let secrets = set("hookline-test-secret");
        assert!(!secrets.verify_hex(&[BODY], ""));
        assert!(!secrets.verify_hex(&[BODY], &OPENSSL_HEX[..62]));
        assert!(!secrets.verify_hex(&[BODY], &format!("{OPENSSL_HEX}00")));
        assert!(!secrets.verify_hex(&[BODY], &OPENSSL_HEX.replace('a', "z")));
        assert!(!secrets.verify(&[BODY], &[]));
    }

    #[test]
    fn a_changed_body_fails() {
        let secrets = set("hookline-test-secret");
        assert!(!secrets.verify_hex(&[b"{\"id\":\"evt_abc124\"}"], OPENSSL_HEX));
    }

    #[test]
    fn parses_json_and_separated_lists() {
        let (a, b, c) = ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc");
        assert_eq!(set(&format!(r#"["{a}", "{b}"]"#)).secrets().len(), 2);
        assert_eq!(set(&format!("{a},{b}\n{c}")).secrets().len(), 3);
        assert_eq!(
            SecretSet::parse(" , \n").unwrap_err(),
            SecretSetError::Empty
        );
        assert_eq!(SecretSet::parse("[]").unwrap_err(), SecretSetError::Empty);
        assert_eq!(
            SecretSet::parse("[1, 2]").unwrap_err(),
            SecretSetError::NotJsonList
        );
    }

    #[test]
    fn a_placeholder_or_a_short_secret_is_refused_and_not_shown() {
        for list in ["changeme", "q", "hookline-test-secret,tiny1", r#"["TODO"]"#] {
            let err = SecretSet::parse(list).unwrap_err();
            assert!(
                matches!(err, SecretSetError::TooShort { min: 16, .. }),
                "{list}: {err:?}"
            );
            for secret in ["changeme", "tiny1", "TODO"] {
                assert!(!err.to_string().contains(secret), "{err}");
            }
        }
        let err = SecretSet::parse("hookline-test-secret,tiny1").unwrap_err();
        assert!(err.to_string().contains("secret #2"), "{err}");
        assert!(SecretSet::parse("exactly-16-bytes").is_ok());
        assert_eq!(
            SecretSet::with_min_len(vec![Secret::new("")], 0).unwrap_err(),
            SecretSetError::TooShort {
                position: 1,
                len: 0,
                min: 1
            },
            "an empty key is refused whatever the minimum"
        );
    }

    #[test]
    fn verify_any_checks_every_tag_against_every_secret() {
        let secrets = set("old-signing-secret, new-signing-secret");
        let good = Secret::new("new-signing-secret").sign(&[BODY]);
        let bad = Secret::new("attacker-secret-xx").sign(&[BODY]);
        assert!(secrets.verify_any(&[BODY], &[bad, bad, good]));
        assert!(!secrets.verify_any(&[BODY], &[bad, bad]));
        assert!(!secrets.verify_any(&[BODY], &[]));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let shown = format!("{:?}", set("super-secret-value"));
        assert!(!shown.contains("super-secret-value"), "{shown}");
    }
}
