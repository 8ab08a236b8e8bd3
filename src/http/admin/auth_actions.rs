//! Actions on auth records from the record editor: impersonate (a
//! non-refreshable auth token for that record, shown once, as
//! `POST /api/collections/NAME/impersonate/ID` gives), sending the
//! verification email, and resetting its issued tokens (a new `tokenKey`:
//! every token of the record, and a superuser's dashboard sessions, end).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::records::find;
use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::service::auth::{self, TokenKind, flows};

fn record(
    app: &App,
    name: &str,
    id: &str,
) -> Option<(Arc<crate::schema::Collection>, Map<String, Value>)> {
    let c = find(app, name).filter(|c| c.is_auth())?;
    let rec = app
        .store
        .read(|conn| crate::store::records::get(conn, &c, id))
        .ok()??;
    Some((c, rec))
}

pub async fn impersonate(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
    admin: Admin,
    form: Form,
) -> Response {
    let Some((c, rec)) = record(&app, &name, &id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let duration = form
        .text("duration")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| *d > 0);
    let mut extra = Map::new();
    extra.insert("refreshable".into(), false.into());
    let token = match auth::issue(&c, &rec, TokenKind::Auth, extra, duration) {
        Ok(t) => t,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let ctx = with(
        base(&app, &admin, "/_/collections", &c.name),
        json!({
            "title": format!("Impersonate {id}"),
            "collection": {"name": c.name}, "id": id, "token": token,
            "duration": duration.unwrap_or_else(|| c.token_duration("authToken")),
        }),
    );
    view::render("impersonate.html", ctx)
}

/// Back to the record's page with a message.
fn back(c: &crate::schema::Collection, id: &str, msg: &str) -> Response {
    Redirect::to(&format!(
        "/_/collections/{}/records/{}?msg={}",
        view::urlencode(&c.name),
        view::urlencode(id),
        view::urlencode(msg)
    ))
    .into_response()
}

pub async fn reset_tokens(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
    _admin: Admin,
) -> Response {
    let Some((c, _)) = record(&app, &name, &id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let msg = match flows::reset_tokens(&app, &c, &id).await {
        Ok(()) => "Issued tokens reset: every earlier token of this record is refused.".to_owned(),
        Err(e) => e.parts().1,
    };
    back(&c, &id, &msg)
}

pub async fn send_verification(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
    _admin: Admin,
) -> Response {
    let Some((c, rec)) = record(&app, &name, &id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let email = auth::sys::text(&rec, "email").to_owned();
    let msg = match flows::request_verification(&app, &c, &email).await {
        Ok(()) => format!("Verification email sent to {email}."),
        Err(e) => e.parts().1,
    };
    back(&c, &id, &msg)
}
