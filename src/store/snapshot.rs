//! Consistent copies of a live database, and putting one back.
//!
//! - [`vacuum_into`]: `VACUUM INTO` on a read connection writes a compact
//!   copy of one read transaction's view: a consistent snapshot while the
//!   writer keeps committing (never a copy of a live file).
//! - [`restore_into`]: SQLite's online backup API copies a database file
//!   over the live one in a single step, i.e. one write transaction: other
//!   connections see the old data or the new, never a mix, and a failure
//!   leaves the old data in place.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// What backups answer on PostgreSQL, where the backups API cannot exist
/// (docs/scaling.md): the store's own tools instead.
pub const UNSUPPORTED: &str = "backups on PostgreSQL (use pg_dump)";

/// Writes a consistent, compacted copy of `conn`'s database to `dest`
/// (which must not exist).
pub fn vacuum_into(db: &dyn super::sql::Db, dest: &Path) -> Result<(), StoreError> {
    let conn = super::sql::sqlite_only(db, UNSUPPORTED)?;
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Corrupt("backup path is not UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// Copies the database file `src` over the database at `live` (all its
/// pages, in one step), then checks the result.
pub fn restore_into(src: &Path, live: &Path) -> Result<(), StoreError> {
    let from = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    check_integrity(&from)?;
    let mut to = Connection::open(live)?;
    to.busy_timeout(std::time::Duration::from_secs(30))?;
    {
        let b = rusqlite::backup::Backup::new(&from, &mut to)?;
        // -1: every page in one step, so one transaction on the target.
        loop {
            match b.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => continue,
                // Locked by another connection: wait and retry.
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
    check_integrity(&to)
}

/// `PRAGMA integrity_check` must answer exactly "ok".
pub fn check_integrity(conn: &Connection) -> Result<(), StoreError> {
    let res: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if res == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("integrity check: {res}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_restore_round_trip() {
        let dir = tempfile::tempdir().expect("dir");
        let live = dir.path().join("live.db");
        let conn = Connection::open(&live).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);",
        )
        .expect("seed");
        let snap = dir.path().join("snap.db");
        let reader =
            Connection::open_with_flags(&live, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("reader");
        vacuum_into(&reader, &snap).expect("vacuum into from a read-only connection");
        conn.execute_batch("INSERT INTO t VALUES (3)")
            .expect("more");
        restore_into(&snap, &live).expect("restore");
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 2, "the live connection sees the restored data");
        std::fs::write(dir.path().join("bad.db"), b"not a database").expect("write");
        assert!(restore_into(&dir.path().join("bad.db"), &live).is_err());
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 2, "a failed restore leaves the data alone");
    }
}
