//! The log writer thread: table layouts, the held insert statements and
//! the batch loop.
//!
//! A table Cairn creates is *compact*: `_logs_rows` stores a row as its
//! rowid, level and `data` JSON only, and `_logs_view` is a view over it
//! (not named `_logs`: PocketBase, started on the same data directory,
//! creates its own `_logs` table and indexes it, and a view there would
//! stop it with "views may not be indexed"). A
//! request's id is its rowid in base 36 and its `created` the rowid's time
//! (both from one clock read, see [`super::next_id_at`]), and its message
//! is `data.method` and `data.url`, so the view computes `id`, `created`
//! and `message` when read. Each logged request then binds one text
//! instead of four (SQLite copies every bound text: rusqlite binds with
//! `SQLITE_TRANSIENT`) and writes a row about a third smaller. Rows whose
//! texts are not derivable (SQL console entries, foreign ids) keep them in
//! `own_id`, `own_created` and `own_message`, which the view prefers.
//! Reads, filters, sorts and stats name `id`, `created`, `message` and
//! `rowid` on [`Layout::relation`] and see the same values as before. (Not generated
//! columns: SQLite computes even virtual ones on every insert.)
//!
//! Tables made before (Cairn's stored-text table, PocketBase's table keyed
//! by `id`) keep their shape and are written with the texts stored.

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::{
    Build, CHUNK, Counters, LINGER, LINGER_MAX, MAX_BATCH, Msg, Row, SOON, push_base36,
    push_created,
};
use crate::store::StoreError;
use crate::store::checkpoint::{IDLE_TRUNCATE, truncate_wal};

/// How the `_logs` table keeps a row's `id`, `created` and `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Derived from the rowid and `data` unless stored (Cairn's tables).
    Compact,
    /// Stored in every row (tables made before, and PocketBase's).
    Stored,
}

impl Layout {
    /// What reads select from: `id, created, level, message, data` and
    /// `rowid` in either layout.
    pub fn relation(self) -> &'static str {
        match self {
            Layout::Compact => "_logs_view",
            Layout::Stored => "_logs",
        }
    }
}

/// `rid` in base 36, 15 digits, as an SQL expression (the inverse of
/// [`super::rowid_of`]; a non-negative i64 has at most 13 digits).
fn base36_sql(col: &str) -> String {
    let mut parts = vec!["'00'".to_owned()];
    for k in (0..13).rev() {
        let div = 36i64.pow(k);
        parts.push(format!(
            "substr('0123456789abcdefghijklmnopqrstuvwxyz', {col} / {div} % 36 + 1, 1)"
        ));
    }
    parts.join(" || ")
}

/// A compact row's `created`: the rowid's millisecond in
/// `YYYY-MM-DD HH:MM:SS.mmmZ`, exactly [`push_created`]'s text, unless stored.
pub const CREATED_SQL: &str = "coalesce(own_created, \
     strftime('%Y-%m-%d %H:%M:%fZ', rid / 1000 / 1000.0, 'unixepoch'))";

/// The compact table and the `_logs` view over it (see the module docs).
pub fn compact_schema() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS _logs_rows (
    rid         INTEGER PRIMARY KEY,
    level       INTEGER NOT NULL DEFAULT 0,
    data        TEXT NOT NULL DEFAULT '{{}}',
    own_id      TEXT,
    own_created TEXT,
    own_message TEXT
);
CREATE VIEW IF NOT EXISTS _logs_view AS SELECT
    rid AS rowid,
    coalesce(own_id, {id}) AS id,
    level,
    coalesce(own_message, (data ->> '$.method') || ' ' || (data ->> '$.url')) AS message,
    data,
    {CREATED_SQL} AS created
FROM _logs_rows;",
        id = base36_sql("rid")
    )
}

/// Page size of a new `auxiliary.db`. The log is appended to and scanned,
/// never updated in place, so large pages cost nothing in reads and
/// divide the per-page work of every write by 16: the WAL writes two
/// system calls a page and the checkpoint a read and a write a page,
/// which at 4 KiB pages were a fifth of the log writer's time (its cost
/// a logged request went from 1.3-1.5 to 1.0-1.1 µs, with [`super::CHUNK`]
/// to 0.9-1.0). A database made before keeps its pages (SQLite cannot
/// change them in WAL mode).
pub const PAGE_SIZE: i64 = 65_536;
/// WAL pages after which a commit checkpoints (64 MiB of WAL at
/// [`PAGE_SIZE`]; the main database's writer has its own checkpointer).
pub const AUTOCHECKPOINT: i64 = 1_024;

/// The layout of the log table in `path`, creating the compact table when
/// there is none, in a database of [`PAGE_SIZE`] pages when it is still
/// empty (SQLite fixes the page size with the first page written, and
/// cannot change it in WAL mode, so this runs before the writer opens it).
pub fn open_layout(path: &std::path::Path) -> Result<Layout, StoreError> {
    let conn = Connection::open(path)?;
    if let Some(layout) = layout_of(&conn)? {
        return Ok(layout);
    }
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.execute_batch(&compact_schema())?;
    Ok(Layout::Compact)
}

