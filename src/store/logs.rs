//! Request logs in their own database, `auxiliary.db` (PocketBase's name),
//! with their own writer thread, so a log write never queues behind a
//! record write and a burst of requests never waits for the log.
//!
//! Requests hand a [`Build`] (a boxed closure owning what the request saw)
//! to a bounded queue with `try_send`: when the queue is full it is dropped
//! and counted ([`LogDb::dropped`]), never waited for. The writer thread
//! (`write`) takes whatever is queued (gathering after the first one in
//! steps of [`LINGER`] until [`SOON`] entries or [`LINGER_MAX`]), runs each
//! closure to fill one reusable [`Row`] (the id and the JSON are made
//! there, not on the request path) and inserts the batch in one
//! transaction.
//!
//! The table has no index: every index costs each logged request a b-tree
//! insert (about a fifth of what logging a request cost with the `created`
//! one). `id` needs none: a row's rowid is its id read as a base-36 number
//! (ids are time-ordered, see [`next_id_at`]), so `/api/logs/{id}` is a
//! rowid lookup, and insertion order is time order, so `sort=-@rowid`
//! pages from the end of the table. What an index on `created` served now
//! reads the table: `sort=created`, time filters, stats and the daily
//! cleanup scan it (a page under `-@rowid` stops at its last row). A table
//! Cairn creates stores only the rowid, level and `data` of a request and
//! computes `id`, `created` and `message` when read (`write` says how).
//! Tables made before (and PocketBase's) keep their stored columns, their
//! `id` primary key and their `created` index where they had them, and a
//! lookup there falls back to the key.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::StoreError;
use super::pool::{self, Readers};

mod write;
pub use write::Layout;

/// Entries the queue holds before new ones are dropped.
pub const QUEUE: usize = 16_384;
/// The writer gathers entries in steps of this long after the first one
/// of a batch…
pub const LINGER: Duration = Duration::from_millis(100);
/// …until the batch holds this many…
pub const SOON: usize = 256;
/// …or this long has passed (an entry is readable at most this late).
pub const LINGER_MAX: Duration = Duration::from_secs(1);
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

/// Indexes older versions made (every index costs each logged request a
/// b-tree insert).
const DROP_OLD_INDEXES: &str = "
DROP INDEX IF EXISTS _logs_idx_level;
DROP INDEX IF EXISTS _logs_idx_created_hour;
";

/// The reusable buffers one log row is built into on the writer thread.
#[derive(Debug, Default)]
pub struct Row {
    /// The rowid: the id read as a base-36 number ([`rowid_of`]); `None`
    /// lets SQLite pick one (an id Cairn could not have made).
    pub key: Option<i64>,
    pub level: i64,
    /// The `data` JSON object's text.
    pub data: Vec<u8>,
    /// The id; empty when it is `key` in base 36.
    pub id: String,
    /// The `created` text; empty when it is `key`'s time ([`push_created`]).
    pub created: String,
    pub message: String,
    /// The message is `data.method` and `data.url` joined by a space, so a
    /// compact table derives it (`message` may then be left empty).
    pub derived_message: bool,
    /// Set by the writer before a build: the table stores messages, so a
    /// derived message must be written out too.
    pub needs_message: bool,
}

impl Row {
    fn clear(&mut self) {
        self.key = None;
        self.level = 0;
        self.data.clear();
        self.id.clear();
        self.created.clear();
        self.message.clear();
        self.derived_message = false;
    }
}

/// A new log id for a row created at `micros` (microseconds since 1970):
/// 15 characters of `[a-z0-9]` (PocketBase's id shape) that grow with
/// time (one more than the last id when two fall in the same microsecond).
/// Random ids would land all over the id index, dirtying a different page
/// per row; time-ordered ones all go to its right edge, like the `created`
/// index. The caller passes the time it already read for `created`, so an
/// id costs no second clock read.
pub fn next_id_at(micros: u64, out: &mut String) {
    push_base36(next_key_at(micros), out);
}

/// [`next_id_at`]'s id as the number it is in base 36 (the row's rowid).
pub fn next_key_at(micros: u64) -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let prev = LAST
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
            Some(micros.max(p + 1))
        })
        .unwrap_or(micros);
    micros.max(prev + 1)
}

/// A new id for a row created now (see [`next_id_at`]).
pub fn new_id() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let mut id = String::with_capacity(15);
    next_id_at(micros, &mut id);
    id
}

