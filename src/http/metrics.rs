//! `GET /api/metrics`: OpenMetrics text for Prometheus. Superusers, or the
//! bearer token configured as `metrics_token` (compared in constant time);
//! everyone else gets PocketBase's 401/403.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::extract::Superuser;
use crate::app::App;

fn token_ok(app: &App, headers: &HeaderMap) -> bool {
    let want = app.config.metrics_token.as_bytes();
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
        .unwrap_or_default();
    !want.is_empty() && bool::from(got.as_bytes().ct_eq(want))
}

pub async fn metrics(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    su: Result<Superuser, ApiError>,
) -> Result<Response, ApiError> {
    if !token_ok(&app, &headers) {
        su?;
    }
    let text = app.metrics.render(&crate::ops::metrics_snapshot(&app));
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(res)
}
