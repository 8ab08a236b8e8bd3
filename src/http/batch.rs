//! `POST /api/batch`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use super::extract::Ctx;
use super::upload::RecordForm;
use crate::app::App;
use crate::plugins::hooks::batch as hooks;
use crate::service::batch::{self, SubRequest};

pub async fn batch(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    b: Result<RecordForm, ApiError>,
) -> Result<Response, ApiError> {
    batch::check_enabled(&app.store)?;
    let unreadable = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Failed to read the submitted batch data.",
        )
    };
    // JSON, or multipart with `@jsonPayload` (what the SDK sends).
    // Files come as `requests.{i}.{field}` parts.
    let RecordForm { body, uploads } = b.map_err(|_| unreadable())?;
    let list = match body.get("requests") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(unreadable()),
    };
    let mut uploads = batch::split_uploads(uploads);
    let mut requests = Vec::with_capacity(list.len());
    for r in list {
        if !r.is_object() {
            return Err(unreadable());
        }
        let s = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        requests.push(SubRequest {
            method: s("method"),
            url: s("url"),
            body: r
                .get("body")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            uploads: uploads.remove(&requests.len()).unwrap_or_default(),
        });
    }
    // pb_hooks: onBatchRequest, each sub-request's before-hooks, then after the commit
    if let Some(res) = hooks::before(&app, &ctx.actor, &mut requests).await? {
        return Ok(res);
    }
    let (out, planned) = hooks::run(&app, &ctx.actor, &ctx.req, requests).await?;
    app.realtime_flush().await;
    hooks::after(&app, planned, &out).await;
    Ok(Json(out).into_response())
}
