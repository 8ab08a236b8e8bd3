//! `_sessions`: the dashboard's server-side sessions (one row per session,
//! the data as JSON). Not a collection: session data never passes through
//! the records API or `_changes`. The table is created on first use so
//! older data directories gain it without a migration.

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Db, Val};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS _sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires INTEGER NOT NULL
) STRICT";

const PG_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sessions (
    id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires BIGINT NOT NULL
)";

/// Creates the table if it is missing (idempotent).
pub fn ensure(db: &dyn Db) -> Result<(), StoreError> {
    db.batch(match db.dialect() {
        Dialect::Sqlite => TABLE,
        Dialect::Postgres => PG_TABLE,
    })
}

/// Inserts a new session; `false` if the id is taken.
pub fn insert(db: &dyn Db, id: &str, data: &str, expires: i64) -> Result<bool, StoreError> {
    let n = db.exec(
        "INSERT INTO _sessions (id, data, expires) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        &[Val::Text(id), Val::Text(data), Val::Int(expires)],
    )?;
    Ok(n == 1)
}

/// Inserts or replaces a session.
pub fn upsert(db: &dyn Db, id: &str, data: &str, expires: i64) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO _sessions (id, data, expires) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET data = excluded.data, expires = excluded.expires",
        &[Val::Text(id), Val::Text(data), Val::Int(expires)],
    )?;
    Ok(())
}

/// The data of a session that has not expired at `now` (unix seconds).
pub fn load(db: &dyn Db, id: &str, now: i64) -> Result<Option<(String, i64)>, StoreError> {
    db.row(
        "SELECT data, expires FROM _sessions WHERE id = ?1 AND expires > ?2",
        &[Val::Text(id), Val::Int(now)],
        |r| Ok((r.text(0)?, r.int(1)?)),
    )
}

pub fn delete(db: &dyn Db, id: &str) -> Result<(), StoreError> {
    db.exec("DELETE FROM _sessions WHERE id = ?1", &[Val::Text(id)])?;
    Ok(())
}

/// Removes every session expired at `now`.
pub fn delete_expired(db: &dyn Db, now: i64) -> Result<usize, StoreError> {
    db.exec(
        "DELETE FROM _sessions WHERE expires <= ?1",
        &[Val::Int(now)],
    )
}
