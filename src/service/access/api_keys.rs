//! API keys: long random secrets bound to an auth record, for
//! server-to-server calls.
//!
//! Only a SHA-256 digest is stored (the key has 238 bits of entropy, so a
//! plain digest is enough and lookups stay one indexed query); the plain key
//! is answered once, when the key is created. A request carrying a key acts
//! as the bound record, so collection rules, roles and policies apply to it
//! unchanged. `lastUsed` is written at most once a minute per key, off the
//! request path.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::schema::names::random_secret;
use crate::schema::system::{API_KEYS, SUPERUSERS};
use crate::service::{Actor, Error, Identity};
use crate::store::Store;
use crate::store::records::{self, Row_};

/// Every key starts with this, so a key is told apart from a JWT at a glance.
pub const PREFIX: &str = "cairn_";
/// Random characters after the prefix.
const SECRET_LEN: usize = 40;
/// Characters of the key kept in clear (`prefix`) to recognise it.
const SHOWN: usize = 12;
/// Least time between two `lastUsed` writes of one key.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// The key in an `Authorization` value (`cairn_...` or `Bearer cairn_...`).
pub fn key_in(header: &str) -> Option<&str> {
    let h = header.trim();
    let h = h.strip_prefix("Bearer ").map(str::trim).unwrap_or(h);
    h.starts_with(PREFIX).then_some(h)
}

fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Generates a key into a new `_apiKeys` record: digest and prefix stored,
/// plain key left in `rec["key"]` for the creation answer only.
pub fn issue(rec: &mut Row_) {
    let key = format!("{PREFIX}{}", random_secret(SECRET_LEN));
    rec.insert("keyHash".into(), digest(&key).into());
    rec.insert("prefix".into(), key[..SHOWN].to_owned().into());
    rec.insert("lastUsed".into(), Value::String(String::new()));
    rec.insert("key".into(), key.into());
}

/// The error every unusable key gets.
pub fn rejected() -> Error {
    Error::Unauthorized("The API key is invalid, revoked or expired.")
}

/// The actor a key stands for, plus the key's id when its `lastUsed` is
/// due to be written.
pub fn actor(store: &Store, key: &str) -> Result<(Actor, Option<String>), Error> {
    let schema = store.schema();
    let keys = schema.get(API_KEYS).ok_or_else(rejected)?;
    let hash = digest(key);
    let found = store.read(|conn| {
        // Exact match on the unique index (the digest is lower-case hex).
        let Some(k) = records::find_all(conn, &keys, &[("keyHash", &hash)], 1)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let text = |f: &str| {
            k.get(f)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let Some(c) = schema.get(&text("collectionRef")).filter(|c| c.is_auth()) else {
            return Ok(None);
        };
        let rec = records::get(conn, &c, &text("recordRef"))?;
        Ok(rec.map(|r| (k, c, r)))
    })?;
    let Some((k, c, record)) = found else {
        return Err(rejected());
    };
    let expires = k.get("expires").and_then(Value::as_str).unwrap_or_default();
    if !expires.is_empty() && expires <= crate::schema::datetime::now().as_str() {
        return Err(rejected());
    }
    let id = k
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let identity = Identity {
        collection: c,
        record: record.into(),
    };
    let actor = if identity.collection.name == SUPERUSERS {
        Actor::Superuser(identity)
    } else {
        Actor::User(identity)
    };
    Ok((actor, due(&id).then_some(id)))
}

/// Is a `lastUsed` write due for key `id`? (Marks it written.)
fn due(id: &str) -> bool {
    static LAST: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    let Ok(mut map) = LAST.get_or_init(Default::default).lock() else {
        return false;
    };
    let now = Instant::now();
    if map
        .get(id)
        .is_some_and(|t| now.duration_since(*t) < LAST_USED_EVERY)
    {
        return false;
    }
    if map.len() > 100_000 {
        map.clear();
    }
    map.insert(id.to_owned(), now);
    true
}

/// Records that key `id` was just used.
pub async fn touch(store: &Store, id: String) {
    let res = store
        .write(move |ctx| {
            crate::store::access::touch_api_key(ctx.conn, &id, &crate::schema::datetime::now())
        })
        .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "recording API key use failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recognised_with_or_without_bearer() {
        assert_eq!(key_in("cairn_abc"), Some("cairn_abc"));
        assert_eq!(key_in("Bearer cairn_abc"), Some("cairn_abc"));
        assert_eq!(key_in("eyJhbGciOi.x.y"), None);
    }

    #[test]
    fn issued_keys_store_only_a_digest() {
        let mut rec = Row_::new();
        issue(&mut rec);
        let key = rec["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with(PREFIX) && key.len() == PREFIX.len() + SECRET_LEN);
        assert_eq!(rec["keyHash"], digest(&key));
        assert_eq!(rec["prefix"], key[..SHOWN]);
        assert_ne!(rec["keyHash"], key);
    }
}
