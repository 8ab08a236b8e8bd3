//! `POST /api/batch`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{Ctx, JsonBody};
use crate::app::App;
use crate::service::batch::{self, SubRequest};

pub async fn batch(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    b: Result<JsonBody, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let loading = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "An error occurred while loading the submitted data.",
        )
    };
    let JsonBody(body) = b.map_err(|_| loading())?;
    let list = match body.get("requests") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(loading()),
    };
    let mut requests = Vec::with_capacity(list.len());
    for r in list {
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
        });
    }
    Ok(Json(
        batch::run(&app.store, &ctx.actor, &ctx.req, requests).await?,
    ))
}
