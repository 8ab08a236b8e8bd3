//! File storage: uploads, serving, thumbs and clean-up.
//!
//! Files live behind one [`storage::Backend`] (a local directory by
//! default). The record write path touches this module at three points,
//! each a small call: uploads are staged (checked and stored) *before* the
//! write job, the job merges their names into the record and queues the
//! files it drops in `_fileDeletes`, and after the job the staged files
//! the committed record does not name are deleted ([`Staged::settle`])
//! while the cleaner deletes the queued ones ([`cleanup`]). So a committed
//! record never names a missing file, and a crash leaves at most orphans,
//! which the sweep job ([`cleanup::sweep`]) removes.

pub mod cache;
pub mod cleanup;
mod dirs;
pub mod names;
pub mod s3;
pub mod serve;
mod stage;
pub mod storage;
pub mod thumbs;
pub mod tus;
pub mod upload;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;

pub use stage::{DEFAULT_MAX_SIZE, Staged, max_size};
pub use upload::Upload;

use crate::schema::Collection;
use crate::service::Error;

/// Limits and periods of the files service (from the config file).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest multipart body accepted by record writes (all parts).
    pub max_body: u64,
    /// How often the orphan sweep runs (see [`cleanup::sweep_schedule`]).
    pub sweep_every: Duration,
    /// How old an unnamed file must be before the sweep deletes it.
    pub orphan_grace: Duration,
    /// How long an untouched TUS upload is kept.
    pub tus_expiry: Duration,
}

/// The files service: storage backend, temp dir, thumb generation.
pub struct Files {
    /// `<data dir>/storage`, used while S3 is off.
    local: Arc<dyn storage::Backend>,
    /// The backend in use and the S3 settings it was built from.
    current: RwLock<(s3::S3Settings, Arc<dyn storage::Backend>)>,
    /// Where uploads are spooled while a request is read.
    pub tmp: PathBuf,
    pub limits: Limits,
    pub thumbs: thumbs::Thumbs,
    /// Resumable uploads (`/api/tus`).
    pub tus: tus::Tus,
    /// Small local files recently served ([`cache`]).
    pub small: cache::SmallFiles,
}

/// Bytes a served file's content type is sniffed from.
pub const SERVE_SNIFF: usize = 512;

impl Files {
    /// Local storage under `<dir>/storage`, temp files under `<dir>/.uploads`.
    pub fn open_local(dir: &Path, limits: Limits) -> std::io::Result<Self> {
        let root = dir.join("storage");
        let tmp = dir.join(".uploads");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&tmp)?;
        let tus = tus::Tus::new(dir.join(".tus"), limits.max_body, limits.tus_expiry)?;
        let local: Arc<dyn storage::Backend> = Arc::new(storage::Local::new(root));
        Ok(Self {
            current: RwLock::new((s3::S3Settings::default(), Arc::clone(&local))),
            local,
            tmp,
            limits,
            thumbs: thumbs::Thumbs::default(),
            tus,
            small: cache::SmallFiles::default(),
        })
    }

    /// The backend in use now.
    pub fn backend(&self) -> Arc<dyn storage::Backend> {
        self.current
            .read()
            .map(|g| Arc::clone(&g.1))
            .unwrap_or_else(|_| Arc::clone(&self.local))
    }

    /// The whole of a small object (`meta` from a fresh `head`) and its
    /// sniffed content type: from the cache when it holds the object with
    /// that size and mtime, else read in one call and cached. Only the
    /// local backend is cached (see [`cache`]).
    pub async fn read_small(
        &self,
        backend: &Arc<dyn storage::Backend>,
        key: &str,
        meta: storage::Meta,
    ) -> std::io::Result<cache::Cached> {
        let local = Arc::ptr_eq(backend, &self.local);
        if local && let Some(hit) = self.small.get(key, &meta) {
            return Ok(hit);
        }
        let bytes = backend.read_all(key, meta.size).await?;
        let mime = names::sniff(&bytes[..bytes.len().min(SERVE_SNIFF)]).into();
        let file = cache::Cached { bytes, mime };
        // A length that differs from `head`'s: rewritten meanwhile, not kept.
        if local && file.bytes.len() as u64 == meta.size {
            self.small.insert(key, meta, file.clone());
        }
        Ok(file)
    }

    /// Follows the settings document: S3 when `s3.enabled`, else the local
    /// directory. Switching does not move existing files (docs/files.md).
    pub fn configure(&self, settings: &Value) {
        let wanted = s3::S3Settings::from_json(settings.get("s3"));
        let Ok(mut cur) = self.current.write() else {
            return;
        };
        if cur.0 == wanted {
            return;
        }
        let backend: Arc<dyn storage::Backend> = if wanted.enabled {
            match s3::S3::new(&wanted) {
                Ok(b) => Arc::new(b),
                Err(e) => {
                    tracing::error!(error = %e, "S3 storage settings unusable; files stay local");
                    Arc::clone(&self.local)
                }
            }
        } else {
            Arc::clone(&self.local)
        };
        *cur = (wanted, backend);
    }

    /// Checks and stores the uploads of one record write (see [`Staged`]).
    pub async fn stage(
        &self,
        c: &Collection,
        record_id: String,
        uploads: Vec<Upload>,
    ) -> Result<Staged, Error> {
        Staged::stage(self.backend(), c, record_id, uploads).await
    }
}

/// Starts the cleaner (queued deletions) for the store `owner` holds. The
/// orphan sweep is a cron job ([`cleanup::sweep`], registered in `ops.rs`).
pub fn start_tasks<A: Send + Sync + 'static>(
    owner: Arc<A>,
    store: fn(&A) -> &crate::store::Store,
    files: &Arc<Files>,
) {
    cleanup::start_cleaner(owner, store, Arc::clone(files));
}

/// `POST /api/settings/test/s3`: uploads and deletes a test object with the
/// saved `s3` (`filesystem: "storage"`) or `backups.s3` settings.
pub async fn test_s3(settings: &Value, filesystem: &str) -> Result<(), Error> {
    const FAIL: &str = "Failed to test the S3 filesystem.";
    let field = |code: &'static str, msg: &'static str| {
        let mut d = serde_json::Map::new();
        d.insert(
            "filesystem".into(),
            crate::schema::validate::FieldError::new(code, msg).to_json(),
        );
        Error::invalid(FAIL, d)
    };
    let ptr = match filesystem {
        "" => return Err(field("validation_required", "Cannot be blank.")),
        "storage" => "/s3",
        "backups" => "/backups/s3",
        _ => return Err(field("validation_in_invalid", "Must be a valid value.")),
    };
    let raw = |msg: String| Error::bad(&format!("{FAIL} Raw error: \n{msg}"));
    let cfg = s3::S3Settings::from_json(settings.pointer(ptr));
    if !cfg.enabled {
        return Err(raw("S3 storage filesystem is not enabled.".into()));
    }
    let bucket = s3::S3::new(&cfg).map_err(|e| raw(e.to_string()))?;
    bucket.test().await.map_err(|e| raw(format!("{e}.")))
}
