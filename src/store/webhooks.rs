//! The webhook tables: endpoints, the delivery outbox and the attempt log.
//!
//! Delivery rows are inserted by the change hook inside the write
//! transaction of the change they describe, so a committed change always
//! has its deliveries and a rolled-back one never does. Bodies are frozen
//! at that moment: every retry sends the same bytes. Times are Unix
//! milliseconds, which the dispatcher compares and sorts cheaply.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;

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
CREATE INDEX IF NOT EXISTS _webhook_deliveries_seq ON _webhook_deliveries (change_seq);
CREATE INDEX IF NOT EXISTS _webhook_deliveries_event ON _webhook_deliveries (event_id);
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

/// One `_webhooks` row; `definition` is the endpoint's settings as JSON.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: String,
    pub definition: String,
    pub secret: String,
    pub old_secrets: String,
    pub status: String,
    pub disabled_reason: String,
    pub disabled_at_seq: Option<i64>,
    pub first_failure_at: Option<i64>,
    pub created: String,
    pub updated: String,
}

const ENDPOINT_COLS: &str = "id, definition, secret, old_secrets, status, disabled_reason, \
     disabled_at_seq, first_failure_at, created, updated";

fn endpoint_row(r: &Row<'_>) -> rusqlite::Result<EndpointRow> {
    Ok(EndpointRow {
        id: r.get(0)?,
        definition: r.get(1)?,
        secret: r.get(2)?,
        old_secrets: r.get(3)?,
        status: r.get(4)?,
        disabled_reason: r.get(5)?,
        disabled_at_seq: r.get(6)?,
        first_failure_at: r.get(7)?,
        created: r.get(8)?,
        updated: r.get(9)?,
    })
}

pub fn load_endpoints(conn: &Connection) -> Result<Vec<EndpointRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLS} FROM _webhooks ORDER BY created, id"
    ))?;
    let rows = stmt
        .query_map([], endpoint_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn get_endpoint(conn: &Connection, id: &str) -> Result<Option<EndpointRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLS} FROM _webhooks WHERE id = ?1"
    ))?;
    Ok(stmt.query_row([id], endpoint_row).optional()?)
}

pub fn insert_endpoint(conn: &Connection, e: &EndpointRow) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO _webhooks ({ENDPOINT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            e.id,
            e.definition,
            e.secret,
            e.old_secrets,
            e.status,
            e.disabled_reason,
            e.disabled_at_seq,
            e.first_failure_at,
            e.created,
            e.updated
        ],
    )?;
    Ok(())
}

/// Rewrites every column of an endpoint row (found by id).
pub fn update_endpoint(conn: &Connection, e: &EndpointRow) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE _webhooks SET definition = ?2, secret = ?3, old_secrets = ?4, status = ?5,
            disabled_reason = ?6, disabled_at_seq = ?7, first_failure_at = ?8, updated = ?9
         WHERE id = ?1",
        params![
            e.id,
            e.definition,
            e.secret,
            e.old_secrets,
            e.status,
            e.disabled_reason,
            e.disabled_at_seq,
            e.first_failure_at,
            e.updated
        ],
    )?;
    Ok(n > 0)
}

/// Deletes an endpoint with its deliveries and their attempts.
pub fn delete_endpoint(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    conn.execute(
        "DELETE FROM _webhook_attempts WHERE delivery_id IN
           (SELECT id FROM _webhook_deliveries WHERE webhook_id = ?1)",
        [id],
    )?;
    conn.execute(
        "DELETE FROM _webhook_deliveries WHERE webhook_id = ?1",
        [id],
    )?;
    Ok(conn.execute("DELETE FROM _webhooks WHERE id = ?1", [id])? > 0)
}

/// Marks the start of a failure streak (kept if one is running), or ends it.
pub fn set_first_failure(conn: &Connection, id: &str, at: Option<i64>) -> Result<(), StoreError> {
    match at {
        Some(t) => conn
            .prepare_cached(
                "UPDATE _webhooks SET first_failure_at = ?2 WHERE id = ?1 AND first_failure_at IS NULL",
            )?
            .execute(params![id, t])?,
        None => conn
            .prepare_cached(
                "UPDATE _webhooks SET first_failure_at = NULL WHERE id = ?1 AND first_failure_at IS NOT NULL",
            )?
            .execute([id])?,
    };
    Ok(())
}

/// Disables an endpoint (`gone`, `failing`) and cancels what it still owes.
pub fn disable(
    conn: &Connection,
    id: &str,
    reason: &str,
    at_seq: Option<i64>,
    now: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE _webhooks SET status = 'disabled', disabled_reason = ?2, disabled_at_seq = ?3,
            updated = ?4 WHERE id = ?1",
        params![id, reason, at_seq, now],
    )?;
    conn.execute(
        "UPDATE _webhook_deliveries SET state = 'cancelled'
         WHERE webhook_id = ?1 AND state IN ('pending', 'inflight')",
        [id],
    )?;
    Ok(())
}

