//! Request paths whose percent-decoded bytes are not UTF-8
//! (`/api/collections/x/records/%FF%FE`).
//!
//! axum's `Path` extractor rejects them with a plain-text 400; PocketBase
//! (whose router keeps raw bytes) looks the segment up, finds nothing and
//! answers its JSON 404. No collection name, record id or route can contain
//! such bytes, so this layer answers that 404 before routing, for every
//! route at once.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

pub async fn layer(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.contains('%')
        && percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .is_err()
    {
        return ApiError::not_found().into_response();
    }
    next.run(req).await
}
