//! The read pool: a few read connections (read-only files on SQLite,
//! sessions on PostgreSQL) opened on demand and shared by every request,
//! apart from the writer (`store/pool.rs`) so reads never queue behind it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::pool::{Owned, configure};

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(StoreError::Sqlite)?;
    configure(&conn, false).map_err(StoreError::Sqlite)?;
    Ok(conn)
}

/// Opens one more read connection for the pool.
pub type Opener = Box<dyn Fn() -> Result<Owned, StoreError> + Send + Sync>;

/// A small pool of read connections (read-only files on SQLite, sessions
/// on PostgreSQL), opened on demand up to `max`.
pub struct Readers {
    opener: Opener,
    idle: Mutex<Vec<Owned>>,
    freed: Condvar,
    /// Threads waiting on `freed`, changed and read under the `idle` lock:
    /// a freed connection signals only when one waits (`notify_one` is a
    /// `futex` system call even when nobody waits, one per read).
    pub(super) waiting: AtomicUsize,
    open: Mutex<usize>,
    max: usize,
}

impl Readers {
    /// Read-only connections to the SQLite file at `path`.
    pub fn sqlite(path: &Path, max: usize) -> Self {
        let path = path.to_owned();
        Self::new(Box::new(move || Ok(Box::new(open_reader(&path)?))), max)
    }

    pub fn new(opener: Opener, max: usize) -> Self {
        Self {
            opener,
            idle: Mutex::new(Vec::new()),
            freed: Condvar::new(),
            waiting: AtomicUsize::new(0),
            open: Mutex::new(0),
            max: max.max(1),
        }
    }

    fn take(&self) -> Result<Owned, StoreError> {
        let mut idle = self.idle.lock().map_err(|_| StoreError::Closed)?;
        loop {
            if let Some(c) = idle.pop() {
                return Ok(c);
            }
            {
                let mut open = self.open.lock().map_err(|_| StoreError::Closed)?;
                if *open < self.max {
                    *open += 1;
                    drop(open);
                    drop(idle);
                    return (self.opener)().inspect_err(|_| {
                        if let Ok(mut o) = self.open.lock() {
                            *o -= 1;
                        }
                    });
                }
            }
            self.waiting.fetch_add(1, Ordering::Relaxed);
            idle = self.freed.wait(idle).map_err(|_| StoreError::Closed)?;
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Runs `f` with a read connection on the current thread. A connection
    /// whose session broke (PostgreSQL restarted) is dropped, not pooled.
    pub fn run<R>(
        &self,
        f: impl FnOnce(&dyn super::sql::Db) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let conn = self.take()?;
        let out = f(&*conn);
        let broken = conn.is_broken();
        if broken && let Ok(mut o) = self.open.lock() {
            *o -= 1;
        }
        // A waiter counted itself under the `idle` lock before it waited.
        let waiting = match self.idle.lock() {
            Ok(mut idle) => {
                if !broken {
                    idle.push(conn);
                }
                self.waiting.load(Ordering::Relaxed)
            }
            Err(_) => 1,
        };
        if waiting > 0 {
            self.freed.notify_one();
        }
        out
    }
}
