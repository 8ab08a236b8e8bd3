//! CORS like PocketBase: any origin, the request's headers mirrored (a
//! `*` would not cover `Authorization` in browsers), its method list, and
//! preflights answered 204 No Content.
//!
//! Written out here rather than as tower-http's `CorsLayer` (which it
//! matches header for header: the test below runs both): that layer builds
//! a header map per request and answers a preflight 200, and as a layer of
//! its own it cost each request about 2,000 instructions (docs/performance.md,
//! "Session 18"). `front::layer` calls these two functions.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

/// The methods a preflight allows.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE");

/// What a response varies by: only the mirrored request headers (the
/// origin and the methods allowed are the same for every request).
const VARY: HeaderValue = HeaderValue::from_static("access-control-request-headers");

const ANY_ORIGIN: HeaderValue = HeaderValue::from_static("*");

/// The answer to an `OPTIONS` request (every one is taken for a preflight;
/// TUS discovery is told apart before): 204 when it names the method it
/// asks for (`Access-Control-Request-Method`), else 200, with the allowed
/// methods and the requested headers; `None` for any other method.
pub fn preflight(req: &Request) -> Option<Response> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let mut res = Response::new(Body::empty());
    if req
        .headers()
        .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        *res.status_mut() = StatusCode::NO_CONTENT;
    }
    let h = res.headers_mut();
    h.insert(header::VARY, VARY);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
    Some(res)
}

/// The CORS headers of any other response: `Vary` added to the route's own,
/// the allowed origin set.
pub fn allow(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.append(header::VARY, VARY);
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
    res
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::middleware::{Next, from_fn};
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::cors::{AllowHeaders, Any, CorsLayer};

    use super::*;

    /// tower-http's layer as Cairn configured it before, with a preflight's
    /// 200 turned into 204.
    fn tower_http() -> Router {
        let layer = CorsLayer::new()
            .allow_origin(Any)
            .allow_headers(AllowHeaders::mirror_request())
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::PATCH,
                Method::POST,
                Method::DELETE,
            ]);
        async fn no_content(req: Request, next: Next) -> Response {
            let asked = req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
            let mut res = next.run(req).await;
            if asked && res.status() == StatusCode::OK {
                *res.status_mut() = StatusCode::NO_CONTENT;
            }
            res
        }
        routes().layer(layer).layer(from_fn(no_content))
    }

    fn these() -> Router {
        async fn cors(req: Request, next: Next) -> Response {
            match preflight(&req) {
                Some(res) => res,
                None => allow(next.run(req).await),
            }
        }
        routes().layer(from_fn(cors))
    }

    fn routes() -> Router {
        let handler = || async {
            let mut res = Response::new(Body::from("ok"));
            res.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            res
        };
        Router::new().route("/x", get(handler).post(handler).options(handler))
    }

    async fn seen(app: Router, req: Request) -> (StatusCode, Vec<(String, Vec<u8>)>, Vec<u8>) {
        let res = app.oneshot(req).await.expect("response");
        let status = res.status();
        let mut headers: Vec<_> = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        headers.sort();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("body")
            .to_vec();
        (status, headers, body)
    }

    /// Status, every header and the body are the same as tower-http's for
    /// plain requests with and without an origin, preflights with and
    /// without requested headers, and a bare `OPTIONS`.
    #[tokio::test]
    async fn matches_tower_http_header_for_header() {
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("GET", vec![]),
            ("GET", vec![("origin", "https://a.example")]),
            ("POST", vec![("origin", "https://a.example")]),
            (
                "OPTIONS",
                vec![
                    ("origin", "https://a.example"),
                    ("access-control-request-method", "PATCH"),
                    (
                        "access-control-request-headers",
                        "authorization,content-type",
                    ),
                ],
            ),
            ("OPTIONS", vec![("access-control-request-method", "DELETE")]),
            ("OPTIONS", vec![]),
        ];
        for (method, headers) in cases {
            let build = || {
                let mut b = Request::builder().method(method).uri("/x");
                for (k, v) in &headers {
                    b = b.header(*k, *v);
                }
                b.body(Body::empty()).expect("request")
            };
            let want = seen(tower_http(), build()).await;
            let got = seen(these(), build()).await;
            assert_eq!(got, want, "{method} {headers:?}");
        }
    }
}
