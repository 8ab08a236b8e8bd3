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
//! which the periodic [`cleanup::sweep_orphans`] removes.

pub mod cleanup;
pub mod names;
pub mod serve;
mod stage;
pub mod storage;
pub mod thumbs;
pub mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use stage::{DEFAULT_MAX_SIZE, Staged, max_size};
pub use upload::Upload;

use crate::schema::Collection;
use crate::service::Error;

/// Limits and periods of the files service (from the config file).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest multipart body accepted by record writes (all parts).
    pub max_body: u64,
    /// How often the orphan sweep runs.
    pub sweep_every: Duration,
    /// How old an unnamed file must be before the sweep deletes it.
    pub orphan_grace: Duration,
}

/// The files service: storage backend, temp dir, thumb generation.
pub struct Files {
    pub backend: Arc<dyn storage::Backend>,
    /// Where uploads are spooled while a request is read.
    pub tmp: PathBuf,
    pub limits: Limits,
    pub thumbs: thumbs::Thumbs,
}

impl Files {
    /// Local storage under `<dir>/storage`, temp files under `<dir>/.uploads`.
    pub fn open_local(dir: &Path, limits: Limits) -> std::io::Result<Self> {
        let root = dir.join("storage");
        let tmp = dir.join(".uploads");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&tmp)?;
        Ok(Self {
            backend: Arc::new(storage::Local::new(root)),
            tmp,
            limits,
            thumbs: thumbs::Thumbs::default(),
        })
    }

    /// Checks and stores the uploads of one record write (see [`Staged`]).
    pub async fn stage(
        &self,
        c: &Collection,
        record_id: String,
        uploads: Vec<Upload>,
    ) -> Result<Staged, Error> {
        Staged::stage(Arc::clone(&self.backend), c, record_id, uploads).await
    }
}

/// Starts the cleaner (queued deletions) and the periodic orphan sweep for
/// the store `owner` holds.
pub fn start_tasks<A: Send + Sync + 'static>(
    owner: Arc<A>,
    store: fn(&A) -> &crate::store::Store,
    files: &Files,
) {
    cleanup::start_cleaner(Arc::clone(&owner), store, Arc::clone(&files.backend));
    cleanup::start_sweeper(
        owner,
        store,
        Arc::clone(&files.backend),
        files.tmp.clone(),
        files.limits.sweep_every,
        files.limits.orphan_grace,
    );
}
