//! Health, settings, the dashboard's static files and the fallbacks.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::body::{self, Body, BodyError};
use super::error::ApiError;
use super::extract::{Caller, Superuser};
use crate::app::App;
use crate::service::settings;

#[derive(rust_embed::RustEmbed)]
#[folder = "admin-ui/static/"]
struct Assets;

pub async fn health(State(app): State<Arc<App>>, Caller(actor): Caller) -> Json<Value> {
    let data = if actor.is_superuser() {
        json!({"canBackup": true, "realIP": "127.0.0.1", "possibleProxyHeader": "",
               "ready": crate::ops::readiness(&app).await})
    } else {
        json!({})
    };
    Json(json!({"message": "API is healthy.", "code": 200, "data": data}))
}

pub async fn get_settings(
    State(app): State<Arc<App>>,
    _: Superuser,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(settings::get(&app.store)?))
}

pub async fn patch_settings(
    State(app): State<Arc<App>>,
    _: Superuser,
    b: Result<Body, BodyError>,
) -> Result<Json<Value>, ApiError> {
    let v = Value::Object(b.map_err(|e| e.wrap(body::LOADING))?.0);
    let saved = settings::patch(&app.store, v).await?;
    let public = settings::public(&saved);
    app.set_settings(saved);
    crate::ops::apply_backup_schedule(&app);
    Ok(Json(public))
}

pub async fn dashboard_redirect() -> Redirect {
    Redirect::temporary("/_/")
}

/// Serves the embedded dashboard files under `/_/`.
pub async fn dashboard(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches("/_/");
    let path = if path.is_empty() { "index.html" } else { path };
    match Assets::get(path) {
        Some(f) => (
            [(header::CONTENT_TYPE, f.metadata.mimetype().to_owned())],
            f.data.into_owned(),
        )
            .into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, "File not found.").into_response(),
    }
}

/// Unknown routes: GET falls through to "File not found." like PocketBase's
/// static handler; other methods get the generic 404.
pub async fn fallback(method: Method) -> ApiError {
    if method == Method::GET || method == Method::HEAD {
        ApiError::new(StatusCode::NOT_FOUND, "File not found.")
    } else {
        ApiError::not_found()
    }
}

/// A known path with the wrong method.
pub async fn wrong_method() -> ApiError {
    ApiError::not_found()
}
