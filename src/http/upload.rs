//! Record bodies that may carry files: multipart read with
//! [`super::multipart`] (file data as slices of the connection's chunks), file
//! parts held in memory up to 1 MiB per request and streamed to temp files
//! past it (bounded memory whatever their size), text parts and
//! `@jsonPayload` merged into the body map. Other content types
//! go through [`RecordBody`].
//!
//! Limits: text parts at most [`MAX_BODY`] in total; the whole multipart
//! body at most the collection's file allowance (each file field's
//! `maxSize` × `maxSelect`, plus [`MAX_BODY`]) and never more than the
//! configured `files_max_body`.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use super::error::ApiError;
use super::extract::{MAX_BODY, RecordBody};
use super::multipart::{self, Multipart};
use crate::app::App;
use crate::schema::FieldKind;
use crate::service::files::tus::Claims;
use crate::service::files::{self, Upload, names};

/// A record body plus its uploaded files.
pub struct RecordForm {
    pub body: Map<String, Value>,
    pub uploads: Vec<Upload>,
}

/// The body limit of a multipart write to the collection named in `path`.
fn body_limit(app: &App, path: &str) -> u64 {
    let cap = app.files.limits.max_body;
    let coll = path
        .strip_prefix("/api/collections/")
        .and_then(|r| r.split('/').next());
    let Some(c) = coll.and_then(|n| app.store.schema().get(n)) else {
        return cap;
    };
    let files: u64 = c
        .fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldKind::File(o) => Some(files::max_size(o) as u64 * o.max_select.max(1) as u64),
            _ => None,
        })
        .sum();
    (files + MAX_BODY as u64).min(cap)
}

fn internal(e: std::io::Error) -> ApiError {
    crate::service::Error::Internal(format!("temp upload: {e}")).into()
}

fn too_large() -> ApiError {
    ApiError::too_large()
}

fn refused(e: multipart::Error) -> ApiError {
    match e {
        multipart::Error::TooLarge => too_large(),
        multipart::Error::Malformed => ApiError::bad_request(),
    }
}

/// How much of an oversized body is read and dropped before the 413.
const DRAIN_MAX: u64 = 128 << 20;

