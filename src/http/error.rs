//! The one place errors become HTTP responses, in PocketBase's JSON shape
//! `{"data":{...},"message":"...","status":N}`. Internal details are logged
//! once here and never sent to clients.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::service::Error;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub data: Map<String, Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
            data: Map::new(),
        }
    }
    pub fn bad_request() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Something went wrong while processing your request.",
        )
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource wasn't found.",
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The request requires valid record authorization token.",
        )
    }
    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.")
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, message, data) = e.parts();
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message,
            data,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "data": Value::Object(self.data),
            "message": self.message,
            "status": self.status.as_u16(),
        });
        (self.status, axum::Json(body)).into_response()
    }
}