/// The layout of the log table, or `None` when there is none yet.
pub fn layout_of(conn: &Connection) -> rusqlite::Result<Option<Layout>> {
    let table = |name: &str| -> rusqlite::Result<bool> {
        conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
            .exists([name])
    };
    Ok(if table("_logs_rows")? {
        Some(Layout::Compact)
    } else if table("_logs")? {
        Some(Layout::Stored)
    } else {
        None
    })
}

/// Parameters per row of the batched statements: a compact table's
/// request rows bind their rowid, level and `data` only (three NULL binds
/// less per row); a stored table's rows bind every column.
fn per_row(layout: Layout) -> usize {
    match layout {
        Layout::Compact => 3,
        Layout::Stored => 6,
    }
}

/// `INSERT` of `rows` rows; `own` names a compact table's stored texts too
/// (rows that cannot derive them).
fn insert_sql(layout: Layout, rows: usize, own: bool) -> String {
    let (mut sql, per_row) = match (layout, own) {
        (Layout::Compact, false) => (
            String::from("INSERT OR IGNORE INTO _logs_rows (rid, level, data) VALUES "),
            3,
        ),
        (Layout::Compact, true) => (
            String::from(
                "INSERT OR IGNORE INTO _logs_rows (rid, level, data, own_id, own_created, own_message) VALUES ",
            ),
            6,
        ),
        (Layout::Stored, _) => (
            String::from(
                "INSERT OR IGNORE INTO _logs (rowid, level, data, id, created, message) VALUES ",
            ),
            6,
        ),
    };
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ",(" });
        for j in 1..=per_row {
            if j > 1 {
                sql.push(',');
            }
            sql.push_str(&format!("?{}", i * per_row + j));
        }
        sql.push(')');
    }
    sql
}

/// The writer's insert statements, prepared once for the thread's life:
/// one per power of two up to [`CHUNK`] rows, so any number of rows goes in
/// with at most one run per set bit (a batch of 14 rows: three runs of 8,
/// 4 and 2, where it was 14 runs of one). Held here rather than looked up
/// in the statement cache, which hashes the (long) SQL text on every look-up.
/// In a compact table a row with texts of its own (an SQL console entry, a
/// foreign id) goes in alone through `own`.
pub struct Inserts<'c> {
    layout: Layout,
    /// `by_size[k]` inserts `1 << k` rows.
    by_size: Vec<rusqlite::Statement<'c>>,
    /// One compact row with its own texts.
    own: Option<rusqlite::Statement<'c>>,
    /// Texts a stored row derives (its id and time), reused.
    id: String,
    created: String,
}

impl<'c> Inserts<'c> {
    pub fn prepare(conn: &'c Connection, layout: Layout) -> rusqlite::Result<Self> {
        let by_size = (0..=CHUNK.trailing_zeros())
            .map(|k| conn.prepare(&insert_sql(layout, 1 << k, false)))
            .collect::<rusqlite::Result<_>>()?;
        let own = match layout {
            Layout::Compact => Some(conn.prepare(&insert_sql(layout, 1, true))?),
            Layout::Stored => None,
        };
        Ok(Self {
            layout,
            by_size,
            own,
            id: String::new(),
            created: String::new(),
        })
    }

    /// Whether built rows must carry their message text (see [`Row::derived_message`]).
    pub fn needs_message(&self) -> bool {
        self.layout == Layout::Stored
    }

    /// Whether `row` goes in alone ([`Inserts::run_own`]): a compact
    /// table's row with texts it cannot derive.
    pub fn owns(&self, row: &Row) -> bool {
        self.own.is_some() && !(row.id.is_empty() && row.created.is_empty() && row.derived_message)
    }

    /// Inserts one row that [`Inserts::owns`], texts and all.
    pub fn run_own(&mut self, row: &Row) -> rusqlite::Result<()> {
        let Some(stmt) = self.own.as_mut() else {
            return Ok(());
        };
        stmt.raw_bind_parameter(1, row.key)?;
        stmt.raw_bind_parameter(2, row.level)?;
        stmt.raw_bind_parameter(3, text(&row.data))?;
        stmt.raw_bind_parameter(4, own(&row.id))?;
        stmt.raw_bind_parameter(5, own(&row.created))?;
        let message = (!row.derived_message).then(|| text(row.message.as_bytes()));
        stmt.raw_bind_parameter(6, message)?;
        stmt.raw_execute()?;
        Ok(())
    }

    /// Inserts `rows` (at most [`CHUNK`]; in a compact table, none that it
    /// [`Inserts::owns`]).
    pub fn run(&mut self, rows: &[Row]) -> rusqlite::Result<()> {
        let mut at = 0;
        for k in (0..self.by_size.len()).rev() {
            let n = 1 << k;
            if rows.len() - at >= n {
                for (i, row) in rows[at..at + n].iter().enumerate() {
                    self.bind(k, i, row)?;
                }
                self.by_size[k].raw_execute()?;
                at += n;
            }
        }
        Ok(())
    }

