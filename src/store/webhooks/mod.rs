//! The webhook tables: endpoints, the delivery outbox and the attempt log.
//!
//! Delivery rows are inserted by the change hook inside the write
//! transaction of the change they describe, so a committed change always
//! has its deliveries and a rolled-back one never does. Bodies are frozen
//! at that moment: every retry sends the same bytes. Times are Unix
//! milliseconds, which the dispatcher compares and sorts cheaply.
//!
//! Split by concern: `endpoints` (the `_webhooks` rows, failure streaks,
//! disabling), `deliveries` (the outbox: inserting, claiming, re-queueing,
//! replay sources) and `log` (attempts and the delivery log as listed,
//! pruning). Everything is re-exported here, so callers name
//! `store::webhooks::…` whatever file it lives in.

mod deliveries;
mod endpoints;
mod log;

pub use deliveries::*;
pub use endpoints::*;
pub use log::*;

use rusqlite::{Connection, OptionalExtension};

use crate::store::StoreError;

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, change_seq, type, body, state, attempts, \
     schedule_base, trigger, next_attempt_at, last_status, created, updated";

/// The condition of the dispatcher's partial index (`TABLES`), which
/// every query meant to use the index repeats word for word: SQLite uses a
/// partial index only for a query whose `WHERE` contains its condition.
macro_rules! active {
    () => {
        "state IN ('pending', 'inflight')"
    };
}
pub(crate) use active;

/// The `CREATE` statement of table `name`, if it exists.
fn table_sql(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?)
}

/// Creates the tables, and rebuilds a `_webhook_deliveries` made with
/// `AUTOINCREMENT` without it and an attempt log made with a rowid
/// without one (in the caller's transaction).
pub fn create_or_upgrade(conn: &Connection) -> Result<(), StoreError> {
    // The attempt log keyed by `(delivery_id, n)` alone (`WITHOUT ROWID`:
    // one b-tree written per attempt instead of a table and its key's
    // index): one made with a rowid is set aside, `TABLES` makes the new
    // one, and the rows are copied over.
    let rowid_attempts = table_sql(conn, "_webhook_attempts")?
        .is_some_and(|s| !s.to_ascii_uppercase().contains("WITHOUT ROWID"));
    if rowid_attempts {
        conn.execute_batch("ALTER TABLE _webhook_attempts RENAME TO _webhook_attempts_rowid;")?;
    }
    create_or_upgrade_deliveries(conn)?;
    if rowid_attempts {
        conn.execute_batch(&format!(
            "INSERT INTO _webhook_attempts ({ATTEMPT_COLUMNS})
               SELECT {ATTEMPT_COLUMNS} FROM _webhook_attempts_rowid;
             DROP TABLE _webhook_attempts_rowid;"
        ))?;
    }
    Ok(())
}

const ATTEMPT_COLUMNS: &str =
    "delivery_id, n, trigger, started, duration_ms, status_code, error_kind, response, truncated";

/// Runs `TABLES`, first setting aside a `_webhook_deliveries` made with
/// `AUTOINCREMENT` and then copying its rows over. Ids keep growing: when
/// the sequence had passed the highest id left (its rows were deleted), a
/// cancelled placeholder row with no endpoint takes the sequence's value,
/// so the next id is still above every id ever given.
fn create_or_upgrade_deliveries(conn: &Connection) -> Result<(), StoreError> {
    let old = table_sql(conn, "_webhook_deliveries")?
        .is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT"));
    if !old {
        conn.execute_batch(TABLES)?;
        return Ok(());
    }
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = '_webhook_deliveries'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute_batch(
        "ALTER TABLE _webhook_deliveries RENAME TO _webhook_deliveries_autoinc;
         DROP INDEX IF EXISTS _webhook_deliveries_due;",
    )?;
    conn.execute_batch(TABLES)?;
    conn.execute_batch(&format!(
        "INSERT INTO _webhook_deliveries ({DELIVERY_COLUMNS})
           SELECT {DELIVERY_COLUMNS} FROM _webhook_deliveries_autoinc;
         DROP TABLE _webhook_deliveries_autoinc;
         DELETE FROM sqlite_sequence WHERE name = '_webhook_deliveries';"
    ))?;
    let max: Option<i64> =
        conn.query_row("SELECT MAX(id) FROM _webhook_deliveries", [], |r| r.get(0))?;
    if let Some(seq) = seq.filter(|s| max.is_none_or(|m| *s > m)) {
        conn.execute(
            "INSERT INTO _webhook_deliveries
               (id, webhook_id, event_id, type, body, state, next_attempt_at, created, updated)
             VALUES (?1, '', '', '', '', 'cancelled', 0, 0, 0)",
            [seq],
        )?;
    }
    Ok(())
}

pub const TABLES: &str = concat!(
    "
CREATE TABLE IF NOT EXISTS _webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    definition JSON NOT NULL,
    secret TEXT NOT NULL,
    old_secrets JSON NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'enabled',
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at_seq INTEGER,
    first_failure_at INTEGER,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
-- No AUTOINCREMENT (a `sqlite_sequence` write per delivery): ids are
-- max(id) + 1, and they stay monotonic because pruning and endpoint
-- deletes never remove the row with the highest id (see `upgrade`).
CREATE TABLE IF NOT EXISTS _webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    change_seq INTEGER,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    schedule_base INTEGER NOT NULL DEFAULT 0,
    trigger TEXT NOT NULL DEFAULT 'scheduled',
    next_attempt_at INTEGER NOT NULL,
    last_status INTEGER,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (webhook_id, change_seq)
);
-- The dispatcher's index holds only the deliveries still to send (a
-- partial index): a delivery enters it when queued and leaves it when its
-- outcome is recorded, so it stays a few pages however long the log is,
-- and recording an outcome moves no entry into a large index (session 19:
-- the dispatcher's commits were ~2 WAL pages per delivery). Queries that
-- should use it repeat its condition word for word, which is how SQLite
-- knows they may. Dead letters have an index of their own for recovery.
DROP INDEX IF EXISTS _webhook_deliveries_due;
CREATE INDEX IF NOT EXISTS _webhook_deliveries_active
    ON _webhook_deliveries (webhook_id, state, next_attempt_at)
    WHERE ",
    active!(),
    ";
CREATE INDEX IF NOT EXISTS _webhook_deliveries_failed
    ON _webhook_deliveries (webhook_id, created) WHERE state = 'failed';
DROP INDEX IF EXISTS _webhook_deliveries_seq;
DROP INDEX IF EXISTS _webhook_deliveries_event;
CREATE TABLE IF NOT EXISTS _webhook_attempts (
    delivery_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    started INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error_kind TEXT,
    response BLOB,
    truncated BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (delivery_id, n)
) WITHOUT ROWID;
"
);

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod upgrade_tests;
