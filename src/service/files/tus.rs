//! Resumable uploads with the TUS protocol (1.0.0 core + creation +
//! termination + expiration), beyond PocketBase.
//!
//! An upload belongs to the signed-in record that created it. Its bytes
//! grow in `<data dir>/.tus/<id>.bin` (the offset is the file's size, so a
//! broken PATCH keeps what arrived) beside `<id>.json` (length, name, type,
//! owner). A finished upload is attached to a record by sending
//! `"tus:<id>"` as a file field's value in a record create or update
//! (`field`, `field+`, `+field`), alone or inside a batch request: it then
//! goes through the same staging as a multipart file (maxSize, sniffed
//! mimeTypes, stored name). The upload is only *reserved* while the write
//! runs ([`Claims`]) and consumed once it commits, so a write that fails (a
//! validation error, a failed batch) leaves it claimable by the next try.
//! Uploads untouched for the expiry period are removed by the files sweep
//! job.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::Upload;
use crate::service::{Actor, Error};

/// The value prefix that names a finished TUS upload in a record body.
pub const PREFIX: &str = "tus:";

/// What is kept about an upload besides its bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Info {
    pub length: u64,
    pub filename: String,
    pub owner: String,
}

/// The TUS upload area.
pub struct Tus {
    dir: PathBuf,
    pub max_size: u64,
    pub expiry: Duration,
    /// Uploads with a PATCH in progress (a second one gets 409) or
    /// reserved by a record write.
    busy: Arc<Mutex<HashSet<String>>>,
}

/// Uploads reserved by one record write (or batch). [`Claims::consume`]
/// deletes them after the commit; dropping the value without it (the write
/// failed) only lifts the reservation, so the uploads can be attached again.
#[derive(Default)]
pub struct Claims {
    busy: Arc<Mutex<HashSet<String>>>,
    dir: PathBuf,
    ids: Vec<String>,
}

impl Claims {
    /// The write committed: the uploads are used up.
    pub async fn consume(self) {
        for id in &self.ids {
            for ext in ["bin", "json"] {
                let _ = tokio::fs::remove_file(self.dir.join(format!("{id}.{ext}"))).await;
            }
        }
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            for id in &self.ids {
                busy.remove(id);
            }
        }
    }
}

fn missing() -> Error {
    Error::missing_record()
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(format!("tus: {e}"))
}

/// `collectionId/recordId` of a signed-in caller.
fn owner(actor: &Actor) -> Result<String, Error> {
    let id = actor.identity().ok_or(Error::Unauthorized(
        "The request requires valid record authorization token.",
    ))?;
    Ok(format!("{}/{}", id.collection.id, id.id()))
}

