//! `/api/collections`: schema management (superusers only).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::body::{Body, BodyError};
use super::error::ApiError;
use super::extract::{Query, Superuser};
use crate::app::App;
use crate::plugins::hooks::collections as collection_hooks;
use crate::plugins::hooks::records::Outcome;
use crate::plugins::{self, automigrate::Change};
use crate::schema::{Collection, CollectionKind, system};
use crate::service::{collections, records};

fn find(app: &App, name: &str) -> Result<Arc<Collection>, ApiError> {
    app.store.schema().get(name).ok_or_else(ApiError::not_found)
}

/// Collection bodies answer any unreadable body with their own message.
fn body(b: Result<Body, BodyError>, message: &str) -> Result<Value, ApiError> {
    b.map(|Body(m)| Value::Object(m))
        .map_err(|e| e.wrap(message))
}

pub async fn list(
    State(app): State<Arc<App>>,
    _: Superuser,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let page = q.int("page")?.unwrap_or(1);
    let per_page = q.int("perPage")?.unwrap_or(0);
    Ok(Json(collections::list(
        &app.store,
        page,
        per_page,
        q.flag("skipTotal")?,
        q.get("filter").unwrap_or_default(),
        q.get("sort").unwrap_or_default(),
    )?))
}

pub async fn view(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(find(&app, &name)?.to_json()))
}

pub async fn create(
    State(app): State<Arc<App>>,
    Superuser(actor): Superuser,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    let msg = "Failed to load the collection type data due to invalid formatting.";
    // pb_hooks around the write (plugins/hooks/collections.rs)
    let out = match collection_hooks::write(&app, &actor, None, false, body(b, msg)?).await? {
        Outcome::Done(out) => out,
        Outcome::Answered(res) => return Ok(res),
    };
    plugins::automigrate(&app.config, &app.store, Change::Created(&out)).await;
    Ok(Json(out).into_response())
}

pub async fn update(
    State(app): State<Arc<App>>,
    Superuser(actor): Superuser,
    Path(name): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    let c = find(&app, &name)?;
    let old = c.to_json();
    let msg = "Failed to load the submitted data due to invalid formatting.";
    let out = match collection_hooks::write(&app, &actor, Some(c), false, body(b, msg)?).await? {
        Outcome::Done(out) => out,
        Outcome::Answered(res) => return Ok(res),
    };
    plugins::automigrate(&app.config, &app.store, Change::Updated(&old, &out)).await;
    Ok(Json(out).into_response())
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Superuser(actor): Superuser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let c = find(&app, &name)?;
    let old = c.to_json();
    let out = collection_hooks::write(&app, &actor, Some(c), true, Value::Null).await?;
    if let Outcome::Answered(res) = out {
        return Ok(res);
    }
    plugins::automigrate(&app.config, &app.store, Change::Deleted(&old)).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn truncate(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let c = find(&app, &name)?;
    if c.kind == CollectionKind::View {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "View collections cannot be truncated since they don't store their own records.",
        ));
    }
    records::truncate(&app.store, c).await.map_err(|e| match e {
        crate::service::Error::BadRequest(..) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "Failed to truncate collection (most likely due to required cascade delete record references).",
        ),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn import(
    State(app): State<Arc<App>>,
    _: Superuser,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    let v = b.map(|Body(m)| Value::Object(m)).map_err(ApiError::from)?;
    collections::import(&app.store, v).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn scaffolds(_: Superuser) -> Json<Value> {
    Json(system::scaffolds())
}
