//! `/api/tus`: resumable uploads (TUS 1.0.0 core, creation, termination,
//! expiration). The protocol's headers are handled here; the upload area
//! is `service::files::tus`. See docs/files.md.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::Caller;
use crate::app::App;
use crate::service::files::tus;

const VERSION: &str = "1.0.0";

/// Headers of every TUS answer. Capabilities (`Tus-Version`,
/// `Tus-Extension`) come with each one, and with `OPTIONS` (`options`).
fn base(h: &mut HeaderMap) {
    h.insert("tus-resumable", HeaderValue::from_static(VERSION));
    h.insert("tus-version", HeaderValue::from_static(VERSION));
    h.insert(
        "tus-extension",
        HeaderValue::from_static("creation,termination,expiration"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Is `req` TUS discovery: a plain `OPTIONS` (no
/// `Access-Control-Request-Method`, so not a CORS preflight) on `/api/tus`
/// or an upload under it?
pub fn is_discovery(req: &axum::extract::Request) -> bool {
    let path = req.uri().path();
    req.method() == axum::http::Method::OPTIONS
        && !req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && (path == "/api/tus" || path.starts_with("/api/tus/"))
}

/// A plain `OPTIONS` (TUS discovery): 204 with the capabilities and
/// `Tus-Max-Size`. Called from `front::layer`, since CORS takes
/// every other `OPTIONS` for a preflight.
pub fn discovery(app: &App) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    base(h);
    h.insert("tus-max-size", hv(&app.files.tus.max_size.to_string()));
    res
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn num(h: &HeaderMap, k: &str) -> Option<u64> {
    h.get(k)?.to_str().ok()?.trim().parse().ok()
}

fn plain(status: StatusCode, msg: &'static str) -> Response {
    let mut h = HeaderMap::new();
    base(&mut h);
    (status, h, msg).into_response()
}

/// A request without `Tus-Resumable: 1.0.0` gets 412 (with `Tus-Version`).
fn wrong_version(req: &HeaderMap) -> Option<Response> {
    if req.get("tus-resumable").and_then(|v| v.to_str().ok()) == Some(VERSION) {
        return None;
    }
    let mut h = HeaderMap::new();
    base(&mut h);
    Some((StatusCode::PRECONDITION_FAILED, h).into_response())
}

fn expires(app: &App, modified: std::time::SystemTime) -> HeaderValue {
    hv(&httpdate::fmt_http_date(app.files.tus.expires(modified)))
}

pub async fn create(
    State(app): State<Arc<App>>,
    Caller(actor): Caller,
    req: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(r) = wrong_version(&req) {
        return Ok(r);
    }
    let Some(length) = num(&req, "upload-length") else {
        return Ok(plain(StatusCode::BAD_REQUEST, "Upload-Length is required."));
    };
    if length > app.files.tus.max_size {
        return Ok(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Upload-Length is too large.",
        ));
    }
    let meta = req
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = tus::filename_from_metadata(meta);
    let id = app.files.tus.create(&actor, length, name).await?;
    let mut h = HeaderMap::new();
    base(&mut h);
    h.insert("tus-max-size", hv(&app.files.tus.max_size.to_string()));
    h.insert(header::LOCATION, hv(&format!("/api/tus/{id}")));
    h.insert(
        "upload-expires",
        expires(&app, std::time::SystemTime::now()),
    );
    Ok((StatusCode::CREATED, h).into_response())
}

pub async fn head(
    State(app): State<Arc<App>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    req: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(r) = wrong_version(&req) {
        return Ok(r);
    }
    let (info, offset) = app.files.tus.info(&actor, &id).await?;
    let mut h = HeaderMap::new();
    base(&mut h);
    h.insert("upload-offset", hv(&offset.to_string()));
    h.insert("upload-length", hv(&info.length.to_string()));
    Ok((StatusCode::OK, h).into_response())
}

pub async fn patch(
    State(app): State<Arc<App>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    req: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if let Some(r) = wrong_version(&req) {
        return Ok(r);
    }
    let ct = req
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct != "application/offset+octet-stream" {
        return Ok(plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Wrong Content-Type.",
        ));
    }
    let Some(offset) = num(&req, "upload-offset") else {
        return Ok(plain(StatusCode::BAD_REQUEST, "Upload-Offset is required."));
    };
    let stream = body.into_data_stream();
    let at = app.files.tus.append(&actor, &id, offset, stream).await?;
    let mut h = HeaderMap::new();
    base(&mut h);
    h.insert("upload-offset", hv(&at.to_string()));
    h.insert(
        "upload-expires",
        expires(&app, std::time::SystemTime::now()),
    );
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    req: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(r) = wrong_version(&req) {
        return Ok(r);
    }
    app.files.tus.terminate(&actor, &id).await?;
    let mut h = HeaderMap::new();
    base(&mut h);
    Ok((StatusCode::NO_CONTENT, h).into_response())
}
