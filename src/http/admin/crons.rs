//! Crons: the scheduler's jobs with a "Run now" button, over the same
//! `Scheduler` as `GET /api/crons` and `POST /api/crons/{id}`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::session::Admin;
use super::shell::{base, with};
use super::view;
use crate::app::App;

pub async fn page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let ctx = with(
        base(&app, &admin, "/_/crons", ""),
        json!({
            "title": "Crons", "jobs": app.cron.list(),
            "started": q.get("started"), "missing": q.get("missing"),
        }),
    );
    view::render("crons.html", ctx)
}

/// Starts a job in the background, like `POST /api/crons/{id}`.
pub async fn run(State(app): State<Arc<App>>, _admin: Admin, Path(id): Path<String>) -> Response {
    let key = if app.cron.run_now(&id) {
        "started"
    } else {
        "missing"
    };
    Redirect::to(&format!("/_/crons?{key}={}", view::urlencode(&id))).into_response()
}
