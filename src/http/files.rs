//! `/api/files`: serving stored files and issuing file tokens.
//!
//! Responses carry PocketBase's headers (inline vs attachment, the sandbox
//! CSP, a 30-day cache), answer `Range` (one range: 206; several:
//! `multipart/byteranges`) and conditional requests (`If-None-Match` on
//! Cairn's ETag, `If-Modified-Since`). Files under 1 MiB are read whole and
//! sent as one buffer (no per-chunk overhead); larger ones are streamed in
//! chunks so memory stays bounded.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{Caller, JsonBody, Query, Superuser};
use crate::app::App;
use crate::service::files::serve::{self, Found};
use crate::service::files::{self, Files, names};

const CSP: &str = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";
const CACHE: &str = "max-age=2592000, stale-while-revalidate=86400";
/// Most ranges served in one multipart answer.
const MAX_RANGES: usize = 16;

pub async fn serve(
    State(app): State<Arc<App>>,
    Path((coll, id, name)): Path<(String, String, String)>,
    q: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let found = serve::locate(
        &app.store,
        &app.files,
        &coll,
        &id,
        &name,
        q.get("token"),
        q.get("thumb"),
    )
    .await?;
    let download = q.flag("download").unwrap_or(false);
    respond(&app.files, found, &headers, download).await
}

pub async fn test_s3(
    State(app): State<Arc<App>>,
    _: Superuser,
    body: Result<JsonBody, ApiError>,
) -> Result<StatusCode, ApiError> {
    // PocketBase ignores a body it cannot read here and validates what is
    // left (a blank `filesystem`).
    let body = body.map(|JsonBody(b)| b).unwrap_or_default();
    let fs = body
        .get("filesystem")
        .and_then(Value::as_str)
        .unwrap_or_default();
    crate::service::files::test_s3(&app.settings(), fs).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn token(Caller(actor): Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "token": serve::file_token(&actor)? })))
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Parses `bytes=a-b,c-,-n` against `size`: `None` when the header is not
/// a byte range (serve everything), `Some(empty)` when nothing overlaps.
fn ranges(h: &str, size: u64) -> Option<Vec<(u64, u64)>> {
    let spec = h.trim().strip_prefix("bytes=")?;
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (a, b) = part.trim().split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        let r = if a.is_empty() {
            let n: u64 = b.parse().ok()?;
            if n == 0 {
                continue;
            }
            (size.saturating_sub(n), size)
        } else {
            let start: u64 = a.parse().ok()?;
            let last = if b.is_empty() {
                None
            } else {
                Some(b.parse::<u64>().ok()?)
            };
            if last.is_some_and(|l| l < start) {
                return None;
            }
            if start >= size {
                continue;
            }
            (start, last.map_or(size, |l| l.saturating_add(1).min(size)))
        };
        out.push(r);
    }
    Some(out)
}

