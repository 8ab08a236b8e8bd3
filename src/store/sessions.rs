//! `_sessions`: the dashboard's server-side sessions (one row per session,
//! the data as JSON). Not a collection: session data never passes through
//! the records API or `_changes`. The table is created on first use so
//! older data directories gain it without a migration.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS _sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires INTEGER NOT NULL
) STRICT";

/// Creates the table if it is missing (idempotent).
pub fn ensure(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(TABLE)?;
    Ok(())
}

/// Inserts a new session; `false` if the id is taken.
pub fn insert(conn: &Connection, id: &str, data: &str, expires: i64) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO _sessions (id, data, expires) VALUES (?1, ?2, ?3)",
        params![id, data, expires],
    )?;
    Ok(n == 1)
}

/// Inserts or replaces a session.
pub fn upsert(conn: &Connection, id: &str, data: &str, expires: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO _sessions (id, data, expires) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET data = excluded.data, expires = excluded.expires",
        params![id, data, expires],
    )?;
    Ok(())
}

/// The data of a session that has not expired at `now` (unix seconds).
pub fn load(conn: &Connection, id: &str, now: i64) -> Result<Option<(String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT data, expires FROM _sessions WHERE id = ?1 AND expires > ?2")?;
    Ok(stmt
        .query_row(params![id, now], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn delete(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM _sessions WHERE id = ?1", params![id])?;
    Ok(())
}

/// Removes every session expired at `now`.
pub fn delete_expired(conn: &Connection, now: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM _sessions WHERE expires <= ?1", params![now])?)
}
