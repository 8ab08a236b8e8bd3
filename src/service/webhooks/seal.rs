//! Signing secrets at rest: AES-256-GCM with the key PocketBase's
//! `--encryptionEnv` names (32 bytes), so a copy of `data.db` or a backup
//! alone does not let anyone sign requests receivers would trust.
//!
//! A sealed value is `enc1:` + base64(12-byte random nonce ‖ ciphertext ‖
//! tag). Without a key values are stored as they are, and values stored
//! before a key was set (plain `whsec_…`) keep working: `open` passes them
//! through, and the next write of the endpoint seals them.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt;

const PREFIX: &str = "enc1:";
const NONCE_BYTES: usize = 12;

/// Bytes of an encryption key (AES-256).
pub const KEY_BYTES: usize = 32;

/// Seals and opens stored secrets; `Sealer::default()` has no key.
#[derive(Clone, Default)]
pub struct Sealer {
    key: Option<[u8; KEY_BYTES]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.key.is_some() {
            "key set"
        } else {
            "no key"
        };
        write!(f, "Sealer({state})")
    }
}

impl Sealer {
    /// A sealer with `key`, which must be exactly 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self, String> {
        let key: [u8; KEY_BYTES] = key.try_into().map_err(|_| {
            format!(
                "the encryption key must be {KEY_BYTES} bytes, not {}",
                key.len()
            )
        })?;
        Ok(Self { key: Some(key) })
    }

    /// Is there a key (are new values sealed)?
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The value to store: sealed with a key, as it is without one.
    pub fn seal(&self, plain: &str) -> String {
        let Some(key) = &self.key else {
            return plain.to_owned();
        };
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill(&mut nonce[..]);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        match cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()) {
            Ok(ct) => {
                let mut out = nonce.to_vec();
                out.extend_from_slice(&ct);
                format!("{PREFIX}{}", STANDARD.encode(out))
            }
            // Encryption of an in-memory string cannot fail; never store
            // the plain value in its place silently.
            Err(_) => String::new(),
        }
    }

    /// The stored value's plain text; `None` when it is sealed and this
    /// sealer has no key or another one.
    pub fn open(&self, stored: &str) -> Option<String> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Some(stored.to_owned());
        };
        let raw = STANDARD.decode(b64).ok()?;
        if raw.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ct) = raw.split_at(NONCE_BYTES);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_ref()?));
        let plain = cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn seals_round_trips_and_refuses_other_keys() {
        let s = Sealer::new(KEY).expect("key");
        let a = s.seal("whsec_abc");
        let b = s.seal("whsec_abc");
        assert!(a.starts_with(PREFIX) && !a.contains("whsec_abc"), "{a}");
        assert_ne!(a, b, "a fresh nonce every time");
        assert_eq!(s.open(&a).as_deref(), Some("whsec_abc"));
        let other = Sealer::new(b"fedcba9876543210fedcba9876543210").expect("key");
        assert_eq!(other.open(&a), None);
        assert_eq!(Sealer::default().open(&a), None);
        let mut tampered = a.clone();
        tampered.replace_range(PREFIX.len()..PREFIX.len() + 4, "AAAA");
        assert_eq!(s.open(&tampered), None);
        assert_eq!(s.open("enc1:!!"), None);
    }

    #[test]
    fn plain_values_pass_through_and_keys_are_32_bytes() {
        let s = Sealer::new(KEY).expect("key");
        assert_eq!(s.open("whsec_old").as_deref(), Some("whsec_old"));
        let none = Sealer::default();
        assert_eq!(none.seal("whsec_x"), "whsec_x");
        assert!(!none.has_key() && s.has_key());
        assert!(Sealer::new(b"short").is_err());
        assert!(!format!("{s:?}").contains("0123"));
    }
}
