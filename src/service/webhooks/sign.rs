//! Standard Webhooks signing: `whsec_` secrets, `msg_` event ids and the
//! `v1,` HMAC-SHA256 signature over `id.timestamp.body`.
//!
//! The signature covers the exact bytes sent; bodies are frozen at enqueue
//! time, so every retry is signed over the same payload with a fresh
//! timestamp.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{KeyInit, Mac};
use rand::RngExt;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Bytes of a new signing key (the standard allows 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// A new secret: `whsec_` + padded standard base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill(&mut key[..]);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_` secret (padded or not).
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(b64)
        .or_else(|_| STANDARD_NO_PAD.decode(b64.trim_end_matches('=')))
        .ok()
}

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one `v1,` entry per key, space-separated
/// (the current key first, then keys still in their rotation grace).
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| sign(k, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new event id: `msg_` + a ULID (48-bit millisecond time, 80 random
/// bits, Crockford base32). Random rather than derived from `seq`: after a
/// restore from backup seq values repeat, and receivers would drop the new
/// events as duplicates.
pub fn new_event_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        & ((1u128 << 48) - 1);
    let rand: u128 = rand::rng().random::<u128>() & ((1u128 << 80) - 1);
    let mut v = (ms << 80) | rand;
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = CROCKFORD[(v & 31) as usize];
        v >>= 5;
    }
    format!("msg_{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known-answer vector of the reference JavaScript library.
    #[test]
    fn known_answer() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
        assert_eq!(key.len(), 24);
        let sig = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let both = signature_header(
            &[vec![1, 2, 3], key],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert!(both.ends_with(" v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn secrets_and_ids() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(secret_key(&s).map(|k| k.len()), Some(SECRET_BYTES));
        assert_eq!(
            secret_key(s.trim_end_matches('=')).map(|k| k.len()),
            Some(SECRET_BYTES)
        );
        let (a, b) = (new_event_id(), new_event_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 30);
        assert!(a[4..].chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
    }
}
