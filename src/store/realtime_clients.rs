//! Realtime clients as the other nodes see them (PostgreSQL, several
//! nodes): a client's SSE stream lives on one node, but the SDK's
//! subscription request (`POST /api/realtime`) may reach any node behind a
//! load balancer. The node holding the stream registers the client here;
//! another node that gets its subscription request checks it against the
//! row and leaves the request in it, and the holding node applies it
//! before it hands out the next change (`realtime/fanout.rs`).

use super::StoreError;
use super::sql::{Db, Val};

/// A stream older than this has ended (SSE streams end after 30 minutes),
/// so its row is left over from a node that died.
pub const STALE_SECS: i64 = 31 * 60;

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Registers client `id`, whose stream node `node` holds, connected from `ip`.
pub fn register(db: &dyn Db, id: &str, node: &str, ip: &str) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO _realtime_clients (id, node, ip, version, created) VALUES (?1, ?2, ?3, 0, ?4)",
        &[
            Val::Text(id),
            Val::Text(node),
            Val::Text(ip),
            Val::Int(now_secs()),
        ],
    )?;
    Ok(())
}

/// Forgets client `id` (its stream ended), and rows of streams that
/// cannot still be open.
pub fn forget(db: &dyn Db, id: &str) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM _realtime_clients WHERE id = ?1 OR created < ?2",
        &[Val::Text(id), Val::Int(now_secs() - STALE_SECS)],
    )?;
    Ok(())
}

/// The IP client `id` connected from, when another node holds it.
pub fn ip_of(db: &dyn Db, id: &str, node: &str) -> Result<Option<String>, StoreError> {
    db.row(
        "SELECT ip FROM _realtime_clients WHERE id = ?1 AND node <> ?2",
        &[Val::Text(id), Val::Text(node)],
        |r| r.text(0),
    )
}

/// Leaves a subscription request (JSON) for the node holding client `id`.
pub fn request(db: &dyn Db, id: &str, body: &str) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE _realtime_clients SET request = ?2, version = version + 1 WHERE id = ?1",
        &[Val::Text(id), Val::Text(body)],
    )? == 1)
}

/// Requests left for `node`'s clients: (client id, version, request JSON).
pub fn pending(db: &dyn Db, node: &str) -> Result<Vec<(String, i64, String)>, StoreError> {
    db.rows(
        "SELECT id, version, request::text FROM _realtime_clients
         WHERE node = ?1 AND version > 0 AND request IS NOT NULL",
        &[Val::Text(node)],
        |r| Ok((r.text(0)?, r.int(1)?, r.text(2)?)),
    )
}
