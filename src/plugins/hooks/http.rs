//! Custom routes (`routerAdd`) in front of the built-in API, and
//! `$http.send`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::bridge::{self, RouteReply, RouteRequest};
use super::{Generation, Hooks};
use crate::app::App;
use crate::http::extract::Caller;
use crate::plugins::runtime::HostError;
use crate::service::Actor;

/// Largest request body handed to a JS route.
const MAX_BODY: usize = 32 << 20;

/// The step of `front::layer`: a request matching a `routerAdd` route is
/// answered by its handler; anything else is given back, to go on to the
/// built-in routes.
pub async fn answer(app: &Arc<App>, req: Request) -> Result<Response, Request> {
    let Some(hooks) = app.hooks.get() else {
        return Err(req);
    };
    let generation = hooks.current();
    let found = generation.routes.iter().enumerate().find_map(|(i, p)| {
        p.matches(req.method().as_str(), req.uri().path())
            .map(|m| (i, m))
    });
    let Some((idx, params)) = found else {
        return Err(req);
    };
    Ok(serve(app, hooks, generation, req, idx, params).await)
}

/// Runs route `idx` of `generation` for `req`.
async fn serve(
    app: &Arc<App>,
    hooks: &Hooks,
    generation: Arc<Generation>,
    req: Request,
    idx: usize,
    params: Vec<(String, String)>,
) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let (mut parts, body) = req.into_parts();
    let actor = match caller(&mut parts, app).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(413, "Request entity too large."),
    };
    let ip = peer_ip(&parts);
    let mut headers = String::new();
    for (k, v) in &parts.headers {
        if let Ok(v) = v.to_str() {
            headers.extend([k.as_str(), ": ", v, "\n"]);
        }
    }
    let req = RouteRequest {
        idx,
        method,
        path,
        raw_query: parts.uri.query().unwrap_or_default().to_owned(),
        params,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        ip,
        auth: actor
            .identity()
            .is_some()
            .then(|| auth_json(&actor).to_string()),
        schema: app.store.schema().generation,
    };
    let out = match bridge::run_here(hooks, &generation, &req) {
        Some(out) => out,
        None => bridge::run_pooled(hooks, Arc::clone(&generation), req).await,
    };
    match out {
        Ok(r) => reply(r),
        Err(e) => {
            // Time budget, memory limit or a broken engine: logged, and
            // answered like any other script error.
            tracing::error!(route = %parts.uri.path(), error = %e, "route handler failed");
            error(400, "Something went wrong while processing your request.")
        }
    }
}

/// The response a route handler built.
fn reply(r: RouteReply) -> Response {
    if !r.log.is_empty() {
        tracing::error!(error = %r.log, "route handler threw");
    }
    let mut res = Response::new(Body::from(r.body));
    *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let h = res.headers_mut();
    if !r.content_type.is_empty()
        && let Ok(val) = HeaderValue::from_str(&r.content_type)
    {
        h.insert(axum::http::header::CONTENT_TYPE, val);
    }
    for (k, v) in r.headers {
        if let (Ok(name), Ok(val)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.insert(name, val);
        }
    }
    res
}

/// The peer's address as text (empty when unknown). An IPv4 address is
/// written digit by digit: `Display` goes through the formatting machinery,
/// ~1.3k instructions a request on issue 15's benchmark.
pub fn peer_ip(parts: &axum::http::request::Parts) -> String {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => ip_text(addr.ip()),
        None => String::new(),
    }
}

fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut s = String::with_capacity(15);
    for (i, o) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if o >= 100 {
            s.push(char::from(b'0' + o / 100));
        }
        if o >= 10 {
            s.push(char::from(b'0' + o / 10 % 10));
        }
        s.push(char::from(b'0' + o % 10));
    }
    s
}

/// The request's caller, or the response refusing its credentials.
pub async fn caller(
    parts: &mut axum::http::request::Parts,
    app: &Arc<App>,
) -> Result<Actor, Response> {
    <Caller as axum::extract::FromRequestParts<Arc<App>>>::from_request_parts(parts, app)
        .await
        .map(|Caller(actor)| actor)
        .map_err(IntoResponse::into_response)
}

/// `e.auth` as `{collection, record}` (what the prelude turns into a Record).
pub fn auth_json(actor: &Actor) -> Value {
    match actor.identity() {
        Some(i) => json!({
            "collection": i.collection.to_json(),
            "record": crate::service::records::to_public(&i.collection, &i.record, actor),
        }),
        None => Value::Null,
    }
}

