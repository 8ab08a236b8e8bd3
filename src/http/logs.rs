//! `/api/logs`: request logs (superusers only). `fields` picks keys like
//! PocketBase's: of each item of a page (the page numbers stay), of the
//! one log, and of each stats bucket.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::error::ApiError;
use super::extract::{Query, Superuser};
use crate::app::App;
use crate::service::logs;
use crate::service::records::fields::FieldsTree;

/// Applies `?fields=` to `v`: a page's items, an object, or an array's objects.
fn pick(q: &Query, mut v: Value) -> Result<Json<Value>, ApiError> {
    let fields = FieldsTree::parse(q.get("fields").unwrap_or_default())
        .map_err(|_| ApiError::bad_request())?;
    if fields.is_empty() {
        return Ok(Json(v));
    }
    let target = match &mut v {
        Value::Object(m) if m.contains_key("items") && m.contains_key("perPage") => {
            m.get_mut("items")
        }
        other => Some(other),
    };
    match target {
        Some(Value::Object(m)) => fields.apply(m),
        Some(Value::Array(a)) => a
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(|m| fields.apply(m)),
        _ => {}
    }
    Ok(Json(v))
}

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
    pick(&q, logs::list(&app.logs, &query)?)
}

pub async fn view(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    pick(&q, logs::view(&app.logs, &id)?)
}

pub async fn stats(
    State(app): State<Arc<App>>,
    _: Superuser,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let stats = logs::stats(&app.logs, q.get("filter").unwrap_or_default())?;
    pick(&q, stats)
}