/// A delivery to insert.
pub struct NewDelivery<'a> {
    pub webhook_id: &'a str,
    pub event_id: &'a str,
    pub change_seq: Option<i64>,
    pub kind: &'a str,
    pub body: &'a str,
    pub trigger: &'a str,
    pub now: i64,
}

/// Inserts a pending delivery due now; `false` if one already exists for
/// the same endpoint and change.
pub fn insert_delivery(conn: &Connection, d: &NewDelivery<'_>) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO _webhook_deliveries
               (webhook_id, event_id, change_seq, type, body, state, trigger, next_attempt_at, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?7, ?7)",
        )?
        .execute(params![
            d.webhook_id,
            d.event_id,
            d.change_seq,
            d.kind,
            d.body,
            d.trigger,
            d.now
        ])?;
    Ok(n > 0)
}

/// The event id already given to a change (by any endpoint's delivery).
pub fn event_id_for_seq(conn: &Connection, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT event_id FROM _webhook_deliveries WHERE change_seq = ?1 LIMIT 1")?
        .query_row([seq], |r| r.get(0))
        .optional()?)
}

/// At start: whatever was being sent when the process stopped is pending
/// again (exactly one process dispatches, so nobody else owns them).
pub fn reset_inflight(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE _webhook_deliveries SET state = 'pending' WHERE state = 'inflight'",
        [],
    )?)
}

/// A delivery handed to a sender.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: String,
    pub event_id: String,
    pub change_seq: Option<i64>,
    pub body: String,
    pub attempts: i64,
    pub schedule_base: i64,
    pub trigger: String,
}

/// Moves up to `limit` due pending deliveries of one endpoint to
/// `inflight` (oldest due first) and returns them.
pub fn claim(
    conn: &Connection,
    webhook_id: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE _webhook_deliveries SET state = 'inflight', updated = ?2
         WHERE id IN (SELECT id FROM _webhook_deliveries
                      WHERE webhook_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2
                      ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING id, webhook_id, event_id, change_seq, body, attempts, schedule_base, trigger",
    )?;
    let mut rows = stmt
        .query_map(params![webhook_id, now, limit as i64], |r| {
            Ok(Claimed {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                event_id: r.get(2)?,
                change_seq: r.get(3)?,
                body: r.get(4)?,
                attempts: r.get(5)?,
                schedule_base: r.get(6)?,
                trigger: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.sort_by_key(|c| c.id);
    Ok(rows)
}

/// The earliest time a pending delivery is due, if any.
pub fn next_due(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM _webhook_deliveries WHERE state = 'pending'",
        )?
        .query_row([], |r| r.get(0))?)
}

/// One logged attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery_id: i64,
    pub n: i64,
    pub trigger: String,
    pub started: i64,
    pub duration_ms: i64,
    pub status_code: Option<i64>,
    pub error_kind: Option<String>,
    pub response: Vec<u8>,
    pub truncated: bool,
}

/// Logs an attempt and moves its delivery to `state` (next try at `next`).
pub fn record_attempt(
    conn: &Connection,
    a: &Attempt,
    state: &str,
    next: i64,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO _webhook_attempts
           (delivery_id, n, trigger, started, duration_ms, status_code, error_kind, response, truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        a.delivery_id,
        a.n,
        a.trigger,
        a.started,
        a.duration_ms,
        a.status_code,
        a.error_kind,
        a.response,
        a.truncated
    ])?;
    // A delivery cancelled meanwhile (endpoint disabled) stays cancelled.
    conn.prepare_cached(
        "UPDATE _webhook_deliveries SET state = CASE WHEN state = 'cancelled' THEN state ELSE ?2 END,
            attempts = MAX(attempts, ?3), next_attempt_at = ?4, last_status = ?5, updated = ?6
         WHERE id = ?1",
    )?
    .execute(params![a.delivery_id, state, a.n, next, a.status_code, now])?;
    Ok(())
}

/// A delivery as listed.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: String,
    pub event_id: String,
    pub change_seq: Option<i64>,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub trigger: String,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

const DELIVERY_COLS: &str = "id, webhook_id, event_id, change_seq, type, state, attempts, trigger, \
     next_attempt_at, last_status, created, updated";

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        event_id: r.get(2)?,
        change_seq: r.get(3)?,
        kind: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        trigger: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_status: r.get(9)?,
        created: r.get(10)?,
        updated: r.get(11)?,
    })
}

/// Filters for listing deliveries (empty = any).
#[derive(Debug, Default, Clone)]
pub struct DeliveryQuery {
    pub webhook_id: String,
    pub state: String,
    pub event_id: String,
    pub page: i64,
    pub per_page: i64,
}

