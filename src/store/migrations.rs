//! `_migrations (file, applied)`: PocketBase's table of applied migration
//! files. `applied` is unix microseconds (PocketBase's older rows hold
//! seconds; ordering normalises them the same way).

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::StoreError;

/// Every applied file name (system rows from an imported `pb_data` too).
pub fn applied(conn: &Connection) -> Result<HashSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT file FROM _migrations")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    Ok(rows)
}

/// Marks `file` applied now.
pub fn insert(conn: &Connection, file: &str) -> Result<(), StoreError> {
    let micros = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    conn.execute(
        "INSERT INTO _migrations (file, applied) VALUES (?1, ?2)",
        params![file, micros as i64],
    )?;
    Ok(())
}

/// Forgets `file`.
pub fn delete(conn: &Connection, file: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM _migrations WHERE file = ?1", params![file])?;
    Ok(())
}

/// The last `n` applied files among `known`, newest first (PocketBase's
/// `applied DESC, file DESC`, seconds normalised to microseconds).
pub fn last_applied(
    conn: &Connection,
    known: &HashSet<String>,
    n: usize,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT file FROM _migrations ORDER BY \
         CASE WHEN applied < 100000000000 THEN applied * 1000000 ELSE applied END DESC, file DESC",
    )?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|f| known.contains(f))
        .take(n)
        .collect())
}