pub fn error(status: u16, message: &str) -> Response {
    response(&json!({
        "status": status,
        "type": "application/json",
        "body": json!({"data": {}, "message": message, "status": status}).to_string(),
    }))
}

/// The response a handler built (`{status, type, body, headers, log}`).
pub fn response(v: &Value) -> Response {
    if let Some(log) = v["log"].as_str().filter(|s| !s.is_empty()) {
        tracing::error!(error = %log, "route handler threw");
    }
    let status =
        StatusCode::from_u16(v["status"].as_u64().unwrap_or(200) as u16).unwrap_or(StatusCode::OK);
    let mut res = Response::new(Body::from(
        v["body"].as_str().unwrap_or_default().to_owned(),
    ));
    *res.status_mut() = status;
    let h = res.headers_mut();
    if let Some(t) = v["type"].as_str().filter(|t| !t.is_empty())
        && let Ok(val) = HeaderValue::from_str(t)
    {
        h.insert(axum::http::header::CONTENT_TYPE, val);
    }
    if let Some(extra) = v["headers"].as_object() {
        for (k, val) in extra {
            if let (Ok(name), Some(Ok(val))) = (
                HeaderName::from_bytes(k.as_bytes()),
                val.as_str().map(HeaderValue::from_str),
            ) {
                h.insert(name, val);
            }
        }
    }
    res
}

/// `$http.send`: synchronous for the script; private and loopback
/// addresses are refused unless the host is allowed in the configuration.
pub fn send(app: &App, rt: &tokio::runtime::Handle, args: &Value) -> Result<Value, HostError> {
    rt.block_on(send_async(app, args, false))
}

/// `$http.send` for async callers (Cairn-native plugins' `fetch`): `trusted`
/// skips the private-address check for a host the caller allowed itself.
pub async fn send_async(app: &App, args: &Value, trusted: bool) -> Result<Value, HostError> {
    let url = reqwest::Url::parse(args["url"].as_str().unwrap_or_default())
        .map_err(|e| HostError::new(400, format!("$http.send: invalid url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HostError::new(400, "$http.send: only http and https URLs"));
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    let allowed = trusted || app.config.js_allowed_hosts.iter().any(|h| h == &host);
    let port = url.port_or_known_default().unwrap_or(80);
    let budget = std::time::Duration::from_millis(app.config.js_time_limit_ms.max(1));
    let timeout =
        std::time::Duration::from_secs(args["timeout"].as_u64().unwrap_or(120).max(1)).min(budget);
    let method = reqwest::Method::from_bytes(args["method"].as_str().unwrap_or("GET").as_bytes())
        .map_err(|_| HostError::new(400, "$http.send: invalid method"))?;
    let headers: HashMap<String, String> = args["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let body = args["body"].as_str().unwrap_or_default().to_owned();
    {
        if !allowed {
            let addrs = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| HostError::new(400, format!("$http.send: {e}")))?;
            for a in addrs {
                if is_private(a.ip()) {
                    return Err(HostError::new(
                        400,
                        format!(
                            "$http.send: {host} resolves to a private address; allow it with js_allowed_hosts"
                        ),
                    ));
                }
            }
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HostError::new(400, e.to_string()))?;
        let mut req = client.request(method, url);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if !body.is_empty() {
            req = req.body(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| HostError::new(400, format!("$http.send: {e}")))?;
        let status = res.status().as_u16();
        let mut hs = Map::new();
        for (k, v) in res.headers() {
            if let Ok(v) = v.to_str() {
                hs.insert(k.as_str().to_owned(), json!([v]));
            }
        }
        let text = res
            .text()
            .await
            .map_err(|e| HostError::new(400, format!("$http.send: {e}")))?;
        Ok(json!({"statusCode": status, "headers": hs, "body": text}))
    }
}

fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v) => {
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64
        }
        std::net::IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped().is_some_and(|m| is_private(m.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ip_text;
    use std::net::IpAddr;

    #[test]
    fn ip_text_writes_what_display_writes() {
        for s in [
            "127.0.0.1",
            "0.0.0.0",
            "10.9.100.255",
            "192.168.1.20",
            "1.22.103.4",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = s.parse().expect("an address");
            assert_eq!(ip_text(ip), ip.to_string(), "{s}");
        }
    }
}