/// One page of deliveries, newest first, and the total.
pub fn list_deliveries(
    conn: &Connection,
    q: &DeliveryQuery,
) -> Result<(Vec<DeliveryRow>, i64), StoreError> {
    let cond =
        "(?1 = '' OR webhook_id = ?1) AND (?2 = '' OR state = ?2) AND (?3 = '' OR event_id = ?3)";
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM _webhook_deliveries WHERE {cond}"
        ))?
        .query_row(params![q.webhook_id, q.state, q.event_id], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLS} FROM _webhook_deliveries WHERE {cond}
         ORDER BY id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![
                q.webhook_id,
                q.state,
                q.event_id,
                q.per_page,
                (q.page - 1).max(0) * q.per_page
            ],
            delivery_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

pub fn get_delivery(conn: &Connection, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLS} FROM _webhook_deliveries WHERE id = ?1"
    ))?;
    Ok(stmt.query_row([id], delivery_row).optional()?)
}

/// Every attempt of a delivery, in order.
pub fn attempts_of(conn: &Connection, delivery_id: i64) -> Result<Vec<Attempt>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT delivery_id, n, trigger, started, duration_ms, status_code, error_kind, response, truncated
         FROM _webhook_attempts WHERE delivery_id = ?1 ORDER BY n",
    )?;
    let rows = stmt
        .query_map([delivery_id], |r| {
            Ok(Attempt {
                delivery_id: r.get(0)?,
                n: r.get(1)?,
                trigger: r.get(2)?,
                started: r.get(3)?,
                duration_ms: r.get(4)?,
                status_code: r.get(5)?,
                error_kind: r.get(6)?,
                response: r.get::<_, Option<Vec<u8>>>(7)?.unwrap_or_default(),
                truncated: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Queues a delivery again, due now, with `trigger`; a `replay` restarts
/// the retry schedule, other triggers make one more attempt.
pub fn requeue(conn: &Connection, id: i64, trigger: &str, now: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE _webhook_deliveries SET state = 'pending', trigger = ?2, next_attempt_at = ?3,
                schedule_base = attempts, updated = ?3
             WHERE id = ?1 AND state != 'inflight'",
        )?
        .execute(params![id, trigger, now])?;
    Ok(n > 0)
}

/// Ids of an endpoint's failed deliveries created at or after `since`.
pub fn failed_since(
    conn: &Connection,
    webhook_id: &str,
    since: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM _webhook_deliveries
         WHERE webhook_id = ?1 AND state = 'failed' AND created >= ?2 ORDER BY id",
    )?;
    let rows = stmt
        .query_map(params![webhook_id, since], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The delivery of an endpoint for a change, if there is one.
pub fn delivery_for_seq(
    conn: &Connection,
    webhook_id: &str,
    seq: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM _webhook_deliveries WHERE webhook_id = ?1 AND change_seq = ?2",
        )?
        .query_row(params![webhook_id, seq], |r| r.get(0))
        .optional()?)
}

/// Deliveries waiting or being sent (the queue depth).
pub fn queue_depth(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM _webhook_deliveries WHERE state IN ('pending', 'inflight')",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Drops finished deliveries (succeeded, failed, cancelled) last touched
/// before `before`, with their attempts; returns how many went.
pub fn prune(conn: &Connection, before: i64) -> Result<usize, StoreError> {
    conn.execute(
        "DELETE FROM _webhook_attempts WHERE delivery_id IN
           (SELECT id FROM _webhook_deliveries
            WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated < ?1)",
        [before],
    )?;
    Ok(conn.execute(
        "DELETE FROM _webhook_deliveries
         WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated < ?1",
        [before],
    )?)
}

/// When the next pending delivery of one endpoint falls due.
pub fn next_due_for(conn: &Connection, webhook_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM _webhook_deliveries WHERE webhook_id = ?1 AND state = 'pending'",
        )?
        .query_row([webhook_id], |r| r.get(0))?)
}

/// The oldest change an endpoint has not delivered (where a replay after
/// re-enabling should start).
pub fn oldest_unfinished_seq(
    conn: &Connection,
    webhook_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(change_seq) FROM _webhook_deliveries
             WHERE webhook_id = ?1 AND state IN ('pending', 'inflight', 'failed')",
        )?
        .query_row([webhook_id], |r| r.get(0))?)
}

/// A change-log row with its commit time, for replays.
pub struct LoggedChange {
    pub seq: i64,
    pub collection_id: String,
    pub record_id: String,
    pub action: String,
    pub created: String,
    pub snapshot: serde_json::Map<String, serde_json::Value>,
}

/// Changes of one collection from `from_seq` on, oldest first.
pub fn changes_from(
    conn: &Connection,
    collection_id: &str,
    from_seq: i64,
    limit: i64,
) -> Result<Vec<LoggedChange>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, collection_id, record_id, action, created, snapshot FROM _changes
         WHERE seq >= ?1 AND collection_id = ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![from_seq, collection_id, limit], |r| {
            let snap: Option<String> = r.get(5)?;
            Ok(LoggedChange {
                seq: r.get(0)?,
                collection_id: r.get(1)?,
                record_id: r.get(2)?,
                action: r.get(3)?,
                created: r.get(4)?,
                snapshot: snap
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