/// A non-PocketBase status (TUS answers 409 and 413 with a small body).
fn status(code: u16, message: &str) -> Error {
    let mut m = serde_json::Map::new();
    m.insert("message".into(), message.into());
    m.insert("status".into(), code.into());
    Error::Raw(code, m)
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Parses `Upload-Metadata` (`key base64,key base64`) for `filename`.
pub fn filename_from_metadata(meta: &str) -> String {
    use base64::Engine;
    for pair in meta.split(',') {
        let mut it = pair.trim().splitn(2, ' ');
        if it.next() == Some("filename") {
            let v = it.next().unwrap_or_default();
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(v.trim())
                && let Ok(s) = String::from_utf8(b)
            {
                return s;
            }
        }
    }
    String::new()
}

impl Tus {
    pub fn new(dir: PathBuf, max_size: u64, expiry: Duration) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            max_size,
            expiry,
            busy: Arc::default(),
        })
    }

    fn paths(&self, id: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{id}.json")),
            self.dir.join(format!("{id}.bin")),
        )
    }

    /// The upload `id` of the caller, with its current offset.
    pub async fn info(&self, actor: &Actor, id: &str) -> Result<(Info, u64), Error> {
        let me = owner(actor)?;
        if !valid_id(id) {
            return Err(missing());
        }
        let (meta, data) = self.paths(id);
        let text = tokio::fs::read(&meta).await.map_err(|_| missing())?;
        let info: Info = serde_json::from_slice(&text).map_err(|_| missing())?;
        if info.owner != me {
            return Err(missing());
        }
        let offset = tokio::fs::metadata(&data)
            .await
            .map_err(|_| missing())?
            .len();
        Ok((info, offset))
    }

    /// Creation: a new empty upload of `length` bytes.
    pub async fn create(
        &self,
        actor: &Actor,
        length: u64,
        filename: String,
    ) -> Result<String, Error> {
        let me = owner(actor)?;
        let id = crate::schema::names::random_secret(32);
        let (meta, data) = self.paths(&id);
        let info = Info {
            length,
            filename,
            owner: me,
        };
        tokio::fs::write(&data, b"").await.map_err(io)?;
        let json = serde_json::to_vec(&info).map_err(|e| Error::Internal(e.to_string()))?;
        tokio::fs::write(&meta, json).await.map_err(io)?;
        Ok(id)
    }

    /// PATCH: appends `body` at `offset`; returns the new offset. A broken
    /// body keeps the bytes that arrived (the client resumes from there).
    pub async fn append<S, E>(
        &self,
        actor: &Actor,
        id: &str,
        offset: u64,
        mut body: S,
    ) -> Result<u64, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let (info, current) = self.info(actor, id).await?;
        if offset != current {
            return Err(status(
                409,
                "Upload-Offset does not match the upload's offset.",
            ));
        }
        {
            let Ok(mut busy) = self.busy.lock() else {
                return Err(Error::Internal("tus lock".into()));
            };
            if !busy.insert(id.to_owned()) {
                return Err(status(409, "The upload is being written to."));
            }
        }
        let res = async {
            let (_, data) = self.paths(id);
            let mut file = tokio::fs::OpenOptions::new()
                .append(true)
                .open(&data)
                .await
                .map_err(io)?;
            let mut at = current;
            while let Some(chunk) = body.next().await {
                let Ok(chunk) = chunk else { break };
                if at + chunk.len() as u64 > info.length {
                    file.flush().await.map_err(io)?;
                    return Err(status(413, "The body goes past Upload-Length."));
                }
                file.write_all(&chunk).await.map_err(io)?;
                at += chunk.len() as u64;
            }
            file.flush().await.map_err(io)?;
            Ok(at)
        }
        .await;
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(id);
        }
        res
    }

    /// Termination: deletes the upload.
    pub async fn terminate(&self, actor: &Actor, id: &str) -> Result<(), Error> {
        self.info(actor, id).await?;
        let (meta, data) = self.paths(id);
        let _ = tokio::fs::remove_file(&data).await;
        let _ = tokio::fs::remove_file(&meta).await;
        Ok(())
    }

    /// Reserves a finished upload of the caller (into `claims`) and hands it
    /// over as a record upload under form key `key`: the bytes are
    /// hard-linked into `tmp` (copied on another filesystem), so the upload
    /// itself stays until [`Claims::consume`].
    async fn claim(
        &self,
        actor: &Actor,
        id: &str,
        key: &str,
        tmp: &Path,
        claims: &mut Claims,
    ) -> Result<Upload, Error> {
        let bad = |msg: &str| {
            let mut d = serde_json::Map::new();
            let name = crate::schema::value::split_modifier(key).0;
            d.insert(
                name.to_owned(),
                crate::schema::validate::FieldError::new("validation_invalid_tus_upload", msg)
                    .to_json(),
            );
            Error::invalid("Failed to save record.", d)
        };
        let (info, offset) = self
            .info(actor, id)
            .await
            .map_err(|_| bad("Unknown upload."))?;
        if offset != info.length {
            return Err(bad("The upload is not finished."));
        }
        let reserved = self
            .busy
            .lock()
            .map(|mut b| b.insert(id.to_owned()))
            .unwrap_or(false);
        if !reserved {
            return Err(bad("The upload is in use by another request."));
        }
        claims.ids.push(id.to_owned());
        let (_, data) = self.paths(id);
        let path = super::upload::temp_path(tmp);
        if tokio::fs::hard_link(&data, &path).await.is_err() {
            tokio::fs::copy(&data, &path).await.map_err(io)?;
        }
        let mut head = vec![0u8; super::names::SNIFF_LEN];
        let n = {
            use tokio::io::AsyncReadExt;
            let mut f = tokio::fs::File::open(&path).await.map_err(io)?;
            let mut n = 0;
            while n < head.len() {
                let m = f.read(&mut head[n..]).await.map_err(io)?;
                if m == 0 {
                    break;
                }
                n += m;
            }
            n
        };
        let filename = if info.filename.is_empty() {
            "upload".to_owned()
        } else {
            info.filename
        };
        Ok(Upload {
            key: key.to_owned(),
            original: filename,
            path,
            data: None,
            size: offset,
            mime: super::names::sniff(&head[..n]),
        })
    }

    /// When an upload untouched since `modified` expires.
    pub fn expires(&self, modified: SystemTime) -> SystemTime {
        modified + self.expiry
    }

    /// Removes uploads untouched for longer than the expiry period.
    pub async fn sweep(&self) -> usize {
        let Ok(mut rd) = tokio::fs::read_dir(&self.dir).await else {
            return 0;
        };
        let now = SystemTime::now();
        let mut removed = 0;
        while let Ok(Some(e)) = rd.next_entry().await {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let data = p.with_extension("bin");
            let touched = tokio::fs::metadata(&data)
                .await
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if self.expires(touched) <= now {
                let _ = tokio::fs::remove_file(&data).await;
                let _ = tokio::fs::remove_file(&p).await;
                removed += 1;
            }
        }
        removed
    }
}

impl Tus {
    /// Replaces `"tus:<id>"` values of `c`'s file fields in a record body by
    /// the finished uploads they name, reserved until the caller consumes
    /// the returned [`Claims`] (after the commit) or drops them.
    pub async fn claim_in_body(
        &self,
        actor: &Actor,
        c: &crate::schema::Collection,
        body: &mut serde_json::Map<String, serde_json::Value>,
        tmp: &Path,
    ) -> Result<(Vec<Upload>, Claims), Error> {
        use serde_json::Value;
        let mut out = Vec::new();
        let mut claims = Claims {
            busy: Arc::clone(&self.busy),
            dir: self.dir.clone(),
            ids: Vec::new(),
        };
        let keys: Vec<String> = body.keys().cloned().collect();
        for key in keys {
            let name = crate::schema::value::split_modifier(&key).0;
            let is_file = c
                .field(name)
                .is_some_and(|f| matches!(f.kind, crate::schema::FieldKind::File(_)));
            if !is_file {
                continue;
            }
            let ids: Vec<String> = match body.get(&key) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => continue,
            };
            let tus: Vec<&str> = ids.iter().filter_map(|s| s.strip_prefix(PREFIX)).collect();
            if tus.is_empty() {
                continue;
            }
            for id in &tus {
                out.push(self.claim(actor, id, &key, tmp, &mut claims).await?);
            }
            let rest: Vec<Value> = ids
                .iter()
                .filter(|s| !s.starts_with(PREFIX))
                .map(|s| Value::String(s.clone()))
                .collect();
            if rest.is_empty() {
                body.remove(&key);
            } else {
                body.insert(key, Value::Array(rest));
            }
        }
        Ok((out, claims))
    }
}
