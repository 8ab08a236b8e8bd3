//! Rendering: the minijinja environment over the embedded templates, the
//! security headers every page carries, and small helpers.
//!
//! Auto-escaping is on for `.html` templates (minijinja's default), and
//! templates only ever come from `admin-ui/templates`: no template is ever
//! built from data, so a stored `{{ 7*7 }}` stays text.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

#[derive(rust_embed::RustEmbed)]
#[folder = "admin-ui/templates/"]
struct Templates;

/// The Content-Security-Policy of every dashboard response: scripts and
/// styles only from our own files (no inline code, no eval), no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_loader(|name| {
            Ok(Templates::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned()))
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.add_filter("urlencode", |s: String| urlencode(&s).replace('/', "%2F"));
        env
    })
}

/// Renders a template with the security headers set.
pub fn render<S: Serialize>(name: &str, ctx: S) -> Response {
    render_status(StatusCode::OK, name, ctx)
}

pub fn render_status<S: Serialize>(status: StatusCode, name: &str, ctx: S) -> Response {
    let html = env()
        .get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)));
    match html {
        Ok(h) => (status, Html(h)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template = name, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
                .into_response()
        }
    }
}

/// Adds the CSP and framing headers to every `/_/` response.
pub async fn headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Constant-time comparison of secrets.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A url-encoded form body as ordered pairs (the CSRF layer has already
/// checked its `_csrf`).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub fn text(&self, k: &str) -> String {
        self.get(k).unwrap_or_default().to_owned()
    }
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub fn flag(&self, k: &str) -> bool {
        self.get(k)
            .is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Response> {
        let bytes = axum::body::to_bytes(req.into_body(), crate::http::extract::MAX_BODY)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        Ok(Form(crate::urlencoded::pairs(&bytes)))
    }
}

/// Query parameters as ordered pairs.
pub fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    crate::urlencoded::pairs(uri.query().unwrap_or_default().as_bytes())
}

/// The first value of parameter `k` among `pairs` ("" when absent).
pub fn param(pairs: &[(String, String)], k: &str) -> String {
    pairs
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break, quotes doubled.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One CSV line of JSON values, CRLF-terminated: strings as they are,
/// null empty, anything else as its JSON text.
pub fn csv_row(values: &[serde_json::Value]) -> String {
    let mut line = values
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => csv_field(s),
            serde_json::Value::Null => String::new(),
            other => csv_field(&other.to_string()),
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// An attachment download; the file name is reduced to `[A-Za-z0-9._-]`.
pub fn download(body: String, ct: &str, name: &str) -> Response {
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect();
    (
        [
            (header::CONTENT_TYPE, ct.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn csv_rows_quote_what_needs_it() {
        let row = super::csv_row(&[
            json!("plain"),
            json!("a,b"),
            json!("say \"hi\""),
            json!("two\nlines"),
            json!(null),
            json!(42),
            json!(true),
        ]);
        assert_eq!(
            row,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,42,true\r\n"
        );
    }
}
