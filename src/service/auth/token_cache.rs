//! Auth tokens already verified, so a request whose token was seen before
//! skips decoding the JWT twice and computing its HMAC: about 45,000
//! instructions, more than the rest of a small read (PocketBase verifies
//! the token on every request too).
//!
//! Entries are keyed by the token's SHA-256; the token itself is never
//! kept. An entry remembers what the full check found: the collection and
//! record ids, the expiry, and a SHA-256 of the signing key that verified
//! the signature.
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

/// What verifying a token found: its claims (the collection and record
/// ids, the expiry; `auth-refresh` reads `refreshable`) and a digest of the
/// signing key that verified it (the key itself is not kept).
pub struct Verified {
    pub claims: serde_json::Map<String, serde_json::Value>,
    key: Key,
}

impl Verified {
    pub fn new(claims: serde_json::Map<String, serde_json::Value>, secret: &[u8]) -> Self {
        Self {
            claims,
            key: Sha256::digest(secret).into(),
        }
    }

    fn claim(&self, name: &str) -> &str {
        self.claims
            .get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    pub fn collection_id(&self) -> &str {
        self.claim("collectionId")
    }

    pub fn record_id(&self) -> &str {
        self.claim("id")
    }

    /// Whether the token is past its `exp` at `now` (seconds since 1970;
    /// valid up to and including `exp`, as `jsonwebtoken` checks it). No
    /// integer `exp` counts as expired (the full check requires one).
    pub fn expired(&self, now: i64) -> bool {
        self.claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .is_none_or(|exp| exp < now)
    }

    /// Whether `secret` is the key that verified the token (constant time).
    pub fn signed_with(&self, secret: &[u8]) -> bool {
        let key: Key = Sha256::digest(secret).into();
        self.key.ct_eq(&key).into()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(exp: i64) -> Arc<Verified> {
        let mut claims = serde_json::Map::new();
        claims.insert("exp".into(), exp.into());
        claims.insert("id".into(), "r".into());
        Arc::new(Verified::new(claims, b"k"))
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
        assert_eq!((v.record_id(), v.collection_id()), ("r", ""));
        assert_eq!((v.signed_with(b"k"), v.signed_with(b"K")), (true, false));
        assert_eq!((v.expired(7), v.expired(8)), (false, true));
        forget(&k);
        assert!(get(&k).is_none());
        let none = Verified::new(Default::default(), b"k");
        assert!(none.expired(i64::MIN));
    }
}
