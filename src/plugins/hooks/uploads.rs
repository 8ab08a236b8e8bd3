//! `e.findUploadedFiles(key)` in the record request hooks of a REST create
//! or update: the request's new uploads under a form key, as PocketBase's
//! `filesystem.File` values (`name`, `originalName`, `size`, and a
//! `reader.open()` that `toString(reader, max)` reads).
//!
//! The event carries only what describes each upload (a few strings); the
//! bytes stay where the HTTP layer put them (in memory, or spooled to a
//! temp file) and are read only when a handler reads one, through the
//! `upload.read` host operation. What it reads is installed on the worker
//! for the one call (`install`, `clear`), so a handler can reach only the
//! uploads of its own request, by index, never a path.

use std::cell::RefCell;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::filter::ast::RequestInfo;
use crate::plugins::runtime::HostError;
use crate::service::files::names::stored_name;
use crate::service::files::upload::Upload;

/// Where one upload's bytes are.
enum Source {
    /// Held in memory, in the chunks they arrived in.
    Memory(Vec<bytes::Bytes>),
    /// Spooled to a temp file (moved into storage by the write, after
    /// which it reads as closed).
    File(PathBuf),
}

/// The bytes a call's `upload.read` may read, by index.
#[derive(Default)]
pub struct Held(Vec<Source>);

thread_local! {
    static HELD: RefCell<Held> = RefCell::new(Held::default());
}

/// The event's `files` (`[{key, name, originalName, size}]`, `name` a new
/// stored name as PocketBase gives each found file) and their bytes'
/// places; `null` when the request is not multipart (the script throws
/// Go's error for it).
pub fn describe(req: &RequestInfo, uploads: &[Upload]) -> (Value, Held) {
    let content_type = req.headers.get("content_type").and_then(Value::as_str);
    let multipart = content_type.is_some_and(|t| {
        t.get(..19)
            .is_some_and(|p| p.eq_ignore_ascii_case("multipart/form-data"))
    });
    if !multipart {
        return (Value::Null, Held::default());
    }
    let mut held = Vec::with_capacity(uploads.len());
    let files = uploads
        .iter()
        .map(|u| {
            held.push(match &u.data {
                Some(chunks) => Source::Memory(chunks.clone()),
                None => Source::File(u.path.clone()),
            });
            json!({
                "key": u.key,
                "name": stored_name(&u.original, &u.mime),
                "originalName": u.original,
                "size": u.size,
            })
        })
        .collect();
    (Value::Array(files), Held(held))
}

/// Makes `held` what this thread's next call reads.
pub fn install(held: Held) {
    HELD.with(|h| *h.borrow_mut() = held);
}

/// After the call: nothing is readable any more.
pub fn clear() {
    HELD.with(|h| h.borrow_mut().0.clear());
}

/// `upload.read {i, max, bytes}`: up to `max` bytes (0: PocketBase's 32 MiB)
/// of upload `i`, as text (invalid UTF-8 replaced) or, with `bytes`, as an
/// array of numbers.
pub fn read(args: &Value) -> Result<Value, HostError> {
    let i = args["i"].as_u64().unwrap_or(u64::MAX) as usize;
    let max = match args["max"].as_u64() {
        Some(0) | None => 32 << 20,
        Some(n) => n as usize,
    };
    let data = HELD.with(|h| -> Result<Vec<u8>, HostError> {
        let held = h.borrow();
        let closed = || HostError::new(400, "read: file already closed");
        match held.0.get(i).ok_or_else(closed)? {
            Source::Memory(chunks) => {
                let mut out = Vec::new();
                for c in chunks {
                    let take = c.len().min(max - out.len());
                    out.extend_from_slice(&c[..take]);
                }
                Ok(out)
            }
            Source::File(path) => {
                use std::io::Read;
                let f = std::fs::File::open(path).map_err(|_| closed())?;
                let mut out = Vec::new();
                f.take(max as u64)
                    .read_to_end(&mut out)
                    .map_err(|e| HostError::new(400, format!("read: {e}")))?;
                Ok(out)
            }
        }
    })?;
    if args["bytes"] == true {
        return Ok(Value::Array(data.into_iter().map(Value::from).collect()));
    }
    Ok(Value::String(String::from_utf8_lossy(&data).into_owned()))
}