/// The rowid a row with this id is stored under: the id read as a base-36
/// number, when it is 15 of `[0-9a-z]` and fits (every id Cairn makes);
/// `None` lets SQLite pick one.
pub fn rowid_of(id: &str) -> Option<i64> {
    if id.len() != 15 {
        return None;
    }
    let mut v: i64 = 0;
    for b in id.bytes() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            _ => return None,
        };
        v = v.checked_mul(36)?.checked_add(i64::from(d))?;
    }
    Some(v)
}

/// `v` as exactly 15 base-36 digits (any u64 fits in 13).
pub(crate) fn push_base36(mut v: u64, out: &mut String) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut buf = [b'0'; 15];
    for slot in buf.iter_mut().rev() {
        *slot = DIGITS[(v % 36) as usize];
        v /= 36;
    }
    // ASCII digits and letters only.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// `created` text (`2026-12-05 19:50:01.234Z`) for `micros` since 1970
/// (what a compact table's `created` column computes from the rowid).
/// Consecutive rows mostly fall in the same second, so the text up to the
/// milliseconds is kept from the last row and only the milliseconds are
/// written.
pub fn push_created(micros: u64, out: &mut String) {
    /// `YYYY-MM-DD HH:MM:SS.`
    const PREFIX: usize = 20;
    thread_local! {
        static SECOND: std::cell::Cell<(u64, [u8; PREFIX])> =
            const { std::cell::Cell::new((u64::MAX, [0; PREFIX])) };
    }
    let secs = micros / 1_000_000;
    let (last, mut prefix) = SECOND.get();
    if last != secs {
        let t = time::OffsetDateTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let mut full = String::with_capacity(24);
        crate::schema::datetime::format_into(t, &mut full);
        prefix.copy_from_slice(&full.as_bytes()[..PREFIX]);
        SECOND.set((secs, prefix));
    }
    let ms = (micros / 1_000 % 1_000) as u32;
    out.push_str(std::str::from_utf8(&prefix).unwrap_or_default());
    for digit in [ms / 100, ms / 10 % 10, ms % 10] {
        out.push(char::from(b'0' + digit as u8));
    }
    out.push('Z');
}

