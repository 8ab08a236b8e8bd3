//! Database upkeep the operations layer asks for: the daily optimizer run
//! and, after a backup restore, keeping the change log's numbering ahead of
//! every sequence number clients have already seen.

use super::{Conn, StoreError};

/// Lets SQLite refresh its planner statistics (`PRAGMA optimize`).
pub fn optimize(conn: &Conn) -> Result<(), StoreError> {
    conn.execute_batch("PRAGMA optimize;")?;
    Ok(())
}

/// Makes the next `_changes.seq` larger than `seen`, so realtime resume
/// tokens issued before a restore never point into the restored log.
pub fn keep_change_seq_above(conn: &Conn, seen: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = '_changes'",
        [seen],
    )?;
    conn.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT '_changes', ?1
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '_changes')",
        [seen],
    )?;
    Ok(())
}
