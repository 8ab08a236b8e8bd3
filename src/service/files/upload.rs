//! Uploads received with a request, held in memory or spooled to temp files.
//!
//! The HTTP layer hands the service a list of [`Upload`]s. Small parts
//! (up to [`MEMORY_PER_REQUEST`] together per request) are held in memory
//! and written once, straight into storage; anything larger is streamed
//! into `<data dir>/.uploads/` (so memory stays bounded whatever the size)
//! and moved into storage from there. A temp file left behind by a crash is
//! removed by [`sweep_tmp`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How many bytes of file parts one request may hold in memory; the parts
/// past it are spooled to temp files. A 100 KB upload written from memory
/// saves a temp file's create, write and close, a rename across
/// directories and a trip to the blocking pool (and, on S3, reading the
/// temp file back). Held parts are the chunks multer handed out, slices of
/// its read buffer, so what they keep alive can exceed their length by the
/// unused rest of that buffer (bounded by the request's size).
pub const MEMORY_PER_REQUEST: usize = 1 << 20;

/// One uploaded file, in memory or spooled to disk.
#[derive(Debug)]
pub struct Upload {
    /// The form key it came under (`field`, `field+`, `+field`).
    pub key: String,
    /// The client's file name.
    pub original: String,
    /// The spooled bytes (moved into storage when staged); empty when the
    /// upload is held in `data`.
    pub path: PathBuf,
    /// A small upload's bytes, held in memory instead of a temp file, in
    /// the chunks it arrived in (stored with one vectored write, never
    /// copied into one buffer).
    pub data: Option<Vec<bytes::Bytes>>,
    pub size: u64,
    /// Sniffed from the first bytes, never the client's claim.
    pub mime: String,
}

impl Upload {
    /// Marks the temp file as moved into storage (nothing left to remove).
    pub fn stored(&mut self) {
        self.path = PathBuf::new();
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Staged uploads were moved away (an empty path, no syscall);
        // anything else is removed here.
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A new temp path in `dir`.
pub fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!("up_{}", crate::schema::names::random_id(20)))
}

/// Removes temp uploads older than `grace` (left by a crash).
pub async fn sweep_tmp(dir: &Path, grace: Duration) {
    let Ok(mut rd) = tokio::fs::read_dir(dir).await else {
        return;
    };
    let now = SystemTime::now();
    while let Ok(Some(entry)) = rd.next_entry().await {
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= grace);
        if old {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}
