//! SQLite storage: the only module that writes SQL text.
//!
//! `Store` owns the writer thread, the reader pool and the schema cache. The
//! schema cache is replaced only by the writer thread, right after a commit
//! that changed `_collections` and before that commit's replies go out, so a
//! client that saw "collection created" always finds it (PocketBase's cache
//! reload race cannot happen here).

pub mod bootstrap;
pub mod changes;
pub mod collections;
pub mod ddl;
pub mod pool;
pub mod records;
pub mod resolver;
pub mod settings;
pub mod totp;
pub mod views;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rusqlite::Connection;

use crate::schema::Collection;
pub use pool::WriteCtx;

/// Storage failures. None of these texts reach clients.
#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    Io(std::io::Error),
    Closed,
    CommitFailed,
    Corrupt(String),
    /// A collection index could not be created (e.g. duplicates under UNIQUE).
    Index {
        pos: usize,
        name: String,
        detail: String,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
            StoreError::Io(e) => write!(f, "io: {e}"),
            StoreError::Closed => f.write_str("store is shut down"),
            StoreError::CommitFailed => f.write_str("commit failed"),
            StoreError::Corrupt(s) => write!(f, "corrupt data: {s}"),
            StoreError::Index { name, detail, .. } => write!(f, "index {name}: {detail}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// An immutable snapshot of every collection, looked up by name or id.
#[derive(Debug, Default)]
pub struct Schema {
    pub collections: Vec<Arc<Collection>>,
    by_key: HashMap<String, usize>,
}

impl Schema {
    pub fn new(collections: Vec<Collection>) -> Self {
        let collections: Vec<Arc<Collection>> = collections.into_iter().map(Arc::new).collect();
        let mut by_key = HashMap::new();
        for (i, c) in collections.iter().enumerate() {
            by_key.insert(c.id.clone(), i);
            by_key.insert(c.name.to_lowercase(), i);
        }
        Self {
            collections,
            by_key,
        }
    }

    /// Finds a collection by id, or by name case-insensitively.
    pub fn get(&self, name_or_id: &str) -> Option<Arc<Collection>> {
        let i = self
            .by_key
            .get(name_or_id)
            .or_else(|| self.by_key.get(&name_or_id.to_lowercase()))?;
        self.collections.get(*i).cloned()
    }
}

/// The database: writer, readers and the schema cache.
pub struct Store {
    path: PathBuf,
    writer: pool::Writer,
    checkpointer: pool::Checkpointer,
    readers: pool::Readers,
    schema: Arc<RwLock<Arc<Schema>>>,
    last_seq: tokio::sync::watch::Sender<i64>,
}

impl Store {
    /// Opens (creating if needed) `data.db` in `dir` and bootstraps system tables.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        let path = dir.join("data.db");
        let conn = pool::open_writer(&path)?;
        bootstrap::bootstrap(&conn)?;
        let schema = Arc::new(RwLock::new(Arc::new(Schema::new(collections::load_all(
            &conn,
        )?))));
        let seq = records::last_seq(&conn)?;
        let (last_seq, _) = tokio::sync::watch::channel(seq);
        let checkpointer = pool::Checkpointer::start(&path)?;
        let poke = checkpointer.poker();
        let cache = Arc::clone(&schema);
        let seq_tx = last_seq.clone();
        let after_commit: pool::AfterCommit = Box::new(move |conn: &Connection, changed, seq| {
            if changed {
                match collections::load_all(conn) {
                    Ok(all) => {
                        if let Ok(mut g) = cache.write() {
                            *g = Arc::new(Schema::new(all));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "schema reload failed"),
                }
            }
            if let Some(p) = &poke {
                // Full channel = a checkpoint is already pending.
                let _ = p.try_send(());
            }
            if let Some(seq) = seq {
                seq_tx.send_if_modified(|cur| {
                    let changed = *cur < seq;
                    *cur = (*cur).max(seq);
                    changed
                });
            }
        });
        let readers = std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(4)
            .max(4);
        Ok(Self {
            writer: pool::Writer::start(conn, after_commit),
            checkpointer,
            readers: pool::Readers::new(&path, readers),
            path,
            schema,
            last_seq,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current schema snapshot.
    pub fn schema(&self) -> Arc<Schema> {
        self.schema
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default()
    }

    /// Subscribes to the last committed change-log sequence number.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<i64> {
        self.last_seq.subscribe()
    }

    /// Runs a write job in the next group commit.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> FnOnce(&mut WriteCtx<'a>) -> Result<R, E> + Send + 'static,
    {
        self.writer.run(f).await
    }

    /// Runs a read on a pooled read-only connection.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.readers.run(f)
    }

    /// Drains the writer and checkpoints the WAL.
    pub fn shutdown(&self) {
        // The writer holds the checkpointer's poke handle: stop it first.
        self.writer.shutdown();
        self.checkpointer.shutdown();
    }
}
