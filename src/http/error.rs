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
    /// Seconds for a `Retry-After` header (429s).
    pub retry_after: Option<u64>,
    /// A body that replaces the error shape (`Error::Raw`).
    pub raw: Option<Map<String, Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
            data: Map::new(),
            retry_after: None,
            raw: None,
        }
    }
    /// 400 "An error occurred while validating the submitted data." with field errors.
    pub fn validation(data: Map<String, Value>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "An error occurred while validating the submitted data.",
        );
        e.data = data;
        e
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
        let raw = match &e {
            Error::Raw(_, body) => Some(body.clone()),
            _ => None,
        };
        let (status, message, data) = e.parts();
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message,
            data,
            retry_after: None,
            raw,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.raw {
            Some(raw) => Value::Object(raw),
            None => json!({
                "data": Value::Object(self.data),
                "message": self.message,
                "status": self.status.as_u16(),
            }),
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
