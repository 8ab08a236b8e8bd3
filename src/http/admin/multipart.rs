//! Multipart forms under `/_/` (the record editor with files, the CSV
//! import): the CSRF token is read from the body's first parts without
//! buffering the uploads, and a multipart body becomes the same [`Form`]
//! plus the uploads the API's binder produces.
//!
//! Why peek: the CSRF layer must see `_csrf` before any handler runs, but a
//! record form may carry files far larger than a form body. Browsers send
//! parts in document order and every dashboard form starts with its hidden
//! `_csrf`, so the first [`PEEK`] bytes hold it; they are then put back in
//! front of the rest of the stream.

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use serde_json::Value;

use super::view::Form;
use crate::http::upload::RecordForm;
use crate::service::files::Upload;

/// How much of a multipart body is read to find `_csrf`.
const PEEK: usize = 64 * 1024;

/// Is this a multipart content type?
pub fn is_multipart(ct: &str) -> bool {
    ct.to_ascii_lowercase().starts_with("multipart/form-data")
}

/// The `_csrf` part of a multipart body (empty when absent from the first
/// [`PEEK`] bytes) and the body, unchanged, to hand on.
pub async fn csrf_field(ct: &str, body: Body) -> (String, Body) {
    let mut stream = body.into_data_stream();
    let mut head = Vec::new();
    let mut failed = None;
    while head.len() < PEEK {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) => {
                failed = Some(e);
                break;
            }
            None => break,
        }
    }
    let head = Bytes::from(head);
    let token = match multer::parse_boundary(ct) {
        Ok(boundary) => first_token(head.clone(), boundary).await,
        Err(_) => String::new(),
    };
    let front = futures_util::stream::once(async move { Ok::<_, axum::Error>(head) });
    let body = match failed {
        Some(e) => Body::from_stream(front.chain(futures_util::stream::once(async { Err(e) }))),
        None => Body::from_stream(front.chain(stream)),
    };
    (token, body)
}

async fn first_token(head: Bytes, boundary: String) -> String {
    let s = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) });
    let mut mp = multer::Multipart::new(s, boundary);
    while let Ok(Some(field)) = mp.next_field().await {
        let is_csrf = field.name() == Some("_csrf") && field.file_name().is_none();
        if is_csrf {
            return field.text().await.unwrap_or_default();
        }
        if field.file_name().is_some() {
            break;
        }
    }
    String::new()
}

/// A record form: its text parts as [`Form`] pairs, and its files (empty
/// file inputs, which browsers send as nameless empty parts, dropped).
pub struct Posted {
    pub form: Form,
    pub uploads: Vec<Upload>,
}

impl From<RecordForm> for Posted {
    fn from(r: RecordForm) -> Self {
        let mut pairs = Vec::new();
        for (k, v) in r.body {
            match v {
                Value::Array(a) => {
                    for x in a {
                        pairs.push((k.clone(), text(x)));
                    }
                }
                other => pairs.push((k, text(other))),
            }
        }
        let uploads = r
            .uploads
            .into_iter()
            .filter(|u| !(u.original.is_empty() && u.size == 0))
            .collect();
        Posted {
            form: Form(pairs),
            uploads,
        }
    }
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
