//! Endpoint rows (`_webhooks`): definitions, secrets, status, the failure
//! streak that leads to an automatic disable. Every change of an endpoint
//! bumps the `webhooks` version (`store/cluster.rs`), so the other nodes
//! on one PostgreSQL database reload theirs.

use super::active;
use crate::store::StoreError;
use crate::store::sql::{Db, Row, Val};

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

fn endpoint_row(r: &dyn Row) -> Result<EndpointRow, StoreError> {
    Ok(EndpointRow {
        id: r.text(0)?,
        definition: r.text(1)?,
        secret: r.text(2)?,
        old_secrets: r.text(3)?,
        status: r.text(4)?,
        disabled_reason: r.text(5)?,
        disabled_at_seq: r.opt_int(6)?,
        first_failure_at: r.opt_int(7)?,
        created: r.text(8)?,
        updated: r.text(9)?,
    })
}

pub fn load_endpoints(db: &dyn Db) -> Result<Vec<EndpointRow>, StoreError> {
    db.rows(
        &format!("SELECT {ENDPOINT_COLS} FROM _webhooks ORDER BY created, id"),
        &[],
        endpoint_row,
    )
}

pub fn get_endpoint(db: &dyn Db, id: &str) -> Result<Option<EndpointRow>, StoreError> {
    db.row(
        &format!("SELECT {ENDPOINT_COLS} FROM _webhooks WHERE id = ?1"),
        &[Val::Text(id)],
        endpoint_row,
    )
}

pub fn insert_endpoint(db: &dyn Db, e: &EndpointRow) -> Result<(), StoreError> {
    db.exec(
        &format!(
            "INSERT INTO _webhooks ({ENDPOINT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        &[
            Val::Text(&e.id),
            Val::Text(&e.definition),
            Val::Text(&e.secret),
            Val::Text(&e.old_secrets),
            Val::Text(&e.status),
            Val::Text(&e.disabled_reason),
            e.disabled_at_seq.into(),
            e.first_failure_at.into(),
            Val::Text(&e.created),
            Val::Text(&e.updated),
        ],
    )?;
    crate::store::cluster::bump(db, crate::store::cluster::Cached::Webhooks)?;
    Ok(())
}

/// Rewrites every column of an endpoint row (found by id).
pub fn update_endpoint(db: &dyn Db, e: &EndpointRow) -> Result<bool, StoreError> {
    let n = db.exec(
        "UPDATE _webhooks SET definition = ?2, secret = ?3, old_secrets = ?4, status = ?5,
            disabled_reason = ?6, disabled_at_seq = ?7, first_failure_at = ?8, updated = ?9
         WHERE id = ?1",
        &[
            Val::Text(&e.id),
            Val::Text(&e.definition),
            Val::Text(&e.secret),
            Val::Text(&e.old_secrets),
            Val::Text(&e.status),
            Val::Text(&e.disabled_reason),
            e.disabled_at_seq.into(),
            e.first_failure_at.into(),
            Val::Text(&e.updated),
        ],
    )?;
    crate::store::cluster::bump(db, crate::store::cluster::Cached::Webhooks)?;
    Ok(n > 0)
}

/// Deletes an endpoint with its deliveries and their attempts.
pub fn delete_endpoint(db: &dyn Db, id: &str) -> Result<bool, StoreError> {
    let id = [Val::Text(id)];
    db.exec(
        "DELETE FROM _webhook_attempts WHERE delivery_id IN
           (SELECT id FROM _webhook_deliveries WHERE webhook_id = ?1)",
        &id,
    )?;
    // The row with the highest id stays, emptied (new ids are max(id) + 1
    // and must not fall back to ones already given); no listing shows it.
    db.exec(
        "DELETE FROM _webhook_deliveries
         WHERE webhook_id = ?1 AND id < (SELECT MAX(id) FROM _webhook_deliveries)",
        &id,
    )?;
    db.exec(
        "UPDATE _webhook_deliveries SET body = '', state = 'cancelled' WHERE webhook_id = ?1",
        &id,
    )?;
    let gone = db.exec("DELETE FROM _webhooks WHERE id = ?1", &id)? > 0;
    crate::store::cluster::bump(db, crate::store::cluster::Cached::Webhooks)?;
    Ok(gone)
}

/// Marks the start of a failure streak (kept if one is running), or ends it.
pub fn set_first_failure(db: &dyn Db, id: &str, at: Option<i64>) -> Result<(), StoreError> {
    match at {
        Some(t) => db.exec(
            "UPDATE _webhooks SET first_failure_at = ?2 WHERE id = ?1 AND first_failure_at IS NULL",
            &[Val::Text(id), Val::Int(t)],
        )?,
        None => db.exec(
            "UPDATE _webhooks SET first_failure_at = NULL WHERE id = ?1 AND first_failure_at IS NOT NULL",
            &[Val::Text(id)],
        )?,
    };
    Ok(())
}

/// Disables an endpoint (`gone`, `failing`) and cancels what it still owes.
pub fn disable(
    db: &dyn Db,
    id: &str,
    reason: &str,
    at_seq: Option<i64>,
    now: &str,
) -> Result<(), StoreError> {
    db.exec(
        "UPDATE _webhooks SET status = 'disabled', disabled_reason = ?2, disabled_at_seq = ?3,
            updated = ?4 WHERE id = ?1",
        &[
            Val::Text(id),
            Val::Text(reason),
            at_seq.into(),
            Val::Text(now),
        ],
    )?;
    db.exec(
        concat!(
            "UPDATE _webhook_deliveries SET state = 'cancelled' WHERE webhook_id = ?1 AND ",
            active!()
        ),
        &[Val::Text(id)],
    )?;
    crate::store::cluster::bump(db, crate::store::cluster::Cached::Webhooks)?;
    Ok(())
}

/// The oldest change an endpoint has not delivered (where a replay after
/// re-enabling should start).
pub fn oldest_unfinished_seq(db: &dyn Db, webhook_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(db
        .row(
            // Two parts, each through its partial index (store/webhooks/mod.rs).
            concat!(
                "SELECT MIN(s) FROM (
               SELECT MIN(change_seq) AS s FROM _webhook_deliveries WHERE webhook_id = ?1 AND ",
                active!(),
                "
               UNION ALL
               SELECT MIN(change_seq) AS s FROM _webhook_deliveries
               WHERE webhook_id = ?1 AND state = 'failed') AS unfinished"
            ),
            &[Val::Text(webhook_id)],
            |r| r.opt_int(0),
        )?
        .flatten())
}
