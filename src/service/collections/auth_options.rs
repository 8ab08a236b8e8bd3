//! Validation of an auth collection's options, with PocketBase's codes:
//! identity fields need a UNIQUE index, MFA needs two sign-in methods, OTP
//! codes live at least 10 s, OAuth2 providers must be known, complete and
//! unique. Secrets a client cannot see (`clientSecret`) are kept when a
//! provider is saved back without one.

use serde_json::{Map, Value, json};

use super::definition::err;
use crate::schema::validate::{FieldError, url_host};
use crate::schema::{Collection, index};
use crate::service::auth::oauth2::known_provider;

fn enabled(c: &Collection, key: &str) -> bool {
    c.options
        .get(key)
        .and_then(|o| o.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Carries stored `clientSecret`s over to same-named providers sent without one.
pub(super) fn keep_secrets(base: &Collection, c: &mut Collection) {
    let old: Vec<Value> = base
        .options
        .get("oauth2")
        .and_then(|o| o.get("providers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(list) = c
        .options
        .get_mut("oauth2")
        .and_then(|o| o.get_mut("providers"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for p in list.iter_mut().filter_map(Value::as_object_mut) {
        let blank = p
            .get("clientSecret")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if !blank {
            continue;
        }
        let secret = old
            .iter()
            .find(|o| o.get("name") == p.get("name"))
            .and_then(|o| o.get("clientSecret"))
            .cloned();
        if let Some(s) = secret {
            p.insert("clientSecret".into(), s);
        }
    }
}

fn has_unique_index(c: &Collection, field: &str) -> bool {
    let has = |n: &str| c.field(n).is_some();
    c.indexes.iter().any(|s| {
        index::parse(s, &has).is_ok_and(|d| {
            d.unique && d.columns.len() == 1 && d.columns[0].name.eq_ignore_ascii_case(field)
        })
    })
}

fn identity_errors(c: &Collection) -> Option<Value> {
    if !c.password_auth_enabled() {
        return None;
    }
    let fields = c.identity_fields();
    if fields.is_empty() {
        return Some(FieldError::required().to_json());
    }
    for f in &fields {
        if c.field(f).is_none() {
            return Some(
                FieldError::new(
                    "validation_missing_field",
                    format!("Invalid or missing field {f}."),
                )
                .with_params(json!({"fieldName": f}))
                .to_json(),
            );
        }
        // `email` always gets its unique index (added on create if missing).
        if f != "email" && !has_unique_index(c, f) {
            return Some(
                FieldError::new(
                    "validation_missing_unique_constraint",
                    format!("The field {f} doesn't have a UNIQUE constraint."),
                )
                .with_params(json!({"fieldName": f}))
                .to_json(),
            );
        }
    }
    None
}

fn provider_errors(c: &Collection) -> Map<String, Value> {
    let mut out = Map::new();
    if !enabled(c, "oauth2") {
        return out;
    }
    let list = c
        .options
        .get("oauth2")
        .and_then(|o| o.get("providers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
        let name = s("name");
        let mut e = Map::new();
        if !known_provider(name) {
            e.insert(
                "name".into(),
                FieldError::new(
                    "validation_missing_provider",
                    format!("Invalid or missing provider with name {name}."),
                )
                .with_params(json!({"name": name}))
                .to_json(),
            );
        } else if seen.contains(&name) {
            e.insert(
                "name".into(),
                FieldError::new(
                    "validation_duplicated_provider",
                    format!("The provider {name} is already registered."),
                )
                .with_params(json!({"name": name}))
                .to_json(),
            );
        } else {
            for k in ["clientId", "clientSecret"] {
                if s(k).is_empty() {
                    e.insert(k.into(), FieldError::required().to_json());
                }
            }
            for k in ["authURL", "tokenURL", "userInfoURL"] {
                let v = s(k);
                if !v.is_empty() && (!v.contains("://") || url_host(v).is_none()) {
                    e.insert(k.into(), err("validation_is_url", "Must be a valid URL."));
                }
            }
        }
        seen.push(name);
        if !e.is_empty() {
            out.insert(i.to_string(), Value::Object(e));
        }
    }
    out
}

/// Blanks `mappedFields` entries that name no field (PocketBase does this
/// silently).
fn clean_mapped_fields(c: &mut Collection) {
    let names: Vec<String> = c.fields.iter().map(|f| f.name.clone()).collect();
    if let Some(m) = c
        .options
        .get_mut("oauth2")
        .and_then(|o| o.get_mut("mappedFields"))
        .and_then(Value::as_object_mut)
    {
        for v in m.values_mut() {
            if v.as_str()
                .is_some_and(|s| !s.is_empty() && !names.iter().any(|n| n == s))
            {
                *v = Value::String(String::new());
            }
        }
    }
}

/// Gives every provider PocketBase's stored shape: `pkce` null when not
/// given, empty strings and an empty `extra` object by default.
fn normalize_providers(c: &mut Collection) {
    let Some(list) = c
        .options
        .get_mut("oauth2")
        .and_then(|o| o.get_mut("providers"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for p in list.iter_mut() {
        let Value::Object(m) = p else { continue };
        let mut out = Map::new();
        out.insert("pkce".into(), m.get("pkce").cloned().unwrap_or(Value::Null));
        for k in [
            "name",
            "clientId",
            "clientSecret",
            "authURL",
            "tokenURL",
            "userInfoURL",
            "displayName",
        ] {
            let v = m.get(k).and_then(Value::as_str).unwrap_or_default();
            out.insert(k.into(), v.into());
        }
        let extra = m.get("extra").filter(|v| v.is_object()).cloned();
        out.insert("extra".into(), extra.unwrap_or_else(|| json!({})));
        *p = Value::Object(out);
    }
}

/// Adds the auth options' errors to `errors`.
pub(super) fn validate(c: &mut Collection, errors: &mut Map<String, Value>) {
    if !c.is_auth() {
        return;
    }
    normalize_providers(c);
    clean_mapped_fields(c);
    if let Some(e) = identity_errors(c) {
        errors.insert("passwordAuth".into(), json!({ "identityFields": e }));
    }
    if enabled(c, "otp") {
        let d = c
            .options
            .get("otp")
            .and_then(|o| o.get("duration"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if d < 10 {
            let e = FieldError::new(
                "validation_min_greater_equal_than_required",
                "Must be no less than 10.",
            )
            .with_params(json!({"threshold": 10}));
            errors.insert("otp".into(), json!({ "duration": e.to_json() }));
        }
    }
    if enabled(c, "mfa") {
        let methods =
            c.password_auth_enabled() as u8 + enabled(c, "otp") as u8 + enabled(c, "oauth2") as u8;
        if methods < 2 {
            let e = FieldError::new(
                "validation_mfa_not_enough_auths",
                "MFA requires at least 2 auth methods to be enabled.",
            );
            errors.insert("mfa".into(), json!({ "enabled": e.to_json() }));
        }
    }
    let providers = provider_errors(c);
    if !providers.is_empty() {
        errors.insert("oauth2".into(), json!({ "providers": providers }));
    }
    template_errors(c, errors);
}

/// Every mail template needs a subject and a body, enabled or not
/// (PocketBase 0.40: `validation_required` under the template's path).
fn template_errors(c: &Collection, errors: &mut Map<String, Value>) {
    let blank = |t: Option<&Value>| -> Map<String, Value> {
        let mut e = Map::new();
        for k in ["body", "subject"] {
            let s = t.and_then(|t| t.get(k)).and_then(Value::as_str);
            if s.is_none_or(str::is_empty) {
                e.insert(k.into(), FieldError::required().to_json());
            }
        }
        e
    };
    for key in [
        "verificationTemplate",
        "resetPasswordTemplate",
        "confirmEmailChangeTemplate",
    ] {
        let e = blank(c.options.get(key));
        if !e.is_empty() {
            errors.insert(key.into(), Value::Object(e));
        }
    }
    for key in ["otp", "authAlert"] {
        let e = blank(c.options.get(key).and_then(|o| o.get("emailTemplate")));
        if !e.is_empty() {
            let slot = errors.entry(key).or_insert_with(|| json!({}));
            slot["emailTemplate"] = Value::Object(e);
        }
    }
}
