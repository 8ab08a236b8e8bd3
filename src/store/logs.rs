//! Request logs in their own database, `auxiliary.db` (PocketBase's name),
//! with their own writer thread, so a log write never queues behind a
//! record write and a burst of requests never waits for the log.
//!
//! Requests hand entries to a bounded queue with `try_send`: when the queue
//! is full the entry is dropped and counted ([`LogDb::dropped`]), never
//! waited for. The writer thread takes whatever is queued (gathering for at
//! most [`LINGER`] after the first entry) and inserts it in one
//! transaction.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::StoreError;
use super::pool::{self, Readers};

/// Entries the queue holds before new ones are dropped.
pub const QUEUE: usize = 16_384;
/// How long the writer gathers entries after the first one of a batch.
pub const LINGER: Duration = Duration::from_millis(100);
/// Most entries written in one transaction.
pub const MAX_BATCH: usize = 2_000;

/// One log row (PocketBase's `_logs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub created: String,
    pub level: i64,
    pub message: String,
    pub data: Value,
}

impl Entry {
    /// The API shape: `{id, created, data, message, level}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "created": self.created,
            "data": self.data,
            "message": self.message,
            "level": self.level,
        })
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS _logs (
    id      TEXT PRIMARY KEY NOT NULL,
    level   INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    data    TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS _logs_idx_level ON _logs (level);
CREATE INDEX IF NOT EXISTS _logs_idx_created ON _logs (created);
CREATE INDEX IF NOT EXISTS _logs_idx_created_hour ON _logs (strftime('%Y-%m-%d %H:00:00', created));
";

/// Counters the metrics endpoint reports.
#[derive(Debug, Default)]
pub struct Counters {
    pub dropped: AtomicU64,
    pub written: AtomicU64,
    pub batches: AtomicU64,
    pub failed: AtomicU64,
}

/// The log database: a writer thread behind a bounded queue, and readers.
pub struct LogDb {
    tx: Mutex<Option<mpsc::SyncSender<Entry>>>,
    handle: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Readers,
    path: std::path::PathBuf,
    pub counters: std::sync::Arc<Counters>,
}

impl LogDb {
    /// Opens (creating) `auxiliary.db` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        let path = dir.join("auxiliary.db");
        let conn = pool::open_writer(&path)?;
        conn.execute_batch(SCHEMA)?;
        let (tx, rx) = mpsc::sync_channel::<Entry>(QUEUE);
        let counters = std::sync::Arc::new(Counters::default());
        let c = std::sync::Arc::clone(&counters);
        let handle = std::thread::Builder::new()
            .name("cairn-logs".into())
            .spawn(move || writer_loop(&conn, &rx, &c))
            .map_err(StoreError::Io)?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            handle: Mutex::new(Some(handle)),
            readers: Readers::new(&path, 2),
            path,
            counters,
        })
    }

    /// Queues an entry; never blocks. Returns false (and counts a drop)
    /// when the queue is full or closed.
    pub fn push(&self, e: Entry) -> bool {
        let sent = match self.tx.lock() {
            Ok(g) => g.as_ref().map(|tx| tx.try_send(e).is_ok()).unwrap_or(false),
            Err(_) => false,
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// The database file.
    pub fn path(&self) -> std::path::PathBuf {
        self.path.clone()
    }

    /// Entries dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Runs a read on a log reader connection.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.readers.run(f)
    }

    /// Deletes entries created before `before`; returns how many.
    pub fn delete_before(&self, before: &str) -> Result<usize, StoreError> {
        // Deletes are rare (daily); a short-lived connection keeps the
        // writer thread's loop simple.
        let conn = pool::open_writer(&self.path)?;
        Ok(conn.execute("DELETE FROM _logs WHERE created < ?1", params![before])?)
    }

    /// Stops accepting entries, writes what is queued and joins the thread.
    pub fn shutdown(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Entry>, c: &Counters) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let deadline = Instant::now() + LINGER;
        while batch.len() < MAX_BATCH {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        match insert(conn, &batch) {
            Ok(()) => {
                c.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                c.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                c.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(error = %e, entries = batch.len(), "writing request logs failed");
            }
        }
    }
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

fn insert(conn: &Connection, batch: &[Entry]) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN")?;
    let res = (|| {
        let mut stmt = conn.prepare_cached(
            "INSERT OR IGNORE INTO _logs (id, level, message, data, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in batch {
            stmt.execute(params![
                e.id,
                e.level,
                e.message,
                e.data.to_string(),
                e.created
            ])?;
        }
        Ok::<_, rusqlite::Error>(())
    })();
    match res {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

/// Reads a row selected as `id, created, level, message, data`.
pub fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let data: String = r.get(4)?;
    Ok(Entry {
        id: r.get(0)?,
        created: r.get(1)?,
        level: r.get(2)?,
        message: r.get(3)?,
        data: serde_json::from_str(&data).unwrap_or(Value::Null),
    })
}

/// The columns [`row`] reads.
pub const COLUMNS: &str = "id, created, level, message, data";

pub fn get(conn: &Connection, id: &str) -> Result<Option<Entry>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM _logs WHERE id = ?1"),
            params![id],
            row,
        )
        .optional()?)
}

/// Hourly counts (`[{date, total}]`) of the rows matching `filter`.
pub fn stats(
    conn: &Connection,
    filter: Option<&crate::filter::compile::Compiled>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let (cond, params): (String, Vec<&dyn rusqlite::ToSql>) = match filter {
        Some(f) => (
            format!("WHERE {}", f.sql),
            f.params.iter().map(|p| p as &dyn rusqlite::ToSql).collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    let sql = format!(
        "SELECT strftime('%Y-%m-%d %H:00:00', created) AS d, COUNT(*) FROM _logs {cond} GROUP BY d ORDER BY d"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params.as_slice(), |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get(1)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, created: &str, level: i64) -> Entry {
        Entry {
            id: id.into(),
            created: created.into(),
            level,
            message: "GET /".into(),
            data: json!({"status": 200}),
        }
    }

    #[test]
    fn queue_drops_and_counts_when_closed_and_rows_round_trip() {
        let dir = tempfile::tempdir().expect("dir");
        let db = LogDb::open(dir.path()).expect("open");
        assert!(db.push(entry("a", "2026-01-01 10:05:00.000Z", 0)));
        assert!(db.push(entry("b", "2026-01-01 10:59:00.000Z", 8)));
        assert!(db.push(entry("c", "2026-01-01 11:00:00.000Z", 0)));
        db.shutdown();
        assert!(!db.push(entry("d", "x", 0)));
        assert_eq!(db.dropped(), 1);
        let got = db.read(|c| get(c, "b")).expect("read").expect("row");
        assert_eq!(got, entry("b", "2026-01-01 10:59:00.000Z", 8));
        let s = db.read(|c| stats(c, None)).expect("stats");
        assert_eq!(
            s,
            vec![
                ("2026-01-01 10:00:00".to_owned(), 2),
                ("2026-01-01 11:00:00".to_owned(), 1)
            ]
        );
        assert_eq!(
            db.delete_before("2026-01-01 11:00:00.000Z").expect("del"),
            2
        );
    }
}
