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
CREATE TABLE IF NOT EXISTS _webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
