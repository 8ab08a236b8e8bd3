//! The queue of stored files to delete once a write has committed.
//!
//! A write job that drops files (a replaced upload, a deleted record, a
//! dropped field or collection) appends their storage keys here in its own
//! transaction; the files service deletes them after the commit and clears
//! the rows. A rolled-back job leaves no rows, and a crash after the commit
//! leaves rows that are processed at the next start: files are never
//! deleted while a committed record still names them.

use super::StoreError;
use super::sql::{Db, Val};
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// Created at start (idempotent).
pub const TABLE: &str = "CREATE TABLE IF NOT EXISTS _fileDeletes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ'))
);";

/// Queues a storage key (a prefix when it ends with `/`) for deletion.
pub fn queue(db: &dyn Db, key: &str) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO _fileDeletes (key) VALUES (?1)",
        &[Val::Text(key)],
    )?;
    Ok(())
}

/// Up to `limit` queued keys, oldest first.
pub fn pending(db: &dyn Db, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
    // A literal LIMIT: a bound one makes SQLite re-prepare on every run.
    let sql = format!("SELECT id, key FROM _fileDeletes ORDER BY id LIMIT {limit}");
    db.rows(&sql, &[], |r| Ok((r.int(0)?, r.text(1)?)))
}

/// Forgets processed rows.
pub fn done(db: &dyn Db, ids: &[i64]) -> Result<(), StoreError> {
    for id in ids {
        db.exec("DELETE FROM _fileDeletes WHERE id = ?1", &[Val::Int(*id)])?;
    }
    Ok(())
}

/// `(record id, raw value)` of one column for every record of `c`.
pub fn column_values(
    db: &dyn Db,
    c: &Collection,
    field: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let sql = format!(
        "SELECT \"id\", CAST({} AS TEXT) FROM {}",
        quote_ident(field),
        quote_ident(&c.name)
    );
    db.rows(&sql, &[], |r| {
        Ok((r.text(0)?, r.opt_text(1)?.unwrap_or_default()))
    })
}
