//! The outbox (`_webhook_deliveries`): inserting frozen deliveries,
//! claiming due ones for the dispatcher, re-queueing for resend, recover and
//! replay, and the change-log rows a replay starts from.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::StoreError;

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

/// Inserts a pending delivery due now and returns its id; `None` if one
/// already exists for the same endpoint and change.
pub fn insert_delivery(conn: &Connection, d: &NewDelivery<'_>) -> Result<Option<i64>, StoreError> {
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
    Ok((n > 0).then(|| conn.last_insert_rowid()))
}

/// The frozen body of a delivery.
pub fn delivery_body(conn: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT body FROM _webhook_deliveries WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Cancels an endpoint's pending deliveries (it was disabled by hand).
pub fn cancel_pending(conn: &Connection, webhook_id: &str) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE _webhook_deliveries SET state = 'cancelled' WHERE webhook_id = ?1 AND state = 'pending'",
        [webhook_id],
    )?)
}

/// The event id already given to a change (by any endpoint's delivery).
pub fn event_id_for_seq(conn: &Connection, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT event_id FROM _webhook_deliveries
             WHERE webhook_id IN (SELECT id FROM _webhooks) AND change_seq = ?1 LIMIT 1",
        )?
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
    // A literal LIMIT (a handful of values): a bound one makes SQLite
    // re-prepare the statement on every run.
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE _webhook_deliveries SET state = 'inflight', updated = ?2
         WHERE id IN (SELECT id FROM _webhook_deliveries
                      WHERE webhook_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2
                      ORDER BY next_attempt_at, id LIMIT {limit})
         RETURNING id, webhook_id, event_id, change_seq, body, attempts, schedule_base, trigger"
    ))?;
    let mut rows = stmt
        .query_map(params![webhook_id, now], |r| {
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
            "SELECT COUNT(*) FROM _webhook_deliveries
             WHERE webhook_id IN (SELECT id FROM _webhooks) AND state IN ('pending', 'inflight')",
        )?
        .query_row([], |r| r.get(0))?)
}

/// When the next pending delivery of one endpoint falls due.
pub fn next_due_for(conn: &Connection, webhook_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM _webhook_deliveries WHERE webhook_id = ?1 AND state = 'pending'",
        )?
        .query_row([webhook_id], |r| r.get(0))?)
}
