//! The delivery log: attempts (`_webhook_attempts`), deliveries as the API
//! lists them, and pruning finished ones.

use super::active;
use crate::store::StoreError;
use crate::store::sql::{Db, Row, Val};

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
    db: &dyn Db,
    a: &Attempt,
    state: &str,
    next: i64,
    now: i64,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO _webhook_attempts
           (delivery_id, n, trigger, started, duration_ms, status_code, error_kind, response, truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (delivery_id, n) DO UPDATE SET trigger = excluded.trigger,
           started = excluded.started, duration_ms = excluded.duration_ms,
           status_code = excluded.status_code, error_kind = excluded.error_kind,
           response = excluded.response, truncated = excluded.truncated",
        &[
            a.delivery_id.into(),
            a.n.into(),
            a.trigger.as_str().into(),
            a.started.into(),
            a.duration_ms.into(),
            a.status_code.into(),
            a.error_kind.as_deref().into(),
            Val::Blob(&a.response),
            a.truncated.into(),
        ],
    )?;
    // A delivery cancelled meanwhile (endpoint disabled) stays cancelled.
    db.exec(
        "UPDATE _webhook_deliveries SET state = CASE WHEN state = 'cancelled' THEN state ELSE ?2 END,
            attempts = CASE WHEN attempts > ?3 THEN attempts ELSE ?3 END,
            next_attempt_at = ?4, last_status = ?5, updated = ?6
         WHERE id = ?1",
        &[
            a.delivery_id.into(),
            state.into(),
            a.n.into(),
            next.into(),
            a.status_code.into(),
            now.into(),
        ],
    )?;
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

fn delivery_row(r: &dyn Row) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        id: r.int(0)?,
        webhook_id: r.text(1)?,
        event_id: r.text(2)?,
        change_seq: r.opt_int(3)?,
        kind: r.text(4)?,
        state: r.text(5)?,
        attempts: r.int(6)?,
        trigger: r.text(7)?,
        next_attempt_at: r.int(8)?,
        last_status: r.opt_int(9)?,
        created: r.int(10)?,
        updated: r.int(11)?,
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
    db: &dyn Db,
    q: &DeliveryQuery,
) -> Result<(Vec<DeliveryRow>, i64), StoreError> {
    // Rows whose endpoint is gone (the highest id kept by a delete) are not listed.
    // A state with a partial index names its condition, so the index serves
    // (the dispatcher's queue, dead letters); the others scan.
    let partial = match q.state.as_str() {
        "pending" | "inflight" => concat!(" AND ", active!()),
        "failed" => " AND state = 'failed'",
        _ => "",
    };
    let cond = format!(
        "webhook_id IN (SELECT id FROM _webhooks) AND (?1 = '' OR webhook_id = ?1) \
         AND (?2 = '' OR state = ?2) AND (?3 = '' OR event_id = ?3){partial}"
    );
    let filter = [
        q.webhook_id.as_str().into(),
        q.state.as_str().into(),
        q.event_id.as_str().into(),
    ];
    let total = db
        .row(
            &format!("SELECT COUNT(*) FROM _webhook_deliveries WHERE {cond}"),
            &filter,
            |r| r.int(0),
        )?
        .unwrap_or(0);
    let mut params = filter.to_vec();
    params.push(q.per_page.into());
    params.push(((q.page - 1).max(0) * q.per_page).into());
    let rows = db.rows(
        &format!(
            "SELECT {DELIVERY_COLS} FROM _webhook_deliveries WHERE {cond}
             ORDER BY id DESC LIMIT ?4 OFFSET ?5"
        ),
        &params,
        delivery_row,
    )?;
    Ok((rows, total))
}

pub fn get_delivery(db: &dyn Db, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
    db.row(
        &format!("SELECT {DELIVERY_COLS} FROM _webhook_deliveries WHERE id = ?1"),
        &[id.into()],
        delivery_row,
    )
}

/// Every attempt of a delivery, in order.
pub fn attempts_of(db: &dyn Db, delivery_id: i64) -> Result<Vec<Attempt>, StoreError> {
    db.rows(
        "SELECT delivery_id, n, trigger, started, duration_ms, status_code, error_kind, response, truncated
         FROM _webhook_attempts WHERE delivery_id = ?1 ORDER BY n",
        &[delivery_id.into()],
        |r| {
            Ok(Attempt {
                delivery_id: r.int(0)?,
                n: r.int(1)?,
                trigger: r.text(2)?,
                started: r.int(3)?,
                duration_ms: r.int(4)?,
                status_code: r.opt_int(5)?,
                error_kind: r.opt_text(6)?,
                response: match r.cell(7)? {
                    crate::store::sql::Cell::Blob(b) | crate::store::sql::Cell::Text(b) => {
                        b.to_vec()
                    }
                    _ => Vec::new(),
                },
                truncated: r.bool(8)?,
            })
        },
    )
}

/// Drops finished deliveries (succeeded, failed, cancelled) last touched
/// before `before`, with their attempts; returns how many went. The row
/// with the highest id stays (on SQLite new ids are max(id) + 1: they must
/// not fall back to ones already given).
pub fn prune(db: &dyn Db, before: i64) -> Result<usize, StoreError> {
    db.exec(
        "DELETE FROM _webhook_attempts WHERE delivery_id IN
           (SELECT id FROM _webhook_deliveries
            WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated < ?1
              AND id < (SELECT MAX(id) FROM _webhook_deliveries))",
        &[before.into()],
    )?;
    db.exec(
        "DELETE FROM _webhook_deliveries
         WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated < ?1
           AND id < (SELECT MAX(id) FROM _webhook_deliveries)",
        &[before.into()],
    )
}
