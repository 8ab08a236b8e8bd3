//! Settings: application, mail (with a test email), rate limits, batch and
//! trusted proxies. Saves go through `service::settings::patch`, like
//! `PATCH /api/settings`; secrets are write-only (blank keeps them).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::service::settings as svc;

fn list(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn split(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Rate-limit rules as lines: `label audience duration maxRequests`.
fn rules_text(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let aud = r["audience"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .unwrap_or("-");
                    format!(
                        "{} {aud} {} {}",
                        r["label"].as_str().unwrap_or_default(),
                        r["duration"],
                        r["maxRequests"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn parse_rules(s: &str) -> Value {
    Value::from(
        s.lines()
            .filter_map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                let [label, aud, d, m] = p.as_slice() else { return None };
                let aud = if *aud == "-" { "" } else { aud };
                Some(json!({"label": label, "audience": aud,
                    "duration": d.parse::<i64>().unwrap_or(0), "maxRequests": m.parse::<i64>().unwrap_or(0)}))
            })
            .collect::<Vec<_>>(),
    )
}

fn render(
    app: &App,
    admin: &Admin,
    s: &Value,
    errors: &Value,
    message: &str,
    status: StatusCode,
) -> Response {
    let ctx = with(
        base(app, admin, "/_/settings", ""),
        json!({
            "title": "Settings", "s": s, "errors": errors, "message": message,
            "superuser_ips": list(&s["superuserIPs"]),
            "excluded_ips": list(&s["rateLimits"]["excludedIPs"]),
            "rate_rules": rules_text(&s["rateLimits"]["rules"]),
            "proxy_headers": list(&s["trustedProxy"]["headers"]),
        }),
    );
    view::render_status(status, "settings.html", ctx)
}

pub async fn page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let s = svc::get(&app.store).unwrap_or_default();
    let msg = q.get("msg").cloned().unwrap_or_default();
    render(&app, &admin, &s, &Value::Null, &msg, StatusCode::OK)
}

fn patch_of(form: &Form) -> Value {
    let int = |k: &str| form.text(k).trim().parse::<i64>().unwrap_or(0);
    let mut smtp = json!({
        "enabled": form.flag("smtp.enabled"), "host": form.text("smtp.host"), "port": int("smtp.port"),
        "username": form.text("smtp.username"), "tls": form.flag("smtp.tls"),
        "authMethod": form.text("smtp.authMethod"), "localName": form.text("smtp.localName"),
    });
    let pw = form.text("smtp.password");
    if !pw.is_empty() {
        smtp["password"] = pw.into();
    }
    json!({
        "meta": {
            "appName": form.text("meta.appName"), "appURL": form.text("meta.appURL"),
            "senderName": form.text("meta.senderName"), "senderAddress": form.text("meta.senderAddress"),
            "hideControls": form.flag("meta.hideControls"),
        },
        "smtp": smtp,
        "superuserIPs": split(&form.text("superuserIPs")),
        "rateLimits": {
            "enabled": form.flag("rateLimits.enabled"),
            "rules": parse_rules(&form.text("rateLimits.rules")),
            "excludedIPs": split(&form.text("rateLimits.excludedIPs")),
        },
        "batch": {
            "enabled": form.flag("batch.enabled"), "maxRequests": int("batch.maxRequests"),
            "timeout": int("batch.timeout"), "maxBodySize": int("batch.maxBodySize"),
        },
        "trustedProxy": {
            "headers": split(&form.text("trustedProxy.headers")),
            "useLeftmostIP": form.flag("trustedProxy.useLeftmostIP"),
        },
    })
}

pub async fn submit(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    if form.text("action") == "test_email" {
        return test_email(&app, &form).await;
    }
    let patch = patch_of(&form);
    match svc::patch(&app.store, patch.clone()).await {
        Ok(saved) => {
            app.set_settings(saved);
            Redirect::to("/_/settings?msg=Settings+saved.").into_response()
        }
        Err(e) => {
            let (status, message, data) = e.parts();
            let mut shown = svc::get(&app.store).unwrap_or_default();
            crate::store::settings::merge(&mut shown, &patch);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            render(
                &app,
                &admin,
                &svc::public(&shown),
                &Value::Object(data),
                &message,
                status,
            )
        }
    }
}

/// Sends a test mail with the saved SMTP settings and says what happened.
async fn test_email(app: &App, form: &Form) -> Response {
    let to = form.text("test_to");
    let mail = crate::mail::Mail {
        to: to.clone(),
        subject: format!("{}: test email", super::shell::app_name(app)),
        html: "<p>This is a test email sent from the Cairn dashboard.</p>".into(),
        more: None,
    };
    let msg = match crate::mail::send(&app.settings(), &mail).await {
        Ok(()) if app.settings().pointer("/smtp/enabled") != Some(&Value::Bool(true)) => {
            "SMTP is disabled: enable and save the mail settings first.".to_owned()
        }
        Ok(()) => format!("Test email sent to {to}."),
        Err(e) => format!("The test email could not be sent: {e}"),
    };
    Redirect::to(&format!("/_/settings?msg={}", view::urlencode(&msg))).into_response()
}
