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

/// Creates the tables, and rebuilds a `_webhook_deliveries` made with
/// `AUTOINCREMENT` without it (in the caller's transaction). Ids keep
/// growing: when the sequence had passed the highest id left (its rows
/// were deleted), a cancelled placeholder row with no endpoint takes the
/// sequence's value, so the next id is still above every id ever given.
pub fn create_or_upgrade(conn: &Connection) -> Result<(), StoreError> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '_webhook_deliveries'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let old = sql.is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT"));
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

pub const TABLES: &str = "
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
CREATE INDEX IF NOT EXISTS _webhook_deliveries_due
    ON _webhook_deliveries (webhook_id, state, next_attempt_at);
-- Every index is written by every create that a webhook wants (inside the
-- record's own transaction): by-seq look-ups go through the unique
-- (webhook_id, change_seq) index with `webhook_id IN (endpoints)`, and a
-- by-event filter of the delivery list scans the endpoint's rows.
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
);
";

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod upgrade_tests;