    /// Binds `row` as the `at`-th row of the statement for `1 << k` rows.
    fn bind(&mut self, k: usize, at: usize, row: &Row) -> rusqlite::Result<()> {
        let p = at * per_row(self.layout);
        let stmt = &mut self.by_size[k];
        stmt.raw_bind_parameter(p + 1, row.key)?;
        stmt.raw_bind_parameter(p + 2, row.level)?;
        stmt.raw_bind_parameter(p + 3, text(&row.data))?;
        if self.layout == Layout::Compact {
            return Ok(());
        }
        let (id, created) = (&mut self.id, &mut self.created);
        id.clear();
        created.clear();
        match (row.id.is_empty(), row.key) {
            (false, _) => id.push_str(&row.id),
            (true, Some(key)) => push_base36(key as u64, id),
            (true, None) => {}
        }
        match (row.created.is_empty(), row.key) {
            (false, _) => created.push_str(&row.created),
            (true, Some(key)) => push_created(key as u64, created),
            (true, None) => {}
        }
        stmt.raw_bind_parameter(p + 4, &*id)?;
        stmt.raw_bind_parameter(p + 5, &*created)?;
        stmt.raw_bind_parameter(p + 6, &row.message)
    }
}

/// `s` as text, or NULL when empty (a text the table derives).
fn own(s: &str) -> Option<ToSqlOutput<'_>> {
    (!s.is_empty()).then(|| text(s.as_bytes()))
}

/// `s` bound as text, borrowed (SQLite still copies it).
fn text(s: &[u8]) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s))
}

pub(super) fn writer_loop(
    conn: &Connection,
    layout: Layout,
    rx: &mpsc::Receiver<Msg>,
    c: &Counters,
) {
    let mut inserts = match Inserts::prepare(conn, layout) {
        Ok(i) => i,
        Err(e) => {
            // The table was just created on this connection: this does not
            // happen short of a broken file. Count what arrives as failed.
            tracing::error!(error = %e, "request logs: cannot prepare the insert");
            while let Ok(Msg::Row(_)) = rx.recv() {
                c.failed.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
    };
    let mut batch: Vec<Build> = Vec::with_capacity(MAX_BATCH);
    let mut rows: Vec<Row> = (0..CHUNK).map(|_| Row::default()).collect();
    let mut stop = false;
    let mut full = false;
    // Whether rows were written since the WAL was last truncated.
    let mut grown = false;
    while !stop {
        match rx.recv_timeout(IDLE_TRUNCATE) {
            Ok(Msg::Row(b)) => batch.push(b),
            Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => stop = true,
            // Quiet: the WAL (up to `AUTOCHECKPOINT` pages, 64 MiB) is
            // folded back and the file cut to nothing, as the main
            // database's checkpointer does; tried again at the next quiet
            // spell if a reader held it.
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if grown {
                    grown = !truncate_wal(conn);
                }
                continue;
            }
        }
        // Gather by sleeping, not by waiting on the queue: a receiver
        // blocked in `recv` costs every sender a futex wake (a syscall on
        // the request path, per request). Steps of `LINGER` until the batch
        // holds `SOON` rows or `LINGER_MAX` has passed: a quiet server
        // writes a transaction a second instead of one per request or
        // two, a busy one every `LINGER` as before. After a full batch
        // there is more queued already, so no sleep.
        let gathering = std::time::Instant::now();
        let mut wait = !full;
        while !stop {
            if wait {
                std::thread::sleep(LINGER);
            }
            while !stop && batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(Msg::Row(b)) => batch.push(b),
                    Ok(Msg::Stop) | Err(mpsc::TryRecvError::Disconnected) => stop = true,
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if batch.len() >= SOON || gathering.elapsed() + LINGER > LINGER_MAX {
                break;
            }
            wait = true;
        }
        full = batch.len() >= MAX_BATCH;
        if batch.is_empty() {
            continue;
        }
        let n = batch.len() as u64;
        match insert(conn, &mut inserts, batch.drain(..), &mut rows) {
            Ok(()) => {
                grown = true;
                c.written.fetch_add(n, Ordering::Relaxed);
                c.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                c.failed.fetch_add(n, Ordering::Relaxed);
                tracing::error!(error = %e, entries = n, "writing request logs failed");
            }
        }
    }
    drop(inserts);
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

pub fn insert(
    conn: &Connection,
    inserts: &mut Inserts<'_>,
    batch: impl Iterator<Item = Build>,
    rows: &mut [Row],
) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN")?;
    let needs_message = inserts.needs_message();
    let res = (|| {
        let mut n = 0;
        for build in batch {
            let (held, rest) = rows.split_at_mut(n);
            let row = &mut rest[0];
            row.clear();
            row.needs_message = needs_message;
            if !build(row) {
                continue;
            }
            if inserts.owns(row) {
                // The rows held go first: a row without a key takes
                // max(rowid) + 1, which must not be a held row's key.
                inserts.run(held)?;
                inserts.run_own(row)?;
                n = 0;
                continue;
            }
            n += 1;
            if n == CHUNK {
                inserts.run(rows)?;
                n = 0;
            }
        }
        inserts.run(&rows[..n])
    })();
    match res {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}
