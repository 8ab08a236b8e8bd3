//! "Your account" (`/_/account`): a superuser changes their own password and
//! turns their authenticator app (TOTP) on or off.
//!
//! Every superuser reaches it, scoped ones included: a scoped superuser
//! cannot open `_superusers` (it is outside every scope), so without this
//! page they could not change their password at all. The current password
//! is asked first, so a session left open cannot be used to lock its owner
//! out; attempts (and authenticator codes) are limited like sign-in. The
//! change goes through the records service as
//! `PATCH /api/collections/_superusers/records/ID` does (same validation, a
//! new `tokenKey`), so every API token and every other dashboard session of
//! this superuser ends; this session is moved to the new key under a new
//! session id, so the person who changed it stays in. The authenticator
//! uses `service::auth::totp`, as `/api/collections/_superusers/totp-*`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};
use tower_sessions::Session;

use super::session::{self, Admin, K_KEY};
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::schema::validate::FieldError;
use crate::service::auth::{self, Verified, sys, totp};
use crate::service::{Error, records as svc};

/// Attempts (current password or authenticator code) per superuser per minute.
const ATTEMPTS: usize = 20;

const CHANGED: &str = "Password changed. Your other dashboard sessions and API tokens have ended.";

/// What the page shows besides the forms.
#[derive(Default)]
struct Shown {
    errors: Map<String, Value>,
    message: String,
    /// A started authenticator setup: `{secret, url}`.
    setup: Value,
    /// Recovery codes, shown once after confirming.
    recovery: Value,
}

fn render(app: &App, admin: &Admin, shown: Shown, status: StatusCode) -> Response {
    let enrolled = totp::enrolled(app, &admin.id).unwrap_or(false);
    let ctx = with(
        base(app, admin, "/_/account", ""),
        json!({
            "title": "Your account", "errors": shown.errors, "message": shown.message,
            "enrolled": enrolled, "setup": shown.setup, "recovery": shown.recovery,
        }),
    );
    view::render_status(status, "account.html", ctx)
}

fn field(name: &str, code: &'static str, msg: &str) -> Map<String, Value> {
    Map::from_iter([(name.to_owned(), FieldError::new(code, msg).to_json())])
}

fn shown_error(e: Error, field_name: &str) -> (Shown, StatusCode) {
    let (status, message, mut data) = e.parts();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    if data.is_empty() {
        data = field(field_name, "validation_invalid", &message);
    }
    let shown = Shown {
        errors: data,
        message: "Nothing was changed.".into(),
        ..Shown::default()
    };
    (shown, status)
}

pub async fn page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let message = match q.get("done").map(String::as_str) {
        Some("password") => CHANGED,
        Some("totp-off") => "The authenticator app is turned off.",
        _ => "",
    };
    let shown = Shown {
        message: message.into(),
        ..Shown::default()
    };
    render(&app, &admin, shown, StatusCode::OK)
}

pub async fn submit(
    State(app): State<Arc<App>>,
    session: Session,
    admin: Admin,
    form: Form,
) -> Response {
    let key = format!("admin-account\0{}", admin.id.id());
    let window = std::time::Duration::from_secs(60);
    if !app.throttle.allow(&key, ATTEMPTS, window) {
        let shown = Shown {
            message: "Too many attempts, please try again later.".into(),
            errors: field("form", "too_many", "Too many attempts."),
            ..Shown::default()
        };
        return render(&app, &admin, shown, StatusCode::TOO_MANY_REQUESTS);
    }
    match form.text("action").as_str() {
        "totp_setup" => totp_setup(&app, &admin).await,
        "totp_confirm" => totp_confirm(&app, &admin, &form).await,
        "totp_disable" => totp_disable(&app, &admin, &form).await,
        _ => change_password(&app, &session, &admin, &form).await,
    }
}

async fn change_password(app: &App, session: &Session, admin: &Admin, form: &Form) -> Response {
    let c = Arc::clone(&admin.id.collection);
    let hash = admin.id.record.get("password").and_then(Value::as_str);
    let current = form.text("currentPassword");
    let cost = auth::password_cost(&c);
    if auth::verify_password_cost(current, hash.map(str::to_owned), cost).await == Verified::No {
        let msg = "The current password is not correct.";
        let e = Error::invalid(
            "Nothing was changed.",
            field("currentPassword", "validation_invalid_password", msg),
        );
        let (shown, status) = shown_error(e, "currentPassword");
        return render(app, admin, shown, status);
    }
    let body = Map::from_iter([
        ("password".to_owned(), form.text("password").into()),
        (
            "passwordConfirm".to_owned(),
            form.text("passwordConfirm").into(),
        ),
    ]);
    let (actor, req) = super::records::actor_req(app, admin);
    let id = admin.id.id().to_owned();
    let saved = svc::update(&app.store, Arc::clone(&c), &actor, &req, id.clone(), body).await;
    app.realtime_flush().await;
    if let Err(e) = saved {
        let (shown, status) = shown_error(e, "password");
        return render(app, admin, shown, status);
    }
    // The new tokenKey ended every session of this superuser: keep this one.
    let rec = app
        .store
        .read(|conn| crate::store::records::get(conn, &c, &id))
        .ok()
        .flatten();
    let Some(rec) = rec.filter(|r| sys::text(r, "id") == id) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let kept = async {
        session.cycle_id().await?;
        session.insert(K_KEY, session::key_digest(&rec)).await
    };
    if kept.await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Redirect::to("/_/account?done=password").into_response()
}

/// Starts (or restarts) an enrolment and shows its secret and URL.
async fn totp_setup(app: &App, admin: &Admin) -> Response {
    match totp::setup(app, &admin.id).await {
        Ok(setup) => {
            let shown = Shown {
                setup,
                ..Shown::default()
            };
            render(app, admin, shown, StatusCode::OK)
        }
        Err(e) => {
            let (shown, status) = shown_error(e, "code");
            render(app, admin, shown, status)
        }
    }
}

/// Confirms the enrolment with a first code; shows the recovery codes once.
/// A wrong code shows the same secret again (echoed from the form: it is
/// only displayed, the stored enrolment is what the code is checked against).
async fn totp_confirm(app: &App, admin: &Admin, form: &Form) -> Response {
    match totp::confirm(app, &admin.id, &form.text("code")).await {
        Ok(v) => {
            let shown = Shown {
                message: "The authenticator app is on: signing in now asks for its code.".into(),
                recovery: v["recoveryCodes"].clone(),
                ..Shown::default()
            };
            render(app, admin, shown, StatusCode::OK)
        }
        Err(e) => {
            let (mut shown, status) = shown_error(e, "code");
            let url = Some(form.text("url")).filter(|u| u.starts_with("otpauth://"));
            shown.setup = json!({"secret": form.text("secret"), "url": url});
            render(app, admin, shown, status)
        }
    }
}

/// Turns the authenticator off after checking a current or recovery code.
async fn totp_disable(app: &App, admin: &Admin, form: &Form) -> Response {
    match totp::disable(app, &admin.id, Some(&form.text("code"))).await {
        Ok(()) => Redirect::to("/_/account?done=totp-off").into_response(),
        Err(e) => {
            let (shown, status) = shown_error(e, "code");
            render(app, admin, shown, status)
        }
    }
}
