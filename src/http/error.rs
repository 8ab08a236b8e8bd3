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
    /// What went wrong inside (500s): kept for the request log, never sent.
    pub detail: Option<Box<str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
            data: Map::new(),
            retry_after: None,
            raw: None,
            detail: None,
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
        let detail = match &e {
            Error::Internal(d) => Some(d.as_str().into()),
            _ => None,
        };
        let (status, message, data) = e.parts();
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message,
            data,
            retry_after: None,
            raw,
            detail,
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
        let logged = super::request_log::LoggedError {
            message: self.message.clone(),
            details: match self.detail {
                Some(d) => Value::String(d.into()),
                None if self.data.is_empty() => Value::Null,
                None => Value::Object(self.data.clone()),
            },
        };
        let body = match self.raw {
            Some(raw) => Value::Object(raw),
            None => json!({
                "data": Value::Object(self.data),
                "message": self.message,
                "status": self.status.as_u16(),
            }),
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.extensions_mut().insert(logged);
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
