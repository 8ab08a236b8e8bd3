//! Auth tokens already verified, so a request whose token was seen before
//! skips decoding the JWT twice and computing its HMAC: about 45,000
//! instructions, more than the rest of a small read (PocketBase verifies
//! the token on every request too).
//!
//! Entries are keyed by the token's SHA-256; the token itself is never
//! kept. An entry remembers what the full check found: the collection and
//! record ids, the expiry and the signing key that verified the signature.
//! A hit still loads the record (its fields may have changed) and rebuilds
//! its signing key from it: a changed password, `tokenKey` or collection
//! secret gives another key, the entry no longer counts, and the token
//! goes through the full check again (which then fails, as it would have
//! without the cache). The expiry is checked on every hit. The cache is
//! shared by every store in the process: a hit is re-checked against the
//! store at hand, so an entry made by one store proves nothing to another.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Entries kept before the cache starts over (a few MB at most).
const CAP: usize = 8_192;

/// What verifying a token found.
pub struct Verified {
    pub collection_id: String,
    pub record_id: String,
    /// Seconds since 1970; the token is valid up to and including it.
    pub exp: i64,
    /// The token's claims (`auth-refresh` reads `refreshable`).
    pub claims: serde_json::Map<String, serde_json::Value>,
    secret: Vec<u8>,
}

impl Verified {
    /// What verifying a token of `collection_id`'s record `record_id`
    /// with `secret` found (without an integer `exp`, an entry that never
    /// counts; the full check has made sure there is one).
    pub fn new(
        collection_id: String,
        record_id: String,
        claims: serde_json::Map<String, serde_json::Value>,
        secret: Vec<u8>,
    ) -> Self {
        Self {
            collection_id,
            record_id,
            exp: claims
                .get("exp")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(i64::MIN),
            claims,
            secret,
        }
    }

    /// Whether `secret` is the key that verified the token (constant time).
    pub fn signed_with(&self, secret: &[u8]) -> bool {
        self.secret.ct_eq(secret).into()
    }
}

type Key = [u8; 32];

static CACHE: LazyLock<Mutex<HashMap<Key, Arc<Verified>>>> = LazyLock::new(Default::default);

/// The cache key of a token.
pub fn key(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

/// The entry for `key`, if the token was verified before.
pub fn get(key: &Key) -> Option<Arc<Verified>> {
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.get(key).cloned()
}

/// Remembers a verified token (starting over when the cache is full).
pub fn put(key: Key, v: Arc<Verified>) {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CAP {
        cache.clear();
    }
    cache.insert(key, v);
}

/// Forgets a token whose entry no longer holds.
pub fn forget(key: &Key) {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.remove(key);
}

/// Seconds since 1970 now (the clock `jsonwebtoken` checks `exp` against).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(exp: i64) -> Arc<Verified> {
        let mut claims = serde_json::Map::new();
        claims.insert("exp".into(), exp.into());
        Arc::new(Verified::new("c".into(), "r".into(), claims, b"k".to_vec()))
    }

    /// The cache holds at most `CAP` tokens, keyed by a digest of the
    /// token (whose text is nowhere in it); an entry without an integer
    /// `exp` has already expired.
    #[test]
    fn bounded_keyed_by_digest_and_checked() {
        for i in 0..=CAP {
            put(key(&format!("bounded-test-token-{i}")), entry(i64::MAX));
            assert!(CACHE.lock().map(|c| c.len()).unwrap_or(0) <= CAP);
        }
        let k = key("bounded-test-token-0.sig");
        assert_ne!(&k[..], &b"bounded-test-token-0.sig"[..24]);
        put(k, entry(7));
        let v = get(&k).expect("entry");
        assert_eq!(
            (v.exp, v.signed_with(b"k"), v.signed_with(b"K")),
            (7, true, false)
        );
        forget(&k);
        assert!(get(&k).is_none());
        let none = Verified::new("c".into(), "r".into(), Default::default(), Vec::new());
        assert_eq!(none.exp, i64::MIN);
    }
}