/// What a request queues: fills the row, or returns false to keep nothing.
pub type Build = Box<dyn FnOnce(&mut Row) -> bool + Send>;

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
    tx: mpsc::SyncSender<Msg>,
    layout: Layout,
    /// The table has an index on `id` (made before ids became rowids, or
    /// restored from PocketBase): lookups by id fall back to it.
    id_index: bool,
    closed: AtomicBool,
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
        let layout = write::open_layout(&path)?;
        let conn = pool::open_writer(&path)?;
        conn.pragma_update(None, "wal_autocheckpoint", write::AUTOCHECKPOINT)?;
        if layout == Layout::Stored {
            conn.execute_batch(DROP_OLD_INDEXES)?;
        }
        // A table whose rowids are ids has no index at all (see the module
        // docs); one keyed by `id` (older, or PocketBase's) keeps `created`.
        // Beside a compact table, a `_logs` table is PocketBase's own and
        // left alone.
        let id_index = layout == Layout::Stored
            && conn
                .prepare("SELECT 1 FROM pragma_index_list('_logs') WHERE origin = 'pk'")?
                .exists([])?;
        if layout == Layout::Stored {
            conn.execute_batch(if id_index {
                "CREATE INDEX IF NOT EXISTS _logs_idx_created ON _logs (created);"
            } else {
                "DROP INDEX IF EXISTS _logs_idx_created;"
            })?;
        }
        let (tx, rx) = mpsc::sync_channel::<Msg>(QUEUE);
        let counters = std::sync::Arc::new(Counters::default());
        let c = std::sync::Arc::clone(&counters);
        let handle = std::thread::Builder::new()
            .name("cairn-logs".into())
            .spawn(move || write::writer_loop(&conn, layout, &rx, &c))
            .map_err(StoreError::Io)?;
        Ok(Self {
            tx,
            layout,
            id_index,
            closed: AtomicBool::new(false),
            handle: Mutex::new(Some(handle)),
            readers: Readers::sqlite(&path, 2),
            path,
            counters,
        })
    }

    /// Queues a finished entry; never blocks. Returns false (and counts a
    /// drop) when the queue is full or closed.
    pub fn push(&self, e: Entry) -> bool {
        self.push_build(Box::new(move |row| {
            // Texts a compact table can derive are left out (see `write`).
            row.key = rowid_of(&e.id);
            match row.key {
                Some(key) => {
                    push_created(key as u64, &mut row.created);
                    if row.created != e.created {
                        row.created = e.created;
                    } else {
                        row.created.clear();
                    }
                }
                None => {
                    row.id = e.id;
                    row.created = e.created;
                }
            }
            row.level = e.level;
            row.message = e.message;
            serde_json::to_writer(&mut row.data, &e.data).is_ok()
        }))
    }

    /// Queues a row to be built on the writer thread; never blocks.
    /// Returns false (and counts a drop) when the queue is full or closed.
    pub fn push_build(&self, build: Build) -> bool {
        let sent =
            !self.closed.load(Ordering::Acquire) && self.tx.try_send(Msg::Row(build)).is_ok();
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
        // auxiliary.db is SQLite on every node, whatever the main store is.
        self.readers
            .run(|c| f(super::sql::sqlite_only(c, "request logs")?))
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        self.read(|c| get(c, self.layout.relation(), id, self.id_index))
    }

    /// The table or view reads select from ([`Layout::relation`]).
    pub fn relation(&self) -> &'static str {
        self.layout.relation()
    }

    /// Deletes entries created before `before`; returns how many.
    pub fn delete_before(&self, before: &str) -> Result<usize, StoreError> {
        // Deletes are rare (daily); a short-lived connection keeps the
        // writer thread's loop simple.
        let conn = pool::open_writer(&self.path)?;
        let sql = match self.layout {
            Layout::Compact => format!("DELETE FROM _logs_rows WHERE {} < ?1", write::CREATED_SQL),
            Layout::Stored => "DELETE FROM _logs WHERE created < ?1".to_owned(),
        };
        Ok(conn.execute(&sql, params![before])?)
    }

    /// Stops accepting entries, writes what is queued and joins the thread.
    pub fn shutdown(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Waits for room: everything queued before is written first.
        let _ = self.tx.send(Msg::Stop);
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// What the queue carries: a row to build, or the shutdown mark.
enum Msg {
    Row(Build),
    Stop,
}

/// Most rows one `INSERT` statement carries (one statement run per chunk
/// instead of per row: a run's setup, halt and cursor seeks cost about as
/// much as a row). Large, because a statement of several rows that binds
/// the rowid runs in a statement journal: SQLite copies every page it
/// first touches (the table's last leaf and its parents, 64 KiB each, see
/// [`write::PAGE_SIZE`]) into memory before changing it, once a statement.
const CHUNK: usize = 256;

/// Reads a row selected as `id, created, level, message, data`.
pub fn row(r: &dyn super::sql::Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        id: r.text(0)?,
        created: r.text(1)?,
        level: r.int(2)?,
        message: r.text(3)?,
        data: serde_json::from_str(&r.text(4)?).unwrap_or(Value::Null),
    })
}

/// The columns [`row`] reads.
pub const COLUMNS: &str = "id, created, level, message, data";

/// The entry with this id: by its rowid ([`rowid_of`]), else, for rows
/// stored under another rowid, by the `id` column (`id_index`: the table
/// has an index on it; without one only ids Cairn could not have made are
/// looked for there, with a scan).
pub fn get(
    db: &dyn super::sql::Db,
    relation: &str,
    id: &str,
    id_index: bool,
) -> Result<Option<Entry>, StoreError> {
    use super::sql::Val;
    if let Some(rowid) = rowid_of(id) {
        let found = db.row(
            &format!("SELECT {COLUMNS} FROM {relation} WHERE rowid = ?1 AND id = ?2"),
            &[Val::Int(rowid), Val::Text(id)],
            row,
        )?;
        if found.is_some() || !id_index {
            return Ok(found);
        }
    }
    db.row(
        &format!("SELECT {COLUMNS} FROM {relation} WHERE id = ?1"),
        &[Val::Text(id)],
        row,
    )
}

/// Hourly counts (`[{date, total}]`) of the rows matching `filter`.
pub fn stats(
    conn: &Connection,
    relation: &str,
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
        "SELECT strftime('%Y-%m-%d %H:00:00', created) AS d, COUNT(*) FROM {relation} {cond} GROUP BY d ORDER BY d"
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
#[path = "logs_tests.rs"]
mod tests;
