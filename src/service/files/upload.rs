//! Uploads received with a request, spooled to temporary files.
//!
//! The HTTP layer streams each file part into `<data dir>/.uploads/` (so
//! memory stays bounded whatever the size) and hands the service a list
//! of [`Upload`]s. A temp file left behind by a crash is removed by
//! [`sweep_tmp`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One uploaded file, already on disk.
#[derive(Debug)]
pub struct Upload {
    /// The form key it came under (`field`, `field+`, `+field`).
    pub key: String,
    /// The client's file name.
    pub original: String,
    /// The spooled bytes (moved into storage when staged).
    pub path: PathBuf,
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
