//! `_migrations (file, applied)`: PocketBase's table of applied migration
//! files. `applied` is unix microseconds (PocketBase's older rows hold
//! seconds; ordering normalises them the same way).

use std::collections::HashSet;

use super::StoreError;
use super::sql::{Db, Val};

/// Takes the migrations lock for the rest of the caller's transaction:
/// PostgreSQL's advisory lock, so nodes apply pending files one at a time
/// (SQLite's write transaction already is one).
pub fn lock(db: &dyn Db) -> Result<(), StoreError> {
    if db.dialect() == super::dialect::Dialect::Postgres {
        db.batch("SELECT pg_advisory_xact_lock(7305260050)")?;
    }
    Ok(())
}

/// Every applied file name (system rows from an imported `pb_data` too).
pub fn applied(db: &dyn Db) -> Result<HashSet<String>, StoreError> {
    let rows = db.rows("SELECT file FROM _migrations", &[], |r| r.text(0))?;
    Ok(rows.into_iter().collect())
}

/// Marks `file` applied now.
pub fn insert(db: &dyn Db, file: &str) -> Result<(), StoreError> {
    let micros = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    db.exec(
        "INSERT INTO _migrations (file, applied) VALUES (?1, ?2)",
        &[Val::Text(file), Val::Int(micros as i64)],
    )?;
    Ok(())
}

/// Forgets `file`.
pub fn delete(db: &dyn Db, file: &str) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM _migrations WHERE file = ?1",
        &[Val::Text(file)],
    )?;
    Ok(())
}

/// The last `n` applied files among `known`, newest first (PocketBase's
/// `applied DESC, file DESC`, seconds normalised to microseconds).
pub fn last_applied(
    db: &dyn Db,
    known: &HashSet<String>,
    n: usize,
) -> Result<Vec<String>, StoreError> {
    let rows = db.rows(
        "SELECT file FROM _migrations ORDER BY \
         CASE WHEN applied < 100000000000 THEN applied * 1000000 ELSE applied END DESC, file DESC",
        &[],
        |r| r.text(0),
    )?;
    Ok(rows
        .into_iter()
        .filter(|f| known.contains(f))
        .take(n)
        .collect())
}
