//! `/api/collections/{collection}/records`: record CRUD and lists.

use std::sync::Arc;

use super::json_out::JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::{Ctx, Query};
use super::upload::RecordForm;
use crate::app::App;
use crate::plugins::hooks::records::{self as hooks, Outcome};
use crate::plugins::hooks::request;
use crate::plugins::hooks::write::{Rest, write};
use crate::schema::Collection;
use crate::service::records::{self, ListQuery, Shape};
use serde_json::json;

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
) -> Result<Response, ApiError> {
    let c = collection(&app, &coll)?;
    // pb_hooks: onRecordsListRequest sees the page before the shape applies
    let hooked = request::has_list_hook(&app);
    let query = ListQuery {
        page: q.int("page")?.unwrap_or(1),
        per_page: q.int("perPage")?.unwrap_or(0),
        sort: q.get("sort").unwrap_or_default().to_owned(),
        filter: q.get("filter").unwrap_or_default().to_owned(),
        skip_total: q.flag("skipTotal")?,
        shape: if hooked { Shape::default() } else { shape(&q) },
    };
    let page = records::list(&app.store, &c, &ctx.actor, &ctx.req, &query)?;
    if !hooked {
        return Ok(JsonOut(page).into_response());
    }
    let mut page = match request::list(&app, &c, &ctx.actor, &ctx.req, page).await? {
        Outcome::Done(v) => v,
        Outcome::Answered(res) => return Ok(res),
    };
    if let Some(serde_json::Value::Array(items)) = page.get_mut("items") {
        let list = std::mem::take(items);
        *items = shape(&q).apply(&app.store, &c, list, &ctx.actor, &ctx.req)?;
    }
    Ok(JsonOut(page).into_response())
}

pub async fn view(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    ctx: Ctx,
    q: Query,
) -> Result<Response, ApiError> {
    let c = collection(&app, &coll)?;
    let v = records::view(&app.store, &c, &ctx.actor, &ctx.req, &id)?;
    // pb_hooks: onRecordViewRequest may refuse, answer itself or reshape the record
    let hook = "onRecordViewRequest";
    let v = match request::record(&app, &c, hook, &ctx.actor, v, json!({})).await? {
        Outcome::Done((v, _)) => v,
        Outcome::Answered(res) => return Ok(res),
    };
    Ok(JsonOut(shape(&q).apply_one(&app.store, &c, v, &ctx.actor, &ctx.req)?).into_response())
}

pub async fn create(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    ctx: Ctx,
    q: Query,
    form: RecordForm,
) -> Result<Response, ApiError> {
    let c = collection_for_write(&app, &coll)?;
    let (form, claims) = form.with_tus(&app, &ctx.actor, &c).await?;
    // pb_hooks around the write (plugins/hooks/write.rs)
    let w = rest(&app, &c, "create", ctx, None);
    let v = match write(&w, form.body, form.uploads).await? {
        Outcome::Done(v) => v.unwrap_or_default(),
        Outcome::Answered(res) => return Ok(res),
    };
    claims.consume().await;
    app.realtime_flush().await;
    // pb_hooks: after the commit
    hooks::after(&app, &c, "create", &v).await;
    Ok(JsonOut(shape(&q).apply_one(&app.store, &c, v, &w.actor, &w.req)?).into_response())
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    ctx: Ctx,
    q: Query,
    form: RecordForm,
) -> Result<Response, ApiError> {
    let c = collection_for_write(&app, &coll)?;
    let (form, claims) = form.with_tus(&app, &ctx.actor, &c).await?;
    // pb_hooks around the write (plugins/hooks/write.rs)
    let w = rest(&app, &c, "update", ctx, Some(id));
    let v = match write(&w, form.body, form.uploads).await? {
        Outcome::Done(v) => v.unwrap_or_default(),
        Outcome::Answered(res) => return Ok(res),
    };
    claims.consume().await;
    app.realtime_flush().await;
    // pb_hooks: after the commit
    hooks::after(&app, &c, "update", &v).await;
    Ok(JsonOut(shape(&q).apply_one(&app.store, &c, v, &w.actor, &w.req)?).into_response())
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = collection(&app, &coll)?;
    // pb_hooks around the delete (plugins/hooks/write.rs), and after its commit
    let gone = hooks::stored(&app, &c, &id);
    let w = rest(&app, &c, "delete", ctx, Some(id));
    if let Outcome::Answered(res) = write(&w, Default::default(), Vec::new()).await? {
        return Ok(res);
    }
    app.realtime_flush().await;
    if let Some(r) = gone {
        hooks::after(&app, &c, "delete", &r).await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A REST write of `c` for the caller of `ctx` (`plugins/hooks/write.rs`).
fn rest(
    app: &Arc<App>,
    c: &Arc<Collection>,
    action: &'static str,
    ctx: Ctx,
    id: Option<String>,
) -> Rest {
    Rest {
        app: Arc::clone(app),
        c: Arc::clone(c),
        action,
        actor: ctx.actor,
        req: ctx.req,
        id,
    }
}
