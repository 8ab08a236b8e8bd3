//! Endpoint rows (`_webhooks`): definitions, secrets, status, the failure
//! streak that leads to an automatic disable.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::StoreError;

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
    // The row with the highest id stays, emptied (new ids are max(id) + 1
    // and must not fall back to ones already given); no listing shows it.
    conn.execute(
        "DELETE FROM _webhook_deliveries
         WHERE webhook_id = ?1 AND id < (SELECT MAX(id) FROM _webhook_deliveries)",
        [id],
    )?;
    conn.execute(
        "UPDATE _webhook_deliveries SET body = '', state = 'cancelled' WHERE webhook_id = ?1",
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
