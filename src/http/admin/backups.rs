//! Backups: list, create and delete, through the same `ops` and
//! `service::backups` calls as `/api/backups`. Download, upload and restore
//! are not on this page yet (the REST API has them).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
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
