//! The middleware every API request passes through, as one step instead
//! of a layer per concern.
//!
//! Each `from_fn` layer costs a request a clone of the rest of the stack,
//! a boxed future and the copies of its state (about 2,000 instructions a
//! layer, with four more for the response headers and tower-http's CORS
//! layer, in a request of 40,000 to 70,000: see docs/performance.md,
//! "Session 18"). [`layer`] does what the layers did, in their order,
//! outermost first:
//!
//! - TUS discovery (`OPTIONS /api/tus` without a preflight header) and
//!   CORS (`cors`: preflights answered here, the headers of every other
//!   response), then the security headers PocketBase sends, on every
//!   answer;
//! - the request log and metrics around everything after them
//!   (`request_log::around`);
//! - the caller (`identity::stamp`: 401 for a bad API key, 403 outside a
//!   superuser's scope) and the rate limit (`ratelimit::check`: 429);
//! - a plugin's or a `pb_hooks` route that matches, and otherwise the
//!   built-in route.
//!
//! The body limit stays a layer (it only marks the request for the
//! extractors, wherever it sits).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::{cors, identity, ratelimit, request_log, tus};
use crate::app::App;
use crate::plugins::{hooks, native};

/// The headers every response carries unless its route set them.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("x-xss-protection"),
        HeaderValue::from_static("1; mode=block"),
    ),
    (
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("SAMEORIGIN"),
    ),
    (
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    ),
];

/// The middleware (see the module docs).
pub async fn layer(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let res = if tus::is_discovery(&req) {
        tus::discovery(&app)
    } else if let Some(res) = cors::preflight(&req) {
        res
    } else {
        cors::allow(request_log::around(&app, req, |req| route(&app, req, next)).await)
    };
    secure(res)
}

/// Adds the security headers a route did not set.
fn secure(mut res: Response) -> Response {
    let headers = res.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.entry(name).or_insert(value);
    }
    res
}

/// Everything the request log times: the caller, the rate limit, then the
/// route that answers.
async fn route(app: &Arc<App>, mut req: Request, next: Next) -> Response {
    if let Some(refused) = identity::stamp(app, &mut req) {
        return refused;
    }
    if let Some(refused) = ratelimit::check(app, &req) {
        return refused;
    }
    let req = match native::answer(app, req).await {
        Ok(res) => return res,
        Err(req) => req,
    };
    let req = match hooks::http::answer(app, req).await {
        Ok(res) => return res,
        Err(req) => req,
    };
    next.run(req).await
}
