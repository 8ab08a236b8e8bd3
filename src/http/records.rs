//! `/api/collections/{collection}/records`: record CRUD and lists.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::{Ctx, Query};
use super::upload::RecordForm;
use crate::app::App;
use crate::plugins::hooks::records as hooks;
use crate::schema::Collection;
use crate::service::records::{self, ListQuery, Shape};

fn shape(q: &Query) -> Shape {
    Shape {
        expand: q.get("expand").unwrap_or_default().to_owned(),
        fields: q.get("fields").unwrap_or_default().to_owned(),
    }
}

/// Looks up the collection named in the path (404 "Missing collection context.").
pub fn collection(app: &App, name: &str) -> Result<Arc<Collection>, ApiError> {
    app.store
        .schema()
        .get(name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Missing collection context."))
}

/// Writes report an unknown collection with PocketBase's other wording.
fn collection_for_write(app: &App, name: &str) -> Result<Arc<Collection>, ApiError> {
    app.store.schema().get(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid collection context.",
        )
    })
}

pub async fn list(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    ctx: Ctx,
    q: Query,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = collection(&app, &coll)?;
    let query = ListQuery {
        page: q.int("page")?.unwrap_or(1),
        per_page: q.int("perPage")?.unwrap_or(0),
        sort: q.get("sort").unwrap_or_default().to_owned(),
        filter: q.get("filter").unwrap_or_default().to_owned(),
        skip_total: q.flag("skipTotal")?,
        shape: shape(&q),
    };
    Ok(Json(records::list(
        &app.store, &c, &ctx.actor, &ctx.req, &query,
    )?))
}

pub async fn view(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    ctx: Ctx,
    q: Query,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = collection(&app, &coll)?;
    let v = records::view(&app.store, &c, &ctx.actor, &ctx.req, &id)?;
    Ok(Json(
        shape(&q).apply_one(&app.store, &c, v, &ctx.actor, &ctx.req)?,
    ))
}

pub async fn create(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    ctx: Ctx,
    q: Query,
    form: RecordForm,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = collection_for_write(&app, &coll)?;
    let (form, claims) = form.with_tus(&app, &ctx.actor, &c).await?;
    // pb_hooks: before validation and the write
    let body = hooks::before(&app, &c, "create", &ctx.actor, None, form.body).await?;
    let kept = hooks::keep_for_error(&app, &c, "create", None, &body);
    let files = Some((app.files.as_ref(), form.uploads));
    let (store, actor) = (&app.store, &ctx.actor);
    let v = records::create_with_files(store, files, Arc::clone(&c), actor, &ctx.req, body).await;
    let v = hooks::or_after_error(&app, &c, "create", kept, v).await?;
    claims.consume().await;
    app.realtime_flush().await;
    // pb_hooks: after the commit
    hooks::after(&app, &c, "create", &v).await;
    Ok(Json(
        shape(&q).apply_one(&app.store, &c, v, &ctx.actor, &ctx.req)?,
    ))
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    ctx: Ctx,
    q: Query,
    form: RecordForm,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = collection_for_write(&app, &coll)?;
    let (form, claims) = form.with_tus(&app, &ctx.actor, &c).await?;
    // pb_hooks: before validation and the write
    let body = hooks::before(&app, &c, "update", &ctx.actor, Some(&id), form.body).await?;
    let kept = hooks::keep_for_error(&app, &c, "update", Some(&id), &body);
    let files = Some((app.files.as_ref(), form.uploads));
    let (store, actor) = (&app.store, &ctx.actor);
    let v =
        records::update_with_files(store, files, Arc::clone(&c), actor, &ctx.req, id, body).await;
    let v = hooks::or_after_error(&app, &c, "update", kept, v).await?;
    claims.consume().await;
    app.realtime_flush().await;
    // pb_hooks: after the commit
    hooks::after(&app, &c, "update", &v).await;
    Ok(Json(
        shape(&q).apply_one(&app.store, &c, v, &ctx.actor, &ctx.req)?,
    ))
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = collection(&app, &coll)?;
    // pb_hooks: before the delete, and after its commit
    hooks::before(
        &app,
        &c,
        "delete",
        &ctx.actor,
        Some(&id),
        Default::default(),
    )
    .await?;
    let gone = hooks::stored(&app, &c, &id);
    let kept = hooks::keep_for_error(&app, &c, "delete", Some(&id), &Default::default());
    let done = records::delete(&app.store, Arc::clone(&c), &ctx.actor, &ctx.req, id).await;
    hooks::or_after_error(&app, &c, "delete", kept, done).await?;
    app.realtime_flush().await;
    if let Some(r) = gone {
        hooks::after(&app, &c, "delete", &r).await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