async fn respond(
    files: &Files,
    found: Found,
    req: &HeaderMap,
    download: bool,
) -> Result<Response, ApiError> {
    let Found {
        key,
        meta,
        filename,
    } = found;
    let backend = &files.backend();
    let io =
        |e: std::io::Error| ApiError::from(crate::service::Error::Internal(format!("{key}: {e}")));
    let modified = httpdate::fmt_http_date(meta.modified);
    let nanos = meta
        .modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let etag = format!("\"{:x}-{nanos:x}\"", meta.size);

    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    h.insert(header::LAST_MODIFIED, hv(&modified));
    h.insert(header::ETAG, hv(&etag));

    let text = |k: header::HeaderName| req.get(k).and_then(|v| v.to_str().ok());
    let not_modified = match text(header::IF_NONE_MATCH) {
        Some(inm) => inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        }),
        None => text(header::IF_MODIFIED_SINCE)
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                let secs = |t: std::time::SystemTime| {
                    t.duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                };
                secs(meta.modified) <= secs(since)
            }),
    };
    let disp = |inline: bool| {
        let d = if inline { "inline" } else { "attachment" };
        hv(&format!("{d}; filename=\"{filename}\""))
    };
    if not_modified {
        // No bytes read for a 304: the extension stands in for the content.
        let guess = mime_guess::from_path(&filename).first_or_octet_stream();
        h.insert(
            header::CONTENT_DISPOSITION,
            disp(!download && names::inline(guess.essence_str())),
        );
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    // One read serves both the sniffing (the content type comes from the
    // bytes, like at upload) and, for a whole-file answer, the body. Small
    // files come from memory when cached (`service/files/cache.rs`).
    let (whole, mime) = if meta.size < SMALL {
        let f = files.read_small(backend, &key, meta).await.map_err(io)?;
        (Whole::Mem(f.bytes), f.mime)
    } else {
        let mut body = backend.read_range(&key, 0, meta.size).await.map_err(io)?;
        let first = match body.next().await {
            Some(c) => c.map_err(io)?,
            None => Bytes::new(),
        };
        let mime = names::sniff(&first[..first.len().min(files::SERVE_SNIFF)]).into();
        (Whole::Stream(first, body), mime)
    };
    // A file rewritten since `head`: the bytes read are what is served.
    let size = match &whole {
        Whole::Mem(all) => all.len() as u64,
        Whole::Stream(..) => meta.size,
    };
    h.insert(
        header::CONTENT_DISPOSITION,
        disp(!download && names::inline(&mime)),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let if_range_ok = text(header::IF_RANGE).is_none_or(|v| v == etag || v == modified);
    let wanted = text(header::RANGE)
        .filter(|_| if_range_ok)
        .and_then(|r| ranges(r, size));
    let Some(wanted) = wanted.filter(|w| {
        // Ranges adding up to more than the file: serve it whole (as Go does).
        w.iter().map(|(a, b)| b - a).sum::<u64>() <= size && w.len() <= MAX_RANGES
    }) else {
        h.insert(header::CONTENT_TYPE, hv(&mime));
        h.insert(header::CONTENT_LENGTH, hv(&size.to_string()));
        let body = match whole {
            Whole::Mem(all) => Body::from(all),
            Whole::Stream(first, rest) => {
                Body::from_stream(futures_util::stream::once(async move { Ok(first) }).chain(rest))
            }
        };
        return Ok((StatusCode::OK, h, body).into_response());
    };
    if wanted.is_empty() {
        h.remove(header::ACCEPT_RANGES);
        h.insert(header::CONTENT_TYPE, hv(&mime));
        h.insert(header::CONTENT_RANGE, hv(&format!("bytes */{size}")));
        let body = "invalid range: failed to overlap\n";
        return Ok((StatusCode::RANGE_NOT_SATISFIABLE, h, body).into_response());
    }
    if let [(a, b)] = wanted[..] {
        h.insert(header::CONTENT_TYPE, hv(&mime));
        h.insert(
            header::CONTENT_RANGE,
            hv(&format!("bytes {a}-{}/{size}", b - 1)),
        );
        h.insert(header::CONTENT_LENGTH, hv(&(b - a).to_string()));
        let body = match &whole {
            Whole::Mem(all) => Body::from(all.slice(a as usize..b as usize)),
            Whole::Stream(..) => {
                Body::from_stream(backend.read_range(&key, a, b).await.map_err(io)?)
            }
        };
        return Ok((StatusCode::PARTIAL_CONTENT, h, body).into_response());
    }
    // Several ranges: multipart/byteranges, each part streamed in turn.
    let boundary = crate::schema::names::random_id(60);
    let mut parts = Vec::with_capacity(wanted.len());
    let mut total = 0u64;
    for (a, b) in &wanted {
        let head = format!(
            "--{boundary}\r\nContent-Range: bytes {a}-{}/{size}\r\nContent-Type: {mime}\r\n\r\n",
            b - 1,
        );
        total += head.len() as u64 + (b - a) + 2;
        parts.push((head, *a, *b));
    }
    let tail = format!("--{boundary}--\r\n");
    total += tail.len() as u64;
    h.insert(
        header::CONTENT_TYPE,
        hv(&format!("multipart/byteranges; boundary={boundary}")),
    );
    h.insert(header::CONTENT_LENGTH, hv(&total.to_string()));
    let body = match whole {
        Whole::Mem(all) => Body::from(byteranges(&all, parts, tail)),
        Whole::Stream(..) => Body::from_stream(async_stream(Arc::clone(backend), key, parts, tail)),
    };
    Ok((StatusCode::PARTIAL_CONTENT, h, body).into_response())
}

/// Files below this size are read whole into one buffer and sent as one
/// body; larger ones are streamed in chunks (bounded memory).
const SMALL: u64 = 1 << 20;

/// The file as read for the answer.
enum Whole {
    /// A small file, all of it.
    Mem(Bytes),
    /// A large file: its first chunk (for sniffing) and the rest.
    Stream(
        Bytes,
        futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>,
    ),
}

/// The multipart/byteranges body of a file held in memory.
fn byteranges(all: &Bytes, parts: Vec<(String, u64, u64)>, tail: String) -> Vec<u8> {
    let mut out = Vec::new();
    for (head, a, b) in parts {
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&all[a as usize..b as usize]);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

/// The multipart/byteranges body: part headers and ranges, one after another.
fn async_stream(
    backend: Arc<dyn crate::service::files::storage::Backend>,
    key: String,
    parts: Vec<(String, u64, u64)>,
    tail: String,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    let pieces = futures_util::stream::iter(parts).then(move |(head, a, b)| {
        let backend = Arc::clone(&backend);
        let key = key.clone();
        async move {
            let range = match backend.read_range(&key, a, b).await {
                Ok(s) => s,
                Err(e) => Box::pin(futures_util::stream::once(async move { Err(e) })),
            };
            futures_util::stream::once(async move { Ok(Bytes::from(head)) })
                .chain(range)
                .chain(futures_util::stream::once(async {
                    Ok(Bytes::from_static(b"\r\n"))
                }))
        }
    });
    pieces.flatten().chain(futures_util::stream::once(
        async move { Ok(Bytes::from(tail)) },
    ))
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn range_headers() {
        assert_eq!(ranges("bytes=0-3", 11), Some(vec![(0, 4)]));
        assert_eq!(ranges("bytes=0-1,3-4", 11), Some(vec![(0, 2), (3, 5)]));
        assert_eq!(ranges("bytes=-3", 11), Some(vec![(8, 11)]));
        assert_eq!(ranges("bytes=5-", 11), Some(vec![(5, 11)]));
        assert_eq!(ranges("bytes=100-200", 11), Some(vec![]));
        assert_eq!(ranges("bytes=0-100", 11), Some(vec![(0, 11)]));
        assert_eq!(ranges("items=0-1", 11), None);
        assert_eq!(ranges("bytes=x-1", 11), None);
    }
}
