//! The public pages PocketBase's mail templates and OAuth2 redirect link
//! to (`/_/#/auth/confirm-password-reset/TOKEN` and friends). The browser
//! module maps those fragments to these routes; they need no dashboard
//! session and call the same flows as `/api/collections/*/confirm-*`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tower_sessions::Session;

use super::session;
use super::view::{self, Form};
use crate::app::App;
use crate::schema::Collection;
use crate::service::auth::flows;

/// The auth collection a token names (its signature is checked by the flow).
fn collection_of(app: &App, token: &str) -> Option<Arc<Collection>> {
    let t =
        jsonwebtoken::dangerous::insecure_decode::<serde_json::Map<String, Value>>(token).ok()?;
    let id = t.claims.get("collectionId")?.as_str()?;
    app.store.schema().get(id).filter(|c| c.is_auth())
}

fn ctx(app: &App, csrf: &str, kind: &str, title: &str, error: &str, done: bool) -> Value {
    json!({
        "app_name": super::shell::app_name(app),
        "title": title, "kind": kind, "csrf": csrf, "error": error, "done": done,
    })
}

async fn show(app: &App, session: &Session, kind: &str, title: &str) -> Response {
    let csrf = session::csrf_token(session).await;
    view::render("link.html", ctx(app, &csrf, kind, title, "", false))
}

/// The outcome of a submitted link form.
async fn outcome(
    app: &App,
    session: &Session,
    kind: &str,
    title: &str,
    r: Result<(), String>,
) -> Response {
    let csrf = session::csrf_token(session).await;
    match r {
        Ok(()) => view::render("link.html", ctx(app, &csrf, kind, title, "", true)),
        Err(e) => view::render_status(
            StatusCode::BAD_REQUEST,
            "link.html",
            ctx(app, &csrf, kind, title, &e, false),
        ),
    }
}

fn message(e: crate::service::Error) -> String {
    let (_, msg, data) = e.parts();
    let details: Vec<String> = data
        .values()
        .filter_map(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if details.is_empty() {
        msg
    } else {
        details.join(" ")
    }
}

const INVALID: &str = "The link is invalid or has expired.";

pub async fn reset_page(State(app): State<Arc<App>>, session: Session) -> Response {
    show(&app, &session, "reset", "Reset your password").await
}

pub async fn reset_submit(
    State(app): State<Arc<App>>,
    session: Session,
    Path(token): Path<String>,
    form: Form,
) -> Response {
    let r = match collection_of(&app, &token) {
        Some(c) => flows::confirm_password_reset(
            &app,
            &c,
            &token,
            &form.text("password"),
            &form.text("passwordConfirm"),
        )
        .await
        .map_err(message),
        None => Err(INVALID.to_owned()),
    };
    outcome(&app, &session, "reset", "Reset your password", r).await
}

pub async fn verify_page(State(app): State<Arc<App>>, session: Session) -> Response {
    show(&app, &session, "verify", "Confirm your email address").await
}

pub async fn verify_submit(
    State(app): State<Arc<App>>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    let r = match collection_of(&app, &token) {
        Some(c) => flows::confirm_verification(&app, &c, &token)
            .await
            .map_err(|_| INVALID.to_owned()),
        None => Err(INVALID.to_owned()),
    };
    outcome(&app, &session, "verify", "Confirm your email address", r).await
}

pub async fn email_page(State(app): State<Arc<App>>, session: Session) -> Response {
    show(&app, &session, "email", "Confirm your new email address").await
}

pub async fn email_submit(
    State(app): State<Arc<App>>,
    session: Session,
    Path(token): Path<String>,
    form: Form,
) -> Response {
    let r = match collection_of(&app, &token) {
        Some(c) => flows::confirm_email_change(&app, &c, &token, &form.text("password"))
            .await
            .map_err(message),
        None => Err(INVALID.to_owned()),
    };
    outcome(&app, &session, "email", "Confirm your new email address", r).await
}

/// `/_/auth/oauth2-redirect-success` and `-failure`.
pub async fn oauth2_page(State(app): State<Arc<App>>, Path(outcome): Path<String>) -> Response {
    let (title, text) = match outcome.as_str() {
        "oauth2-redirect-success" => (
            "Sign-in complete",
            "You can close this window and go back to the app.",
        ),
        "oauth2-redirect-failure" => (
            "Sign-in failed",
            "Something went wrong. Close this window and try again from the app.",
        ),
        _ => return (StatusCode::NOT_FOUND, "Not found").into_response(),
    };
    view::render(
        "oauth2.html",
        json!({"app_name": super::shell::app_name(&app), "title": title, "text": text}),
    )
}
