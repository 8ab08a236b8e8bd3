//! The delivery log: attempts (`_webhook_attempts`), deliveries as the API
//! lists them, and pruning finished ones.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::StoreError;

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
    // Rows whose endpoint is gone (the highest id kept by a delete) are not listed.
    let cond = "webhook_id IN (SELECT id FROM _webhooks) AND (?1 = '' OR webhook_id = ?1) \
         AND (?2 = '' OR state = ?2) AND (?3 = '' OR event_id = ?3)";
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

/// Drops finished deliveries (succeeded, failed, cancelled) last touched
/// before `before`, with their attempts; returns how many went. The row
/// with the highest id stays (new ids are max(id) + 1: they must not fall
/// back to ones already given).
pub fn prune(conn: &Connection, before: i64) -> Result<usize, StoreError> {
    conn.execute(
        "DELETE FROM _webhook_attempts WHERE delivery_id IN
           (SELECT id FROM _webhook_deliveries
            WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated < ?1
              AND id < (SELECT MAX(id) FROM _webhook_deliveries))",
        [before],
    )?;
    Ok(conn.execute(
        "DELETE FROM _webhook_deliveries
         WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated < ?1
           AND id < (SELECT MAX(id) FROM _webhook_deliveries)",
        [before],
    )?)
}
