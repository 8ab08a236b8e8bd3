//! Record and auth answers written as JSON text by [`crate::json_text`]
//! rather than `axum::Json` (`serde_json`), whose per-string cost was a
//! tenth of a record read, and whose buffer started at 128 bytes and was
//! copied as it grew. The text is the same, byte for byte.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A JSON response body (`application/json`), like `axum::Json<Value>`.
pub struct JsonOut(pub Value);

impl IntoResponse for JsonOut {
    fn into_response(self) -> Response {
        let mut out = Vec::with_capacity(1024);
        crate::json_text::value(&mut out, &self.0);
        let mime = HeaderValue::from_static("application/json");
        ([(header::CONTENT_TYPE, mime)], out).into_response()
    }
}
