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

fn validate(v: &Value) -> Map<String, Value> {
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
    errors
}

/// Merges `patch` into the stored settings and returns the whole object.
pub async fn patch(store: &Store, patch: Value) -> Result<Value, Error> {
    if !patch.is_object() {
        return Err(Error::bad(
            "An error occurred while loading the submitted data.",
        ));
    }
    let saved = store
        .write(move |ctx| {
            let mut cur = settings::load(ctx.conn)?;
            settings::merge(&mut cur, &patch);
            let errors = validate(&cur);
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
    Ok(public(&saved))
}
