//! An auth collection's OAuth2 providers and mail templates
//! (`/_/collections/NAME/auth-config`), saved through the same
//! `collections::update` as `PATCH /api/collections/NAME`, whose
//! PocketBase-shaped errors appear next to their inputs.
//!
//! A client secret is write-only: the form never shows it, and a provider
//! saved with the box left blank keeps its stored secret (the service's
//! `keep_secrets`). "Preview" renders a template with sample values through
//! the mailer's own renderer into a sandboxed `iframe` (no scripts, and the
//! page's CSP still applies), without saving. Which fields a sign-up by
//! OAuth2 fills (`mappedFields`) is chosen here too (`oauth2_map.rs`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::oauth2_map;
use super::records::find;
use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::mail::template::{self, Vars};
use crate::schema::Collection;
use crate::service::auth::providers;
use crate::service::collections as svc;

/// Provider text inputs: (key, label).
const PROVIDER_INPUTS: &[(&str, &str)] = &[
    ("displayName", "Display name"),
    ("clientId", "Client ID"),
    ("authURL", "Auth URL (blank: the provider's)"),
    ("tokenURL", "Token URL (blank: the provider's)"),
    ("userInfoURL", "User info URL (blank: the provider's)"),
];
/// Inputs for a provider's `extra` options (PocketBase's OIDC id_token
/// checks, service/auth/id_token.rs): (form key, label).
const EXTRA_INPUTS: &[(&str, &str)] = &[
    (
        "extra.jwksURL",
        "JWKS URL (OIDC, checks the id_token signature)",
    ),
    ("extra.issuers", "Allowed issuers (OIDC, comma-separated)"),
];
/// Mail templates: (form key, JSON path, label).
const TEMPLATES: &[(&str, &[&str], &str)] = &[
    ("verification", &["verificationTemplate"], "Verification"),
    ("reset", &["resetPasswordTemplate"], "Password reset"),
    (
        "email",
        &["confirmEmailChangeTemplate"],
        "Email change confirmation",
    ),
    ("otp", &["otp", "emailTemplate"], "One-time password (OTP)"),
    ("alert", &["authAlert", "emailTemplate"], "Login alert"),
];

/// The provider picker: every name PocketBase knows, with its display name.
fn known_providers() -> Vec<Value> {
    providers::PRESETS
        .iter()
        .map(|p| json!({"name": p.name, "label": format!("{} ({})", p.display, p.name)}))
        .collect()
}

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn set(v: &mut Value, path: &[&str], x: Value) {
    let mut cur = v;
    for k in path {
        if !cur[*k].is_object() {
            cur[*k] = json!({});
        }
        cur = &mut cur[*k];
    }
    *cur = x;
}

