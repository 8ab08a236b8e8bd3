//! CORS like PocketBase: any origin, the request's headers mirrored (a
//! `*` would not cover `Authorization` in browsers), its method list, and
//! preflights answered 204 No Content (tower-http answers 200).

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// The CORS layer.
pub fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_headers(AllowHeaders::mirror_request())
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::PATCH,
            Method::POST,
            Method::DELETE,
        ])
}

/// Wraps the CORS layer: a preflight that it answered 200 becomes 204, and
/// a plain `OPTIONS` (no `Access-Control-Request-Method`) on `/api/tus` is
/// TUS discovery, which the CORS layer would otherwise take for a preflight.
pub async fn preflight_no_content(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::app::App>>,
    req: Request,
    next: Next,
) -> Response {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if req.method() == Method::OPTIONS && !preflight && super::tus::is_tus_path(req.uri().path()) {
        return super::tus::discovery(&app);
    }
    let mut res = next.run(req).await;
    if preflight && res.status() == StatusCode::OK {
        *res.status_mut() = StatusCode::NO_CONTENT;
    }
    res
}
