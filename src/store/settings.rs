//! Application settings, one JSON document in `_params`.

use serde_json::{Value, json};

use super::StoreError;
use super::sql::{Db, Val};

/// PocketBase's default settings object (secrets empty).
pub fn defaults() -> Value {
    json!({
        "superuserIPs": [],
        "smtp": {"enabled": false, "port": 587, "host": "smtp.example.com", "username": "", "password": "", "authMethod": "", "tls": false, "localName": ""},
        "backups": {"cron": "", "cronMaxKeep": 3, "s3": {"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "", "secret": "", "forcePathStyle": false}},
        "s3": {"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "", "secret": "", "forcePathStyle": false},
        "meta": {"accentColor": "#1055c9", "appName": "Acme", "appURL": "http://localhost:8090", "senderName": "Support", "senderAddress": "support@example.com", "hideControls": false},
        "rateLimits": {"rules": [
            {"label": "*:auth", "audience": "", "duration": 3, "maxRequests": 2},
            {"label": "*:create", "audience": "", "duration": 5, "maxRequests": 20},
            {"label": "/api/batch", "audience": "", "duration": 1, "maxRequests": 3},
            {"label": "/api/", "audience": "", "duration": 10, "maxRequests": 300}
        ], "excludedIPs": [], "enabled": false},
        "trustedProxy": {"headers": [], "useLeftmostIP": false},
        "batch": {"enabled": false, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
        "logs": {"maxDataSize": 0, "maxDays": 5, "minLevel": 0, "logIP": true, "logAuthId": false}
    })
}

/// Reads the stored settings merged over the defaults.
pub fn load(db: &dyn Db) -> Result<Value, StoreError> {
    let text = db.row(
        "SELECT value FROM _params WHERE id = 'settings'",
        &[],
        |r| r.text(0),
    )?;
    let mut out = defaults();
    if let Some(stored) = text.and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        merge(&mut out, &stored);
    }
    Ok(out)
}

/// `load` for a change computed from the stored settings. On PostgreSQL it
/// first locks the settings' version row (`_cluster`, which always
/// exists), so two saves through two nodes, or two writer sessions of
/// one, run one after the other and neither drops the other's keys.
/// SQLite's one writer runs one job at a time already.
pub fn load_for_update(db: &dyn Db) -> Result<Value, StoreError> {
    if db.postgres().is_some() {
        db.first(
            "SELECT 1 FROM _cluster WHERE name = 'settings' FOR UPDATE",
            &[],
            &mut |_| Ok(()),
        )?;
    }
    load(db)
}

pub fn save(db: &dyn Db, v: &Value, now: &str) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO _params (id, value, created, updated) VALUES ('settings', ?1, ?2, ?2)
         ON CONFLICT(id) DO UPDATE SET value = excluded.value, updated = excluded.updated",
        &[Val::Text(&v.to_string()), Val::Text(now)],
    )?;
    // Other nodes on the same PostgreSQL database reload them.
    super::cluster::bump(db, super::cluster::Cached::Settings)
}

/// Deep-merges `patch` into `base`: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}
