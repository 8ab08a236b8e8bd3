//! `/api/crons`: the scheduler's jobs (superusers only).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::ApiError;
use super::extract::Superuser;
use crate::app::App;
use crate::service::cron::Listed;

pub async fn list(State(app): State<Arc<App>>, _: Superuser) -> Json<Vec<Listed>> {
    Json(app.cron.list())
}

/// Starts a job now, in the background (PocketBase answers before it ends).
pub async fn run(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if app.cron.run_now(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid cron job.",
        ))
    }
}
