//! `POST /api/sql`: the SQL console (superusers only; see service::console).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{JsonBody, Superuser};
use crate::app::App;
use crate::service::console;

pub async fn run(
    State(app): State<Arc<App>>,
    Superuser(actor): Superuser,
    body: Result<JsonBody, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "An error occurred while loading the submitted data.",
        )
    };
    let JsonBody(v) = body.map_err(|_| bad())?;
    let q: console::Query = serde_json::from_value(v).map_err(|_| bad())?;
    let who = actor
        .identity()
        .map(|i| i.id().to_owned())
        .unwrap_or_default();
    Ok(Json(console::run(&app.store, &app.logs, &who, q).await?))
}
