//! Realtime clients as the other nodes see them (PostgreSQL, several
//! nodes): a client's SSE stream lives on one node, but the SDK's
//! subscription request (`POST /api/realtime`) may reach any node behind a
//! load balancer. The node holding the stream registers the client here;
//! another node that gets its subscription request checks it against the
//! row and leaves the request in it, and the holding node applies it
//! before it hands out the next change (`realtime/fanout.rs`).
//!
//! Messages for one client work the same way: the OAuth2 provider's
//! redirect (`/api/oauth2-redirect`) may land on any node, and the `@oauth2`
//! message it makes goes to the node holding the client through
//! `_realtime_messages`.

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

/// Forgets client `id` (its stream ended), rows of streams that cannot
/// still be open, and messages nobody took.
pub fn forget(db: &dyn Db, id: &str) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM _realtime_clients WHERE id = ?1",
        &[Val::Text(id)],
    )?;
    db.exec(
        "DELETE FROM _realtime_messages WHERE client = ?1",
        &[Val::Text(id)],
    )?;
    sweep(db).map(|_| ())
}

/// Removes the rows of streams that cannot still be open (a node that
/// died left them) and messages nobody took; run whenever a stream ends
/// and by the periodic change-log trim (cron), so they go even when no
/// stream ends. Returns how many clients went.
pub fn sweep(db: &dyn Db) -> Result<usize, StoreError> {
    let stale = now_secs() - STALE_SECS;
    let gone = db.exec(
        "DELETE FROM _realtime_clients WHERE created < ?1",
        &[Val::Int(stale)],
    )?;
    db.exec(
        "DELETE FROM _realtime_messages WHERE created < ?1",
        &[Val::Int(stale)],
    )?;
    Ok(gone)
}

/// The IP client `id` connected from, when another node holds it.
pub fn ip_of(db: &dyn Db, id: &str, node: &str) -> Result<Option<String>, StoreError> {
    db.row(
        "SELECT ip FROM _realtime_clients WHERE id = ?1 AND node <> ?2",
        &[Val::Text(id), Val::Text(node)],
        |r| r.text(0),
    )
}

/// Leaves a subscription request (JSON) for the node holding client `id`;
/// `oauth2` says whether it subscribes to `@oauth2`.
pub fn request(db: &dyn Db, id: &str, body: &str, oauth2: bool) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE _realtime_clients SET request = ?2, version = version + 1, oauth2 = ?3 WHERE id = ?1",
        &[Val::Text(id), Val::Text(body), Val::Int(oauth2.into())],
    )? == 1)
}

/// Records whether client `id` (held by this node) is subscribed to
/// `@oauth2`, for a redirect that lands on another node.
pub fn set_oauth2(db: &dyn Db, id: &str, on: bool) -> Result<(), StoreError> {
    db.exec(
        "UPDATE _realtime_clients SET oauth2 = ?2 WHERE id = ?1",
        &[Val::Text(id), Val::Int(on.into())],
    )?;
    Ok(())
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

/// Leaves the `@oauth2` message `data` for client `id` when another node
/// than `node` holds it and it is subscribed to `@oauth2` (which the
/// message ends, as on one node); false otherwise.
pub fn send_oauth2(db: &dyn Db, id: &str, node: &str, data: &str) -> Result<bool, StoreError> {
    Ok(db.exec(
        "WITH c AS (UPDATE _realtime_clients SET oauth2 = 0
                    WHERE id = ?1 AND node <> ?2 AND oauth2 = 1 RETURNING id, node)
         INSERT INTO _realtime_messages (client, node, topic, data, created)
         SELECT id, node, '@oauth2', ?3, ?4 FROM c",
        &[
            Val::Text(id),
            Val::Text(node),
            Val::Text(data),
            Val::Int(now_secs()),
        ],
    )? == 1)
}

/// A message another node left for one of this node's clients.
#[derive(Debug)]
pub struct Left {
    pub id: i64,
    pub client: String,
    pub topic: String,
    pub data: String,
}

/// Messages left for `node`'s clients, oldest first.
pub fn messages(db: &dyn Db, node: &str) -> Result<Vec<Left>, StoreError> {
    db.rows(
        "SELECT id, client, topic, data FROM _realtime_messages WHERE node = ?1 ORDER BY id",
        &[Val::Text(node)],
        |r| {
            Ok(Left {
                id: r.int(0)?,
                client: r.text(1)?,
                topic: r.text(2)?,
                data: r.text(3)?,
            })
        },
    )
}

/// Removes the messages `ids` (delivered, or their client is gone).
pub fn taken(db: &dyn Db, ids: &[i64]) -> Result<(), StoreError> {
    for id in ids {
        db.exec(
            "DELETE FROM _realtime_messages WHERE id = ?1",
            &[Val::Int(*id)],
        )?;
    }
    Ok(())
}
