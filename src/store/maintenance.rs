//! Database upkeep the operations layer asks for: the daily optimizer run
//! and, after a backup restore, keeping the change log's numbering ahead of
//! every sequence number clients have already seen.

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Db, Val};

/// Refreshes the planner's statistics (SQLite's `PRAGMA optimize`,
/// PostgreSQL's `ANALYZE`).
pub fn optimize(db: &dyn Db) -> Result<(), StoreError> {
    db.batch(match db.dialect() {
        Dialect::Sqlite => "PRAGMA optimize;",
        Dialect::Postgres => "ANALYZE;",
    })
}

/// Makes the next `_changes.seq` larger than `seen`, so realtime resume
/// tokens issued before a restore never point into the restored log.
pub fn keep_change_seq_above(db: &dyn Db, seen: i64) -> Result<(), StoreError> {
    if db.dialect() == Dialect::Postgres {
        db.row(
            "SELECT setval(pg_get_serial_sequence('_changes', 'seq'),
                GREATEST(?1, (SELECT COALESCE(MAX(seq), 0) FROM _changes), 1))",
            &[Val::Int(seen)],
            |r| r.int(0),
        )?;
        return Ok(());
    }
    db.exec(
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = '_changes'",
        &[Val::Int(seen)],
    )?;
    db.exec(
        "INSERT INTO sqlite_sequence (name, seq) SELECT '_changes', ?1
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '_changes')",
        &[Val::Int(seen)],
    )?;
    Ok(())
}
