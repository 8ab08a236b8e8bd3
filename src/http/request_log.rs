//! The request log's step of the middleware (`front::layer`). It counts each
//! request in the metrics (by route pattern and status), times each
//! request, learns the caller from the auth extractor (through a task
//! local the extractor fills, [`note_caller`], so no token is verified
//! twice and nothing is allocated for it)
//! and the error detail from the response (a [`LoggedError`] extension set
//! by `ApiError`), and hands what it saw to the log queue; the row is
//! built on the log writer thread. The queue never blocks: see `store::logs`.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::header;
use axum::response::Response;
use serde_json::Value;

use crate::app::App;
use crate::service::logs::{self, LogSettings};
use crate::service::{Actor, Identity};
use crate::store::logs::Row;

tokio::task_local! {
    /// The caller of the request being logged, as the auth extractor
    /// resolved it (set only inside [`around`]).
    static CALLER: RefCell<Option<Identity>>;
}

/// Tells the request log who the caller is (the first caller noted counts;
/// outside a logged request this does nothing). Cloning an identity shares
/// its collection and record; the writer thread reads the name and id.
pub fn note_caller(actor: &Actor) {
    if let Some(i) = actor.identity() {
        let _ = CALLER.try_with(|c| {
            c.borrow_mut().get_or_insert_with(|| i.clone());
        });
    }
}

/// The error a response carried: the message sent and the detail kept
/// back from the client (logged only).
#[derive(Clone, Debug)]
pub struct LoggedError {
    pub message: String,
    pub details: Value,
}

/// The method, URL, referer and user agent of a request, copied back to
/// back into one string. Copied, not cloned: a clone of the URI or of a
/// header shares the connection's read buffer and keeps it alive until the
/// log writer runs, so the connection would allocate a new one per request.
struct Texts {
    all: String,
    /// Where the method, the URL and the referer end.
    ends: [usize; 3],
}

impl Texts {
    fn of(req: &Request) -> Self {
        // One walk over the few headers a request has: two `get`s hashed
        // both names and probed the map (about 300 instructions a request).
        // The first value of each counts, as `get` gives it.
        let (mut referer, mut user_agent) = (None, None);
        for (name, value) in req.headers() {
            let slot = if *name == header::REFERER {
                &mut referer
            } else if *name == header::USER_AGENT {
                &mut user_agent
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        let parts = [
            req.method().as_str(),
            req.uri().path_and_query().map_or("", |p| p.as_str()),
            visible(referer),
            visible(user_agent),
        ];
        let mut all = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; 3];
        for (i, p) in parts.iter().enumerate() {
            all.push_str(p);
            if let Some(end) = ends.get_mut(i) {
                *end = all.len();
            }
        }
        Self { all, ends }
    }

    fn method(&self) -> &str {
        &self.all[..self.ends[0]]
    }

    fn url(&self) -> &str {
        &self.all[self.ends[0]..self.ends[1]]
    }

    fn referer(&self) -> &str {
        &self.all[self.ends[1]..self.ends[2]]
    }

    fn user_agent(&self) -> &str {
        &self.all[self.ends[2]..]
    }
}

/// A header's text when it is visible ASCII (as `to_str` reads it), else empty.
fn visible(v: Option<&header::HeaderValue>) -> &str {
    v.and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// What a logged request keeps until the log writer thread builds its row:
/// one copy of its text, no formatting.
struct Seen {
    texts: Texts,
    peer: Option<std::net::SocketAddr>,
    /// Only when trusted-proxy headers are configured (else the peer).
    user_ip: Option<String>,
    caller: Option<Identity>,
    status: u16,
    exec_ms: f64,
    created: std::time::SystemTime,
    error: Option<LoggedError>,
    settings: LogSettings,
}

impl Seen {
    fn build(self, row: &mut Row) -> bool {
        let mut ip_buf = [0u8; IP_TEXT];
        let remote_ip = self.peer.map_or("", |p| ip_text(p.ip(), &mut ip_buf));
        let (auth, auth_id) = self
            .caller
            .as_ref()
            .map_or(("", ""), |i| (i.collection.name.as_str(), i.id()));
        let t = &self.texts;
        let r = logs::Request {
            method: t.method(),
            url: t.url(),
            status: self.status,
            exec_ms: self.exec_ms,
            created: Some(self.created),
            user_ip: self.user_ip.as_deref().unwrap_or(remote_ip),
            remote_ip,
            referer: t.referer(),
            user_agent: t.user_agent(),
            auth,
            auth_id,
            error: self
                .error
                .as_ref()
                .map(|e| (e.message.as_str(), &e.details)),
        };
        logs::write_request(&r, &self.settings, row)
    }
}

/// The longest IP address text (an IPv6 address with an embedded IPv4).
const IP_TEXT: usize = 45;

/// `ip` as text in `buf`. IPv4 (nearly every peer) is written digit by
/// digit: `to_string` goes through the formatter, which cost more than
/// the rest of the row's text.
fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; IP_TEXT]) -> &str {
    use std::io::Write;
    let len = match ip {
        std::net::IpAddr::V4(v4) => {
            let mut n = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                let digits = [octet / 100, octet / 10 % 10, octet % 10];
                let skip = if octet >= 100 {
                    0
                } else if octet >= 10 {
                    1
                } else {
                    2
                };
                for d in &digits[skip..] {
                    buf[n] = b'0' + d;
                    n += 1;
                }
            }
            n
        }
        std::net::IpAddr::V6(v6) => {
            let mut w = &mut buf[..];
            let _ = write!(w, "{v6}");
            IP_TEXT - w.len()
        }
    };
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// What the layer reads from the settings on every request, kept typed
/// beside the settings document ([`App::log_config`]) so a request does
/// not look keys up in the JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogConfig {
    pub log: LogSettings,
    /// Whether the trusted-proxy settings name any header to read the
    /// client IP from (when not, the client IP is the peer's).
    pub proxy_headers: bool,
}

