//! The system collections every data directory starts with, and the
//! scaffolds the dashboard uses for new collections.
//!
//! Their definitions are PocketBase's (same ids, fields, rules and indexes) so
//! that clients which hard-code `_superusers`' id `pbc_3142635823` or the
//! `users` id `_pb_users_auth_` keep working.

use serde_json::{Value, json};

use super::collection::Collection;
use super::names::{random_id, random_secret};

const SYSTEM_JSON: &str = include_str!("system_collections.json");
const SCAFFOLDS_JSON: &str = include_str!("scaffolds.json");

/// Id of the `_superusers` collection.
pub const SUPERUSERS_ID: &str = "pbc_3142635823";
/// Name of the `_superusers` collection.
pub const SUPERUSERS: &str = "_superusers";

/// Cairn's access-control collections whose writes reload the schema
/// snapshot (policies are compiled from it, role caches keyed by it).
pub const ACCESS_COLLECTIONS: [&str; 3] = ["_roles", "_roleAssignments", "_policies"];
/// Cairn's own system collections (not PocketBase's). While empty they are
/// left out of the collections list, so PocketBase tooling (type
/// generators, schema diffs) sees PocketBase's default schema until a Cairn
/// feature is used; see docs/ecosystem.md.
pub const CAIRN_COLLECTIONS: [&str; 5] = [
    "_roles",
    "_roleAssignments",
    "_policies",
    "_apiKeys",
    "_superuserScopes",
];
/// Cairn's API keys collection.
pub const API_KEYS: &str = "_apiKeys";
/// Cairn's role assignments collection.
pub const ROLE_ASSIGNMENTS: &str = "_roleAssignments";
/// Cairn's named policies collection.
pub const POLICIES: &str = "_policies";

/// Token types whose HS256 secrets live in an auth collection's options.
pub const TOKEN_TYPES: [&str; 5] = [
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
];

/// Gives an auth collection fresh secrets for every token type that lacks one.
pub fn ensure_token_secrets(c: &mut Collection) {
    if !c.is_auth() {
        return;
    }
    for t in TOKEN_TYPES {
        let entry = c
            .options
            .entry(t.to_owned())
            .or_insert_with(|| json!({"duration": 1800}));
        if let Value::Object(o) = entry {
            let has = o
                .get("secret")
                .and_then(Value::as_str)
                .is_some_and(|s| s.len() >= 30);
            if !has {
                o.insert("secret".into(), random_secret(50).into());
            }
        }
    }
}

/// The system collections with fresh secrets and timestamps.
pub fn system_collections(now: &str) -> Vec<Collection> {
    let list: Vec<Value> = serde_json::from_str(SYSTEM_JSON).unwrap_or_default();
    list.iter()
        .filter_map(Collection::from_stored)
        .map(|mut c| {
            c.created = now.to_owned();
            c.updated = now.to_owned();
            ensure_token_secrets(&mut c);
            c
        })
        .collect()
}

/// `GET /api/collections/meta/scaffolds`: templates for new collections.
pub fn scaffolds() -> Value {
    let mut v: Value = serde_json::from_str(SCAFFOLDS_JSON).unwrap_or_else(|_| json!({}));
    let suffix = random_id(10);
    if let Some(idx) = v.pointer_mut("/auth/indexes") {
        *idx = json!([
            format!("CREATE UNIQUE INDEX `idx_tokenKey_{suffix}` ON `` (`tokenKey`)"),
            format!("CREATE UNIQUE INDEX `idx_email_{suffix}` ON `` (`email`) WHERE `email` != ''"),
        ]);
    }
    v
}

/// The auth scaffold as a collection (new auth collections start from it).
pub fn auth_scaffold() -> Option<Collection> {
    let v: Value = serde_json::from_str(SCAFFOLDS_JSON).ok()?;
    Collection::from_stored(v.get("auth")?)
}

/// The view scaffold (no fields until the query is known).
pub fn view_scaffold() -> Option<Collection> {
    let v: Value = serde_json::from_str(SCAFFOLDS_JSON).ok()?;
    Collection::from_stored(v.get("view")?)
}

/// The base scaffold (just the `id` field).
pub fn base_scaffold() -> Option<Collection> {
    let v: Value = serde_json::from_str(SCAFFOLDS_JSON).ok()?;
    Collection::from_stored(v.get("base")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_collections_parse_with_secrets() {
        let cs = system_collections("2024-01-01 00:00:00.000Z");
        let names: Vec<_> = cs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[..2], ["_superusers", "users"]);
        assert_eq!(cs[0].id, SUPERUSERS_ID);
        assert_eq!(cs[1].id, "_pb_users_auth_");
        assert!(cs[0].token_secret("authToken").len() >= 30);
        assert_ne!(
            cs[0].token_secret("authToken"),
            cs[1].token_secret("authToken")
        );
        assert!(auth_scaffold().is_some() && base_scaffold().is_some());
    }
}
