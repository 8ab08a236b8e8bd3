//! The request-log middleware: one layer on the router. It counts each
//! request in the metrics (by route pattern and status), times each
//! request, learns the caller from the auth extractor (through an
//! [`AuthSlot`] in the request's extensions, so no token is verified twice)
//! and the error detail from the response (a [`LoggedError`] extension set
//! by `ApiError`), and hands one entry to the log queue. The queue never
//! blocks: see `store::logs`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::app::App;
use crate::service::Actor;
use crate::service::logs::{self, LogSettings};

/// Where the auth extractor leaves the caller's collection name and id.
#[derive(Clone, Default)]
pub struct AuthSlot(Arc<OnceLock<(String, String)>>);

impl AuthSlot {
    pub fn set(&self, actor: &Actor) {
        if let Some(i) = actor.identity() {
            let _ = self.0.set((i.collection.name.clone(), i.id().to_owned()));
        }
    }
}

/// The error a response carried: the message sent and the detail kept
/// back from the client (logged only).
#[derive(Clone, Debug)]
pub struct LoggedError {
    pub message: String,
    pub details: Value,
}

fn header_str(req: &Request, h: header::HeaderName) -> String {
    req.headers()
        .get(h)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub async fn layer(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let settings = app.settings();
    let log = LogSettings::from_settings(&settings);
    // The dashboard's static files are not API requests (PocketBase skips them too).
    if log.max_days <= 0 || req.uri().path().starts_with("/_/") {
        let method = req.method().clone();
        let res = next.run(req).await;
        let secs = started.elapsed().as_secs_f64();
        app.metrics
            .observe(method.as_str(), &route, res.status().as_u16(), secs);
        return res;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let user_ip = super::ratelimit::client_ip(&settings, req.headers(), peer);
    let method = req.method().as_str().to_owned();
    let url = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let referer = header_str(&req, header::REFERER);
    let user_agent = header_str(&req, header::USER_AGENT);
    let slot = AuthSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    app.metrics.observe(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    // Realtime streams and upgrades are connections, not requests.
    let stream = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if stream || res.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        return res;
    }
    let (auth, auth_id) = slot.0.get().cloned().unwrap_or_default();
    let r = logs::Request {
        method,
        url,
        status: res.status().as_u16(),
        exec_ms: started.elapsed().as_secs_f64() * 1000.0,
        remote_ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        user_ip,
        referer,
        user_agent,
        auth,
        auth_id,
        error: res
            .extensions()
            .get::<LoggedError>()
            .map(|e| (e.message.clone(), e.details.clone())),
    };
    if let Some(e) = logs::entry(r, &log) {
        app.logs.push(e);
    }
    res
}
