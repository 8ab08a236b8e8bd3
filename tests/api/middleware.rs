//! What `http::front` promises for every route (docs/ARCHITECTURE.md,
//! "Serving HTTP"): each answer carries PocketBase's security headers and
//! the CORS headers, and a preflight is answered 204 before any route runs.
//! Keyed by the router's own table (`cairn::http::table()`), so a route
//! added later is covered without editing this test.

use reqwest::Method;

use crate::helpers::TestApp;

/// A concrete path for a route template (the values need not exist:
/// a 404 or 400 passes through the same middleware).
fn concrete(template: &str) -> String {
    template
        .replace("{collection}", "users")
        .replace("{id}", "missing0000000a")
        .replace("{*path}", "index.html")
        .replace("{record}", "missing0000000a")
        .replace("{filename}", "missing.txt")
        .replace("{key}", "missing.zip")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn assert_common(res: &reqwest::Response, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("x-xss-protection", "1; mode=block"),
        ("cross-origin-opener-policy", "same-origin"),
        ("access-control-allow-origin", "*"),
    ] {
        assert_eq!(header(res, name), value, "{name} on {what}");
    }
    let vary: Vec<_> = res
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        vary.iter()
            .any(|v| v.contains("access-control-request-headers")),
        "vary {vary:?} on {what}"
    );
}

#[tokio::test]
async fn every_route_answers_with_the_security_and_cors_headers() {
    let t = TestApp::spawn().await;
    // Redirects not followed: the answer checked is the route's own.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let routes = cairn::http::table();
    assert!(routes.len() > 30, "{} routes", routes.len());
    for route in routes {
        let path = concrete(route.path);
        assert!(
            !path.contains('{'),
            "unfilled placeholder in {}",
            route.path
        );
        let url = format!("{}{path}", t.url);
        for m in &route.methods {
            let method = Method::from_bytes(m.as_bytes()).expect("method");
            let what = format!("{m} {}", route.path);
            let mut req = client
                .request(method.clone(), &url)
                .header("origin", "https://app.example");
            if method != Method::GET {
                req = req.json(&serde_json::json!({}));
            }
            // Headers only: a stream (the SSE route) is dropped unread.
            let res = req.send().await.expect(&what);
            assert_common(&res, &what);
            drop(res);
        }
        let what = format!("preflight {}", route.path);
        let res = client
            .request(Method::OPTIONS, &url)
            .header("origin", "https://app.example")
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .expect(&what);
        assert_eq!(res.status(), 204, "{what}");
        assert_common(&res, &what);
        assert_eq!(
            header(&res, "access-control-allow-methods"),
            "GET,HEAD,PUT,PATCH,POST,DELETE",
            "{what}"
        );
        assert_eq!(
            header(&res, "access-control-allow-headers"),
            "authorization,content-type",
            "{what}"
        );
    }
}