fn message(errors: &Value, path: &[&str]) -> String {
    at(errors, path)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The collection JSON the form stands for (starting from the stored one).
fn apply(c: &Collection, form: &Form) -> Value {
    let mut j = c.to_json();
    let old = j["oauth2"]["providers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rows: usize = form.text("providers").parse().unwrap_or(0).min(50);
    let mut list = Vec::new();
    for i in 0..rows {
        let f = |k: &str| form.text(&format!("p.{i}.{k}")).trim().to_owned();
        let name = f("name");
        if name.is_empty() || form.flag(&format!("p.{i}.remove")) {
            continue;
        }
        let mut p = old
            .iter()
            .find(|o| o["name"] == name.as_str())
            .cloned()
            .unwrap_or_else(|| json!({}));
        p["name"] = name.into();
        for (k, _) in PROVIDER_INPUTS {
            p[*k] = f(k).into();
        }
        apply_extra(&mut p, &f("extra.jwksURL"), &f("extra.issuers"));
        let secret = f("clientSecret");
        p["clientSecret"] = secret.into();
        p["pkce"] = match f("pkce").as_str() {
            "on" => true.into(),
            "off" => false.into(),
            _ => Value::Null,
        };
        list.push(p);
    }
    set(&mut j, &["oauth2", "providers"], Value::Array(list));
    j["oauth2"]["enabled"] = form.flag("oauth2.enabled").into();
    oauth2_map::apply(form, &mut j);
    for (key, path, _) in TEMPLATES {
        let t = json!({
            "subject": form.text(&format!("t.{key}.subject")),
            "body": form.text(&format!("t.{key}.body")),
        });
        set(&mut j, path, t);
    }
    j
}

/// Writes the `extra` inputs into a provider: `jwksURL` and `issuers` (a
/// list) set, or removed when blank; other `extra` keys are kept.
fn apply_extra(p: &mut Value, jwks: &str, issuers: &str) {
    if !p["extra"].is_object() {
        p["extra"] = json!({});
    }
    let Some(extra) = p["extra"].as_object_mut() else {
        return;
    };
    let list: Vec<Value> = issuers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Value::from)
        .collect();
    for (key, value) in [
        ("jwksURL", (!jwks.is_empty()).then(|| Value::from(jwks))),
        ("issuers", (!list.is_empty()).then_some(Value::Array(list))),
    ] {
        match value {
            Some(v) => extra.insert(key.into(), v),
            None => extra.remove(key),
        };
    }
}

/// The `extra` inputs' values of a provider.
fn extra_values(p: &Value) -> [String; 2] {
    let issuers = match &p["extra"]["issuers"] {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let jwks = p["extra"]["jwksURL"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    [jwks, issuers]
}

/// Sample values for a preview: the app's name and URL, and a sample record.
fn sample(app: &App) -> Vars {
    let mut record = Map::new();
    record.insert("id".into(), "RECORD_ID".into());
    record.insert("email".into(), "user@example.com".into());
    record.insert("name".into(), "Sample User".into());
    Vars {
        token: "SAMPLE_TOKEN".into(),
        otp: "12345678".into(),
        otp_id: "SAMPLE_OTP_ID".into(),
        alert_info: "Chrome on Linux, 203.0.113.7".into(),
        record,
        ..crate::service::auth::app_vars(&app.settings())
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    app: &App,
    admin: &Admin,
    c: &Collection,
    j: &Value,
    errors: &Value,
    msg: (&str, &str),
    preview: Option<&str>,
    status: StatusCode,
) -> Response {
    let stored = c.to_stored_json();
    let old = stored["oauth2"]["providers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut providers: Vec<Value> = j["oauth2"]["providers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let pe = &errors["oauth2"]["providers"][n.to_string()];
            let mut inputs: Vec<Value> = PROVIDER_INPUTS
                .iter()
                .map(|(k, l)| json!({"key": k, "label": l, "value": p[*k], "error": message(pe, &[k])}))
                .collect();
            for ((k, l), v) in EXTRA_INPUTS.iter().zip(extra_values(p)) {
                inputs.push(json!({"key": k, "label": l, "value": v}));
            }
            let has_secret = old.iter().any(|o| {
                o["name"] == p["name"] && o["clientSecret"].as_str().is_some_and(|s| !s.is_empty())
            });
            json!({"name": p["name"], "inputs": inputs, "has_secret": has_secret,
                "pkce": match p["pkce"] { Value::Bool(true) => "on", Value::Bool(false) => "off", _ => "" },
                "name_error": message(pe, &["name"]), "secret_error": message(pe, &["clientSecret"])})
        })
        .collect();
    // One blank row to add a provider.
    providers.push(json!({"name": "", "new": true, "pkce": "",
        "inputs": PROVIDER_INPUTS.iter().chain(EXTRA_INPUTS).map(|(k, l)| json!({"key": k, "label": l, "value": ""})).collect::<Vec<_>>()}));
    for (i, p) in providers.iter_mut().enumerate() {
        p["row"] = i.into();
    }
    let vars = sample(app);
    let templates: Vec<Value> = TEMPLATES
        .iter()
        .map(|(key, path, label)| {
            let t = at(j, path);
            let te = at(errors, path);
            let (subject, body) = (
                t["subject"].as_str().unwrap_or_default(),
                t["body"].as_str().unwrap_or_default(),
            );
            let shown = preview == Some(*key);
            json!({"key": key, "label": label, "subject": subject, "body": body,
                "subject_error": message(te, &["subject"]), "body_error": message(te, &["body"]),
                "preview": shown,
                "preview_subject": if shown { template::render(subject, &vars) } else { String::new() },
                "preview_html": if shown { template::render(body, &vars) } else { String::new() }})
        })
        .collect();
    let ctx = with(
        base(app, admin, "/_/collections", &c.name),
        json!({
            "title": format!("Auth config: {}", c.name),
            "collection": c.name,
            "oauth2_enabled": j["oauth2"]["enabled"].as_bool().unwrap_or(false),
            "providers": providers, "known": known_providers(),
            "mapped": oauth2_map::rows(c, j, errors),
            "templates": templates,
            "message": msg.0, "flash": msg.1,
        }),
    );
    view::render_status(status, "auth_config.html", ctx)
}

fn auth_collection(app: &App, name: &str) -> Option<Arc<Collection>> {
    find(app, name).filter(|c| c.is_auth())
}

pub async fn page(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    uri: Uri,
    admin: Admin,
) -> Response {
    let Some(c) = auth_collection(&app, &name) else {
        return super::shell::not_found(State(app), admin).await;
    };
    let saved = view::query_pairs(&uri).iter().any(|(k, _)| k == "saved");
    let j = c.to_json();
    let flash = if saved { "Auth config saved." } else { "" };
    render(
        &app,
        &admin,
        &c,
        &j,
        &Value::Null,
        ("", flash),
        None,
        StatusCode::OK,
    )
}

pub async fn submit(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    admin: Admin,
    form: Form,
) -> Response {
    let Some(c) = auth_collection(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let j = apply(&c, &form);
    let action = form.text("action");
    if let Some(key) = action.strip_prefix("preview:") {
        let none = Value::Null;
        return render(
            &app,
            &admin,
            &c,
            &j,
            &none,
            ("", ""),
            Some(key),
            StatusCode::OK,
        );
    }
    match svc::update(&app.store, Arc::clone(&c), j.clone()).await {
        Ok(_) => Redirect::to(&format!(
            "/_/collections/{}/auth-config?saved=1",
            view::urlencode(&c.name)
        ))
        .into_response(),
        Err(e) => {
            let (status, message, data) = e.parts();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let errors = Value::Object(data);
            render(&app, &admin, &c, &j, &errors, (&message, ""), None, status)
        }
    }
}
