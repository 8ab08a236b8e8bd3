//! Backups: list, create, delete, download, upload and restore, through the
//! same `ops`, `service::backups` and `http::backups` calls as `/api/backups`,
//! so the page and the REST API cannot disagree.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;

pub async fn page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let (list, error) = match crate::ops::blocking(&app, |app| app.backups.list()).await {
        Ok(l) => (l, None),
        Err(e) => (vec![], Some(e.parts().1)),
    };
    let ctx = with(
        base(&app, &admin, "/_/backups", ""),
        json!({"title": "Backups", "backups": list, "error": error.or_else(|| q.get("error").cloned()),
            "msg": q.get("msg")}),
    );
    view::render("backups.html", ctx)
}

/// Back to the list with an error message.
fn error(text: &str) -> Response {
    Redirect::to(&format!("/_/backups?error={}", view::urlencode(text))).into_response()
}

fn back(res: Result<String, crate::service::Error>) -> Response {
    let q = match res {
        Ok(m) => format!("msg={}", view::urlencode(&m)),
        Err(e) => format!("error={}", view::urlencode(&e.parts().1)),
    };
    Redirect::to(&format!("/_/backups?{q}")).into_response()
}

pub async fn create(State(app): State<Arc<App>>, _admin: Admin, form: Form) -> Response {
    let name = form.text("name");
    let name = Some(name.trim()).filter(|n| !n.is_empty());
    back(
        crate::ops::create_backup(&app, name)
            .await
            .map(|n| format!("Backup {n} created.")),
    )
}

pub async fn delete(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(key): Path<String>,
) -> Response {
    let shown = key.clone();
    back(
        crate::ops::blocking(&app, move |app| app.backups.delete(&key))
            .await
            .map(|()| format!("Backup {shown} deleted.")),
    )
}

/// The zip, streamed by the same code as `GET /api/backups/{key}`.
pub async fn download(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(key): Path<String>,
) -> Response {
    match crate::http::backups::send(&app, &key).await {
        Ok(res) => res,
        Err(e) => error(&e.message),
    }
}

/// A multipart upload (`_csrf` first, then `file`), stored like
/// `POST /api/backups/upload`.
pub async fn upload(State(app): State<Arc<App>>, _admin: Admin, mp: Multipart) -> Response {
    match crate::http::backups::receive(&app, Some(mp)).await {
        Ok(_) => Redirect::to("/_/backups?msg=Backup%20uploaded.").into_response(),
        Err(e) => error(&upload_error(&e)),
    }
}

/// The API's message, with the field's own message when there is one.
fn upload_error(e: &crate::http::error::ApiError) -> String {
    let field = e
        .data
        .get("file")
        .and_then(|f| f.get("message"))
        .and_then(|m| m.as_str());
    match field {
        Some(m) => format!("{} {m}", e.message),
        None => e.message.clone(),
    }
}

/// The confirmation page of a restore: the backup's name must be typed, as
/// for deleting a collection (a restore replaces every record and setting).
fn restore_form(app: &App, admin: &Admin, key: &str, error: &str) -> Response {
    let ctx = with(
        base(app, admin, "/_/backups", ""),
        json!({"title": format!("Restore {key}"), "key": key, "error": error}),
    );
    let status = if error.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::BAD_REQUEST
    };
    view::render_status(status, "backup_restore.html", ctx)
}

pub async fn restore_page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(key): Path<String>,
) -> Response {
    restore_form(&app, &admin, &key, "")
}

/// Replaces the data with the backup once its name was typed.
pub async fn restore(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(key): Path<String>,
    form: Form,
) -> Response {
    if form.text("confirm_name").trim() != key {
        let msg = "Type the backup's name to confirm; nothing was restored.";
        return restore_form(&app, &admin, &key, msg);
    }
    let done = format!("Backup {key} restored.");
    back(crate::ops::restore_backup(&app, &key).await.map(|()| done))
}
