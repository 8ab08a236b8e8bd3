//! Application settings: read, patch (deep merge) and validate.

use serde_json::{Map, Value};

use super::Error;
use crate::schema::datetime;
use crate::schema::validate::{FieldError, url_host};
use crate::store::{Store, settings};

/// Settings without secrets, as the API returns them.
pub fn public(v: &Value) -> Value {
    let mut out = v.clone();
    for ptr in ["/smtp", "/s3", "/backups/s3"] {
        if let Some(Value::Object(o)) = out.pointer_mut(ptr) {
            o.remove("password");
            o.remove("secret");
        }
    }
    out
}

pub fn get(store: &Store) -> Result<Value, Error> {
    Ok(public(&store.read(settings::load)?))
}

fn validate(v: &Value, postgres: bool) -> Map<String, Value> {
    let mut meta = Map::new();
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if s("/meta/appName").trim().is_empty() {
        meta.insert("appName".into(), FieldError::required().to_json());
    }
    let url = s("/meta/appURL");
    if url.trim().is_empty() {
        meta.insert("appURL".into(), FieldError::required().to_json());
    } else if !url.contains("://") || url_host(&url).is_none() {
        meta.insert(
            "appURL".into(),
            FieldError::new("validation_is_url", "Must be a valid URL.").to_json(),
        );
    }
    let mut errors = Map::new();
    if !meta.is_empty() {
        errors.insert("meta".into(), Value::Object(meta));
    }
    let mut batch = Map::new();
    let num = |p: &str| v.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
    let max = num("/batch/maxRequests");
    if max < 0.0 {
        batch.insert(
            "maxRequests".into(),
            FieldError::new(
                "validation_min_greater_equal_than_required",
                "Must be no less than 0.",
            )
            .with_params(serde_json::json!({"threshold": 0}))
            .to_json(),
        );
    } else if max == 0.0 {
        batch.insert("maxRequests".into(), FieldError::required().to_json());
    }
    if num("/batch/timeout") == 0.0 {
        batch.insert("timeout".into(), FieldError::required().to_json());
    }
    if !batch.is_empty() {
        errors.insert("batch".into(), Value::Object(batch));
    }
    if let Some(b) = super::backups::settings_errors(v, postgres) {
        errors.insert("backups".into(), b);
    }
    if let Some(e) = crate::service::files::s3::S3Settings::from_json(v.get("s3")).errors() {
        errors.insert("s3".into(), e);
    }
    if let Some(rules) = rate_limit_errors(v) {
        errors.insert("rateLimits".into(), serde_json::json!({ "rules": rules }));
    }
    errors
}

/// PocketBase's checks on `rateLimits.rules`: required positive numbers, a
/// known label format and audience, and no rule that repeats or shadows an
/// earlier one (`label@@audience` prefixes).
fn rate_limit_errors(v: &Value) -> Option<Value> {
    let rl = v.get("rateLimits")?;
    let rules = rl
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let enabled = rl.get("enabled").and_then(Value::as_bool) == Some(true);
    if rules.is_empty() {
        return enabled.then(|| FieldError::required().to_json());
    }
    let min1 = || {
        FieldError::new(
            "validation_min_greater_equal_than_required",
            "Must be no less than 1.",
        )
        .with_params(serde_json::json!({"threshold": 1}))
        .to_json()
    };
    let mut out = Map::new();
    let mut keys: Vec<String> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let mut e = Map::new();
        let label = r.get("label").and_then(Value::as_str).unwrap_or_default();
        let audience = r
            .get("audience")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for k in ["duration", "maxRequests"] {
            match r.get(k).and_then(Value::as_i64).unwrap_or(0) {
                0 => {
                    e.insert(k.into(), FieldError::required().to_json());
                }
                n if n < 0 => {
                    e.insert(k.into(), min1());
                }
                _ => {}
            }
        }
        let key = format!("{label}@@{audience}");
        if label.is_empty() {
            e.insert("label".into(), FieldError::required().to_json());
        } else if !crate::http::ratelimit::valid_label(label) {
            e.insert(
                "label".into(),
                FieldError::new("validation_match_invalid", "Must be in a valid format.").to_json(),
            );
        } else if keys
            .iter()
            .any(|k| k.starts_with(&key) || key.starts_with(k.as_str()))
        {
            e.insert(
                "label".into(),
                FieldError::new(
                    "validation_conflicting_rate_limit_rule",
                    format!(
                        "Rate limit rule configuration with label {label} already exists or conflicts with another rule."
                    ),
                )
                .with_params(serde_json::json!({"label": label}))
                .to_json(),
            );
        }
        keys.push(key);
        if !matches!(audience, "" | "@guest" | "@auth") {
            e.insert(
                "audience".into(),
                FieldError::new("validation_in_invalid", "Must be a valid value.").to_json(),
            );
        }
        if !e.is_empty() {
            out.insert(i.to_string(), Value::Object(e));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Numbers in rate-limit rules must be integers (PocketBase fails to load
/// the body otherwise).
fn loadable(patch: &Value) -> bool {
    let rules = patch
        .pointer("/rateLimits/rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    rules.iter().all(|r| {
        ["duration", "maxRequests"].iter().all(|k| {
            r.get(*k)
                .is_none_or(|n| n.is_null() || n.is_i64() || n.is_u64())
        })
    })
}

/// Merges `patch` into the stored settings and returns the whole object,
/// secrets included (callers answer with `public`).
pub async fn patch(store: &Store, patch: Value) -> Result<Value, Error> {
    if !patch.is_object() || !loadable(&patch) {
        return Err(Error::bad(
            "An error occurred while loading the submitted data.",
        ));
    }
    let postgres = store.is_postgres();
    let saved = store
        .write_again(move |ctx| {
            let mut cur = settings::load_for_update(ctx.conn)?;
            settings::merge(&mut cur, &patch);
            // Rules saved without an audience apply to everyone ("").
            if let Some(rules) = cur
                .pointer_mut("/rateLimits/rules")
                .and_then(Value::as_array_mut)
            {
                for r in rules.iter_mut().filter_map(Value::as_object_mut) {
                    r.entry("audience")
                        .or_insert_with(|| Value::String(String::new()));
                }
            }
            let errors = validate(&cur, postgres);
            if !errors.is_empty() {
                return Err(Error::invalid(
                    "An error occurred while saving the new settings.",
                    errors,
                ));
            }
            settings::save(ctx.conn, &cur, &datetime::now())?;
            Ok(cur)
        })
        .await?;
    Ok(saved)
}
