//! Deleting expired one-time rows (`_otps`, `_mfas`) for the hourly
//! cleanup jobs, per auth collection and its own duration.

use super::StoreError;
use super::sql::{Db, Val};

/// The tables the cleanup may touch.
pub const TABLES: [&str; 2] = ["_otps", "_mfas"];

/// Deletes rows of `table` for `collection_id` created before `before`.
pub fn delete_before(
    db: &dyn Db,
    table: &str,
    collection_id: &str,
    before: &str,
) -> Result<usize, StoreError> {
    if !TABLES.contains(&table) {
        return Err(StoreError::Corrupt(format!("no cleanup for {table}")));
    }
    db.exec(
        &format!("DELETE FROM \"{table}\" WHERE \"collectionRef\" = ?1 AND \"created\" < ?2"),
        &[Val::Text(collection_id), Val::Text(before)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn deletes_only_old_rows_of_the_collection() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(
            "CREATE TABLE _otps (id, collectionRef, created);
             INSERT INTO _otps VALUES ('a', 'c1', '2026-01-01 00:00:00.000Z'),
                                      ('b', 'c1', '2026-01-02 00:00:00.000Z'),
                                      ('c', 'c2', '2026-01-01 00:00:00.000Z');",
        )
        .expect("seed");
        let n = delete_before(&conn, "_otps", "c1", "2026-01-01 12:00:00.000Z").expect("delete");
        assert_eq!(n, 1);
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM _otps", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 2);
        assert!(delete_before(&conn, "users", "c1", "x").is_err());
    }
}
