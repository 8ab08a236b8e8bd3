//! `/api/logs`: request logs (superusers only).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::error::ApiError;
use super::extract::{Query, Superuser};
use crate::app::App;
use crate::service::logs;

pub async fn list(
    State(app): State<Arc<App>>,
    _: Superuser,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let query = logs::ListQuery {
        page: q.int("page")?.unwrap_or(1),
        per_page: q.int("perPage")?.unwrap_or(0),
        skip_total: q.flag("skipTotal")?,
        filter: q.get("filter").unwrap_or_default(),
        sort: q.get("sort").unwrap_or_default(),
    };
    Ok(Json(logs::list(&app.logs, &query)?))
}

pub async fn view(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(logs::view(&app.logs, &id)?))
}

pub async fn stats(
    State(app): State<Arc<App>>,
    _: Superuser,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(logs::stats(
        &app.logs,
        q.get("filter").unwrap_or_default(),
    )?))
}