impl LogConfig {
    pub fn from_settings(settings: &Value) -> Self {
        Self {
            log: LogSettings::from_settings(settings),
            proxy_headers: settings
                .get("trustedProxy")
                .and_then(|t| t.get("headers"))
                .and_then(Value::as_array)
                .is_some_and(|h| !h.is_empty()),
        }
    }
}

/// The step of `front::layer` around everything after it: times the
/// request, counts it and queues its log row (the response `inner` gives,
/// whether a route or an earlier step answered).
pub async fn around<F>(app: &Arc<App>, req: Request, inner: impl FnOnce(Request) -> F) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let started = Instant::now();
    // A clone of the matched path shares its text (no copy).
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let route = matched.as_ref().map_or("unmatched", |m| m.as_str());
    let LogConfig { log, proxy_headers } = app.log_config();
    // The dashboard's static files are not API requests (PocketBase skips them too).
    if log.max_days <= 0 || req.uri().path().starts_with("/_/") {
        let method = req.method().clone();
        let res = inner(req).await;
        let secs = started.elapsed().as_secs_f64();
        app.metrics
            .observe(method.as_str(), route, res.status().as_u16(), secs);
        return res;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let user_ip =
        proxy_headers.then(|| super::ratelimit::client_ip(&app.settings(), req.headers(), peer));
    let texts = Texts::of(&req);
    let (res, caller) = CALLER
        .scope(RefCell::new(None), async {
            let res = inner(req).await;
            (res, CALLER.with(RefCell::take))
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    app.metrics.observe(texts.method(), route, status, secs);
    // Realtime streams and upgrades are connections, not requests.
    let stream = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if stream || res.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        return res;
    }
    let error = res.extensions().get::<LoggedError>().cloned();
    let exec_ms = secs * 1000.0;
    if !logs::keeps(&log, logs::level(status, exec_ms, error.is_some())) {
        return res;
    }
    let seen = Seen {
        texts,
        peer,
        user_ip,
        caller,
        status,
        exec_ms,
        created: std::time::SystemTime::now(),
        error,
        settings: log,
    };
    app.logs.push_build(Box::new(move |row| seen.build(row)));
    res
}

#[cfg(test)]
mod tests {
    use super::{IP_TEXT, Texts, ip_text};

    /// The texts are the method, the path and query, and the first value
    /// of each of the referer and user agent headers, as `get` reads them;
    /// absent or non-visible-ASCII ones are empty.
    #[test]
    fn texts_read_the_first_header_values() {
        let req = axum::http::Request::builder()
            .method("PATCH")
            .uri("http://h/api/x?a=1")
            .header("accept", "*/*")
            .header("user-agent", "ua/1")
            .header("Referer", "http://r/1")
            .header("referer", "http://r/2")
            .header("user-agent", "ua/2")
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(
            req.headers().get("referer").map(|v| v.as_bytes()),
            Some(&b"http://r/1"[..])
        );
        let t = Texts::of(&req);
        assert_eq!(
            (t.method(), t.url(), t.referer(), t.user_agent()),
            ("PATCH", "/api/x?a=1", "http://r/1", "ua/1")
        );
        let bare = axum::http::Request::builder()
            .uri("/api/y")
            .header(
                "user-agent",
                axum::http::HeaderValue::from_bytes(b"caf\xc3\xa9").expect("value"),
            )
            .body(axum::body::Body::empty())
            .expect("request");
        let t = Texts::of(&bare);
        assert_eq!(
            (t.method(), t.url(), t.referer(), t.user_agent()),
            ("GET", "/api/y", "", "")
        );
    }

    #[test]
    fn ip_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.100.255",
            "9.99.199.1",
            "::1",
            "2001:db8::ff00:42:8329",
            "::ffff:192.168.100.200",
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        ] {
            let ip: std::net::IpAddr = ip.parse().expect("ip");
            let mut buf = [0u8; IP_TEXT];
            assert_eq!(ip_text(ip, &mut buf), ip.to_string());
        }
    }
}
