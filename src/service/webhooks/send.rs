//! One delivery attempt: a signed POST of the frozen body, no redirects,
//! the endpoint's timeout, and the first bytes of the answer kept for the
//! log.

use std::time::{Duration, Instant};

use super::endpoints::Endpoint;
use super::ssrf::{self, Blocked};
use super::{Webhooks, now_ms, sign};
use crate::store::webhooks::Claimed;

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct Result_ {
    pub started: i64,
    pub duration_ms: i64,
    pub status: Option<u16>,
    /// `timeout|connect|reset|tls|blocked_address|redirect|http`, or `None` on 2xx.
    pub error_kind: Option<&'static str>,
    pub response: Vec<u8>,
    pub truncated: bool,
    pub retry_after: Option<Duration>,
}

impl Result_ {
    pub fn ok(&self) -> bool {
        self.error_kind.is_none()
    }
}

/// Sends `d` to `ep` once.
pub async fn attempt(hub: &Webhooks, ep: &Endpoint, d: &Claimed) -> Result_ {
    let started = now_ms();
    let clock = Instant::now();
    let mut out = Result_ {
        started,
        duration_ms: 0,
        status: None,
        error_kind: None,
        response: Vec::new(),
        truncated: false,
        retry_after: None,
    };
    let res = request(hub, ep, d, &mut out).await;
    if let Err(kind) = res {
        out.error_kind = Some(kind);
    }
    out.duration_ms = clock.elapsed().as_millis() as i64;
    out
}

async fn request(
    hub: &Webhooks,
    ep: &Endpoint,
    d: &Claimed,
    out: &mut Result_,
) -> Result<(), &'static str> {
    let url = match &ep.url {
        Some(url) => url.clone(),
        None => reqwest::Url::parse(&ep.def.url).map_err(|_| "connect")?,
    };
    if let Some(ip) = ssrf::literal_ip(&url)
        && hub.guard.check(ip).is_err()
    {
        return Err("blocked_address");
    }
    let ts = out.started / 1000;
    let keys = ep.signing_keys(out.started);
    let signature = sign::signature_header(&keys, &d.event_id, ts, d.body.as_bytes());
    let mut req = hub
        .client
        .post(url)
        .timeout(Duration::from_millis(ep.def.timeout_ms))
        .header("content-type", "application/json")
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature);
    for (k, v) in &ep.def.headers {
        req = req.header(k, v);
    }
    let mut resp = req
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let status = resp.status();
    out.status = Some(status.as_u16());
    out.retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let cap = hub.config.response_capture_bytes;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap.saturating_sub(out.response.len());
                if chunk.len() > room {
                    out.response.extend_from_slice(&chunk[..room]);
                    out.truncated = true;
                    break;
                }
                out.response.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // The status is known; a body cut short still counts by status.
            Err(e) if status.is_success() => {
                tracing::debug!(error = %e, "webhook response body cut short");
                break;
            }
            Err(e) => return Err(classify(&e)),
        }
    }
    if status.is_success() {
        Ok(())
    } else if status.is_redirection() {
        Err("redirect")
    } else {
        Err("http")
    }
}

/// Maps a client error to the log's error kinds.
fn classify(e: &reqwest::Error) -> &'static str {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut text = String::new();
    while let Some(s) = source {
        if s.downcast_ref::<Blocked>().is_some() {
            return "blocked_address";
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            )
        {
            return "reset";
        }
        text.push_str(&s.to_string().to_ascii_lowercase());
        text.push(' ');
        source = s.source();
    }
    if e.is_timeout() {
        "timeout"
    } else if text.contains("tls") || text.contains("certificate") {
        "tls"
    } else if e.is_connect() {
        "connect"
    } else if text.contains("reset") || text.contains("closed") || text.contains("incomplete") {
        "reset"
    } else {
        "connect"
    }
}
