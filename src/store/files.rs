//! The queue of stored files to delete once a write has committed.
//!
//! A write job that drops files (a replaced upload, a deleted record, a
//! dropped field or collection) appends their storage keys here in its own
//! transaction; the files service deletes them after the commit and clears
//! the rows. A rolled-back job leaves no rows, and a crash after the commit
//! leaves rows that are processed at the next start: files are never
//! deleted while a committed record still names them.

use rusqlite::params;

use super::{Conn, StoreError};
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// Created at start (idempotent).
pub const TABLE: &str = "CREATE TABLE IF NOT EXISTS _fileDeletes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ'))
);";

/// Queues a storage key (a prefix when it ends with `/`) for deletion.
pub fn queue(conn: &Conn, key: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO _fileDeletes (key) VALUES (?1)")?
        .execute(params![key])?;
    Ok(())
}

/// Up to `limit` queued keys, oldest first.
pub fn pending(conn: &Conn, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
    // A literal LIMIT: a bound one makes SQLite re-prepare on every run.
    let sql = format!("SELECT id, key FROM _fileDeletes ORDER BY id LIMIT {limit}");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Forgets processed rows.
pub fn done(conn: &Conn, ids: &[i64]) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached("DELETE FROM _fileDeletes WHERE id = ?1")?;
    for id in ids {
        st.execute(params![id])?;
    }
    Ok(())
}

/// `(record id, raw value)` of one column for every record of `c`.
pub fn column_values(
    conn: &Conn,
    c: &Collection,
    field: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let sql = format!(
        "SELECT id, CAST({} AS TEXT) FROM {}",
        quote_ident(field),
        quote_ident(&c.name)
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