/// Refuses a body whose declared length is past `limit`. A body not much
/// larger is read and dropped first (bounded in bytes and time): answering
/// while the client still sends makes the connection close under it, and
/// most clients then report a reset instead of the 413.
async fn refuse_declared(body: axum::body::Body, declared: u64, limit: u64) -> ApiError {
    use futures_util::StreamExt;
    if declared <= limit.saturating_add(DRAIN_MAX) {
        let mut data = body.into_data_stream();
        let drain = async {
            let mut read = 0u64;
            while let Some(Ok(chunk)) = data.next().await {
                read += chunk.len() as u64;
                if read > declared {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drain).await;
    }
    too_large()
}

/// Streams one file part into memory while it fits in what is left of
/// the request's [`files::upload::MEMORY_PER_REQUEST`] (`mem_left`, reduced
/// by what this part keeps), else into a temp file, sniffing its first
/// bytes. Held parts keep the chunks the reader hands out (slices of what
/// the connection read), so their bytes are not copied before they are
/// stored.
async fn spool<S>(
    app: &App,
    key: String,
    original: String,
    mp: &mut Multipart<S>,
    mem_left: &mut usize,
) -> Result<Upload, ApiError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin,
{
    // The Upload owns its temp file once there is one (removed on drop,
    // even half written).
    let mut up = Upload {
        key,
        original,
        path: std::path::PathBuf::new(),
        data: None,
        size: 0,
        mime: String::new(),
    };
    let mut held: Vec<bytes::Bytes> = Vec::new();
    let mut file: Option<tokio::fs::File> = None;
    loop {
        let Some(chunk) = mp.chunk().await.map_err(refused)? else {
            break;
        };
        up.size += chunk.len() as u64;
        match file.as_mut() {
            Some(f) => f.write_all(&chunk).await.map_err(internal)?,
            None if up.size <= *mem_left as u64 => held.push(chunk),
            None => {
                // Too large to hold: sniff now, then stream to a temp file.
                held.push(chunk);
                up.mime = names::sniff(&head(&held));
                up.path = files::upload::temp_path(&app.files.tmp);
                let mut f = tokio::fs::File::create(&up.path).await.map_err(internal)?;
                for part in held.drain(..) {
                    f.write_all(&part).await.map_err(internal)?;
                }
                file = Some(f);
            }
        }
    }
    match file {
        Some(mut f) => f.flush().await.map_err(internal)?,
        None => {
            up.mime = names::sniff(&head(&held));
            *mem_left -= up.size as usize;
            up.data = Some(held);
        }
    }
    Ok(up)
}

/// The first [`names::SNIFF_LEN`] bytes of `parts` (borrowed when the first
/// chunk holds them).
fn head(parts: &[bytes::Bytes]) -> std::borrow::Cow<'_, [u8]> {
    match parts.first() {
        Some(p) if p.len() >= names::SNIFF_LEN || parts.len() == 1 => {
            std::borrow::Cow::Borrowed(&p[..p.len().min(names::SNIFF_LEN)])
        }
        _ => {
            let mut out: Vec<u8> = Vec::with_capacity(names::SNIFF_LEN);
            for p in parts {
                let want = names::SNIFF_LEN - out.len();
                out.extend_from_slice(&p[..p.len().min(want)]);
                if out.len() == names::SNIFF_LEN {
                    break;
                }
            }
            std::borrow::Cow::Owned(out)
        }
    }
}

impl RecordForm {
    /// Adds the finished TUS uploads the body names (`"tus:<id>"` values of
    /// file fields) to the uploads; consume the claims once the write has
    /// committed (dropped, they leave the uploads claimable).
    pub async fn with_tus(
        mut self,
        app: &App,
        actor: &crate::service::Actor,
        c: &crate::schema::Collection,
    ) -> Result<(Self, Claims), ApiError> {
        let tus = &app.files.tus;
        let (more, claims) = tus
            .claim_in_body(actor, c, &mut self.body, &app.files.tmp)
            .await?;
        self.uploads.extend(more);
        Ok((self, claims))
    }
}

impl FromRequest<Arc<App>> for RecordForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
            let RecordBody(body) = RecordBody::from_request(req, app).await?;
            return Ok(RecordForm {
                body,
                uploads: Vec::new(),
            });
        }
        let boundary = multer::parse_boundary(&ct).map_err(|_| ApiError::bad_request())?;
        let limit = body_limit(app, req.uri().path());
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let Some(n) = declared.filter(|&n| n > limit) {
            return Err(refuse_declared(req.into_body(), n, limit).await);
        }
        let stream = req.into_body().into_data_stream();
        let mut mp = Multipart::new(stream, &boundary, limit).ok_or_else(ApiError::bad_request)?;
        let mut body = Map::new();
        let mut uploads = Vec::new();
        let mut text_total = 0usize;
        let mut mem_left = files::upload::MEMORY_PER_REQUEST;
        loop {
            let Some(part) = mp.next_part().await.map_err(refused)? else {
                break;
            };
            let key = part.name.unwrap_or_default();
            if let Some(original) = part.file_name {
                uploads.push(spool(app, key, original, &mut mp, &mut mem_left).await?);
                continue;
            }
            let text = mp
                .text(MAX_BODY.saturating_sub(text_total))
                .await
                .map_err(|_| too_large())?;
            text_total += text.len();
            super::body::push_value(&mut body, key, Value::String(text));
        }
        // Several `@jsonPayload` parts merge in order, as in every other body.
        super::body::merge_json_payload(&mut body).map_err(|_| ApiError::bad_request())?;
        Ok(RecordForm { body, uploads })
    }
}
