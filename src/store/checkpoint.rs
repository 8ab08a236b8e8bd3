//! Folding SQLite's WAL back into the database file off the commit path
//! (the writer only pokes; `pool.rs` has the writer itself).

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::Connection;

use super::StoreError;

/// Least time between two background checkpoints.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);
/// Quiet time after which the checkpointer folds the whole WAL back and
/// truncates the file: a burst of writes otherwise leaves it at up to
/// `journal_size_limit` on disk until the next restart.
pub const IDLE_TRUNCATE: std::time::Duration = std::time::Duration::from_secs(2);

/// `wal_checkpoint(TRUNCATE)` with a short wait for readers and writers
/// (it must not hold up a writer that arrives meanwhile); true if done.
/// The connection's own wait is put back afterwards: the request log's
/// writer uses this too, on its own database and with its own timeout.
pub(super) fn truncate_wal(conn: &Connection) -> bool {
    let own = conn
        .query_row("PRAGMA busy_timeout", [], |r| r.get::<_, i64>(0))
        .map_or(5_000, |ms| ms.max(0).unsigned_abs());
    let _ = conn.busy_timeout(std::time::Duration::from_millis(50));
    let done = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_ok_and(|busy| busy == 0);
    let _ = conn.busy_timeout(std::time::Duration::from_millis(own));
    done
}

/// Folds the WAL back into the database file on its own thread and
/// connection, so the page copies and the fsync of a checkpoint never sit on
/// the writer's commit path. The writer pokes it after commits; pokes
/// coalesce, and checkpoints run at most every `CHECKPOINT_INTERVAL`.
pub struct Checkpointer {
    tx: Mutex<Option<mpsc::SyncSender<()>>>,
    handle: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(StoreError::Sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(StoreError::Sqlite)?;
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("cairn-checkpoint".into())
            .spawn(move || {
                // Whether the WAL has grown since it was last truncated.
                let mut grown = false;
                loop {
                    match rx.recv_timeout(IDLE_TRUNCATE) {
                        Ok(()) => {
                            if let Err(e) =
                                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                            {
                                tracing::warn!(error = %e, "background checkpoint failed");
                            }
                            grown = true;
                            std::thread::sleep(CHECKPOINT_INTERVAL);
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) if grown => {
                            grown = !truncate_wal(&conn);
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .ok();
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            handle: Mutex::new(handle),
        })
    }

    /// A handle the writer uses to ask for a checkpoint.
    pub fn poker(&self) -> Option<mpsc::SyncSender<()>> {
        self.tx.lock().ok().and_then(|g| g.clone())
    }

    pub fn shutdown(&self) {
        super::pool::stop_thread(&self.tx, &self.handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The truncate waits 50 ms for others, then gives the connection its
    /// own wait back (the request log's writer keeps its 10 s).
    #[test]
    fn truncating_keeps_the_connections_own_wait() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = Connection::open(dir.path().join("t.db")).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .expect("write");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("timeout");
        assert!(truncate_wal(&conn));
        let wait: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .expect("read");
        assert_eq!(wait, 10_000);
        let wal = std::fs::metadata(dir.path().join("t.db-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0);
    }
}
