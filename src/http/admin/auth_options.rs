//! The auth options of an auth collection (sign-in methods, MFA, token
//! durations) as one table driving both the form and the JSON it saves.
//! OAuth2 providers and mail templates keep their JSON through the API.

use serde_json::{Value, json};

use super::fields::Opt;
use super::view::Form;

/// (JSON path under the collection, label, kind).
const OPTIONS: &[(&str, &str, Opt)] = &[
    ("passwordAuth/enabled", "Password sign-in", Opt::Bool),
    (
        "passwordAuth/identityFields",
        "Identity fields (comma-separated)",
        Opt::List,
    ),
    (
        "otp/enabled",
        "One-time passwords by email (OTP)",
        Opt::Bool,
    ),
    ("otp/duration", "OTP lifetime (seconds)", Opt::Int),
    ("otp/length", "OTP length", Opt::Int),
    (
        "mfa/enabled",
        "Multi-factor authentication (MFA)",
        Opt::Bool,
    ),
    ("mfa/duration", "MFA step lifetime (seconds)", Opt::Int),
    ("mfa/rule", "MFA rule (blank: everyone)", Opt::Text),
    (
        "authAlert/enabled",
        "Email an alert on sign-in from a new location",
        Opt::Bool,
    ),
    ("oauth2/enabled", "OAuth2 sign-in", Opt::Bool),
    (
        "authToken/duration",
        "Auth token lifetime (seconds)",
        Opt::Int,
    ),
    (
        "verificationToken/duration",
        "Verification token lifetime (seconds)",
        Opt::Int,
    ),
    (
        "passwordResetToken/duration",
        "Password reset token lifetime (seconds)",
        Opt::Int,
    ),
    (
        "emailChangeToken/duration",
        "Email change token lifetime (seconds)",
        Opt::Int,
    ),
    (
        "fileToken/duration",
        "File token lifetime (seconds)",
        Opt::Int,
    ),
];

fn input_name(path: &str) -> String {
    format!("auth.{}", path.replace('/', "."))
}

/// The options as template rows.
pub fn rows(j: &Value) -> Vec<Value> {
    OPTIONS
        .iter()
        .map(|(path, label, kind)| {
            let v = j
                .pointer(&format!("/{path}"))
                .cloned()
                .unwrap_or(Value::Null);
            let (k, value) = match kind {
                Opt::Bool => ("bool", String::new()),
                Opt::List => (
                    "text",
                    v.as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default(),
                ),
                Opt::Int | Opt::Num => (
                    "number",
                    v.as_i64().map(|n| n.to_string()).unwrap_or_default(),
                ),
                _ => ("text", v.as_str().unwrap_or_default().to_owned()),
            };
            json!({"name": input_name(path), "label": label, "kind": k, "value": value,
                "checked": v.as_bool().unwrap_or(false)})
        })
        .collect()
}

/// Writes the submitted options into the collection JSON.
pub fn apply(form: &Form, j: &mut Value) {
    for (path, _, kind) in OPTIONS {
        let name = input_name(path);
        let v = match kind {
            Opt::Bool => Value::Bool(form.flag(&name)),
            Opt::List => Value::from(
                form.text(&name)
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            ),
            Opt::Int | Opt::Num => match form.text(&name).trim().parse::<i64>() {
                Ok(n) => n.into(),
                Err(_) => continue,
            },
            _ => form.text(&name).into(),
        };
        let (group, key) = path.split_once('/').unwrap_or((path, ""));
        if !j[group].is_object() {
            j[group] = json!({});
        }
        j[group][key] = v;
    }
}
