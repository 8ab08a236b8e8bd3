//! The delivery log and what an operator does with it: list and filter
//! deliveries, see every attempt, resend one, recover every failure since
//! a time, replay an endpoint from a change-log sequence, send a test
//! event; and the retention that prunes old finished deliveries.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::outbox::{self, EventSource};
use super::{Webhooks, internal, now_ms, sign};
use crate::service::Error;
use crate::store::webhooks::{self as db, Attempt, DeliveryQuery, DeliveryRow, NewDelivery};
use crate::store::{Store, StoreError, changes};

/// Most changes one replay call walks.
pub const MAX_REPLAY: i64 = 10_000;
/// How often retention runs.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

fn ms_iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(|t| outbox::iso(&crate::schema::datetime::format(t)))
        .unwrap_or_default()
}

fn delivery_json(d: &DeliveryRow) -> Value {
    json!({
        "id": d.id,
        "webhookId": d.webhook_id,
        "eventId": d.event_id,
        "seq": d.change_seq,
        "type": d.kind,
        "state": d.state,
        "attempts": d.attempts,
        "trigger": d.trigger,
        "nextAttemptAt": ms_iso(d.next_attempt_at),
        "lastStatus": d.last_status,
        "created": ms_iso(d.created),
        "updated": ms_iso(d.updated),
    })
}

fn attempt_json(a: &Attempt) -> Value {
    json!({
        "n": a.n,
        "trigger": a.trigger,
        "started": ms_iso(a.started),
        "durationMs": a.duration_ms,
        "status": a.status_code,
        "errorKind": a.error_kind,
        "response": String::from_utf8_lossy(&a.response),
        "responseBytes": a.response.len(),
        "truncated": a.truncated,
    })
}

/// A page of deliveries, newest first.
pub fn list(store: &Store, mut q: DeliveryQuery) -> Result<Value, Error> {
    if !q.state.is_empty()
        && !matches!(
            q.state.as_str(),
            "pending" | "inflight" | "succeeded" | "failed" | "cancelled"
        )
    {
        return Err(Error::bad("Invalid state filter."));
    }
    q.page = q.page.max(1);
    q.per_page = if q.per_page <= 0 {
        30
    } else {
        q.per_page.min(500)
    };
    let (rows, total) = store
        .read(|c| db::list_deliveries(c, &q))
        .map_err(internal)?;
    let items: Vec<Value> = rows.iter().map(delivery_json).collect();
    Ok(json!({"page": q.page, "perPage": q.per_page, "totalItems": total, "items": items}))
}

/// One delivery with every attempt and the body sent.
pub fn view(store: &Store, id: i64) -> Result<Value, Error> {
    let (d, attempts, body) = store
        .read(|c| {
            let d = db::get_delivery(c, id)?;
            let a = db::attempts_of(c, id)?;
            let body = db::delivery_body(c, id)?;
            Ok((d, a, body))
        })
        .map_err(internal)?;
    let d = d.ok_or_else(Error::missing_record)?;
    let mut out = delivery_json(&d);
    out["attemptsLog"] = attempts.iter().map(attempt_json).collect();
    out["body"] = body.map(Value::String).unwrap_or(Value::Null);
    Ok(out)
}

/// Sends one delivery again now (same event id), once.
pub async fn resend(hub: &Webhooks, store: &Store, id: i64) -> Result<Value, Error> {
    let ok = store
        .write(move |ctx| db::requeue(ctx.conn, id, "manual", now_ms()))
        .await
        .map_err(internal)?;
    if !ok {
        return Err(Error::missing_record());
    }
    hub.wake.notify_one();
    view(store, id)
}

/// Re-sends, once each, every failed delivery of an endpoint created at or
/// after `since` (ISO 8601 or PocketBase datetime).
pub async fn recover(
    hub: &Webhooks,
    store: &Store,
    webhook_id: &str,
    body: &Value,
) -> Result<Value, Error> {
    hub.endpoint(webhook_id).ok_or_else(Error::missing_record)?;
    let since = body
        .get("since")
        .and_then(Value::as_str)
        .and_then(crate::schema::datetime::parse)
        .ok_or_else(|| Error::bad("since must be a datetime."))?;
    let since_ms = (since.unix_timestamp_nanos() / 1_000_000) as i64;
    let id = webhook_id.to_owned();
    let n = store
        .write(move |ctx| {
            let now = now_ms();
            let ids = db::failed_since(ctx.conn, &id, since_ms)?;
            for d in &ids {
                db::requeue(ctx.conn, *d, "recover", now)?;
            }
            Ok::<_, StoreError>(ids.len())
        })
        .await
        .map_err(internal)?;
    hub.wake.notify_one();
    Ok(json!({"queued": n}))
}

/// Queues every change of the endpoint's collection from `fromSeq` on that
/// matches it (actions, filter), in seq order: existing deliveries are
/// queued again, missing ones created with the event id other endpoints
/// got for that change.
pub async fn replay(
    hub: &Webhooks,
    store: &Store,
    webhook_id: &str,
    body: &Value,
) -> Result<Value, Error> {
    let ep = hub.endpoint(webhook_id).ok_or_else(Error::missing_record)?;
    let from = body
        .get("fromSeq")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| Error::bad("fromSeq must be a change-log sequence number."))?;
    let oldest = store.read(changes::oldest).map_err(internal)?;
    if oldest.is_some_and(|o| from < o && from > 0) {
        return Err(Error::bad(
            "The change log no longer reaches back to fromSeq.",
        ));
    }
    let schema = hub.schema();
    let n = store
        .write(move |ctx| {
            let conn = ctx.conn;
            let Some(c) = schema.get(&ep.def.collection) else {
                return Ok(0);
            };
            let now = now_ms();
            let mut queued = 0;
            let list = changes::of_collection_from(conn, &schema, &c.id, from, MAX_REPLAY)?;
            // `oldRecord` of an update is kept with it (`prior`); rows of
            // the older log format fall back to the record's previous
            // snapshot: in the list, or before it when the log still
            // reaches back (looked up only when the payload,
            // `changedFields` or the filter's `@old` uses it).
            let needs_old = ep.wants(&c.id, "update")
                && (ep.def.payload_mode != "thin"
                    || !ep.def.changed_fields.is_empty()
                    || ep.filter_uses_old());
            let mut seen = HashSet::new();
            let first_updates: HashSet<&str> = list
                .iter()
                .filter(|ch| needs_old && seen.insert(ch.record_id.as_str()))
                .filter(|ch| ch.action == "update" && ch.prior.is_none())
                .map(|ch| ch.record_id.as_str())
                .collect();
            let before = changes::snapshots_before(conn, &c.id, from, &first_updates)?;
            let mut prev: HashMap<&str, &Map<String, Value>> =
                before.iter().map(|(k, v)| (k.as_str(), v)).collect();
            for ch in &list {
                let last = prev.insert(&ch.record_id, &ch.snapshot);
                if !ep.wants(&ch.collection_id, &ch.action) {
                    continue;
                }
                let old = ch.prior.as_ref().or(last).filter(|_| ch.action == "update");
                if ch.action == "update" && !ep.changed_enough(old, &ch.snapshot) {
                    continue;
                }
                let ev = EventSource {
                    seq: ch.seq,
                    collection: &c,
                    record_id: &ch.record_id,
                    action: &ch.action,
                    snapshot: &ch.snapshot,
                    old,
                    created: &ch.created,
                };
                if !outbox::passes(conn, &schema, &ep, &ev)? {
                    continue;
                }
                if let Some(id) = db::delivery_for_seq(conn, &ep.id, ch.seq)? {
                    db::requeue(conn, id, "replay", now)?;
                } else {
                    let event_id =
                        db::event_id_for_seq(conn, ch.seq)?.unwrap_or_else(sign::new_event_id);
                    db::insert_delivery(
                        conn,
                        &NewDelivery {
                            webhook_id: &ep.id,
                            event_id: &event_id,
                            change_seq: Some(ch.seq),
                            kind: &format!("{}.{}", c.name, ch.action),
                            body: &outbox::body(&ep, &ev),
                            trigger: "replay",
                            now,
                        },
                    )?;
                }
                queued += 1;
            }
            Ok::<_, StoreError>(queued)
        })
        .await
        .map_err(internal)?;
    hub.wake.notify_one();
    Ok(json!({"queued": n}))
}

/// Queues a `webhook.test` event for one endpoint (even a paused one is
/// logged; it is sent once the endpoint is enabled).
pub async fn test_event(hub: &Webhooks, store: &Store, webhook_id: &str) -> Result<Value, Error> {
    let ep = hub.endpoint(webhook_id).ok_or_else(Error::missing_record)?;
    let event_id = sign::new_event_id();
    let body = json!({
        "type": "webhook.test",
        "timestamp": outbox::iso(&crate::schema::datetime::now()),
        "data": {"webhookId": ep.id},
    })
    .to_string();
    let id = store
        .write(move |ctx| {
            let id = db::insert_delivery(
                ctx.conn,
                &NewDelivery {
                    webhook_id: &ep.id,
                    event_id: &event_id,
                    change_seq: None,
                    kind: "webhook.test",
                    body: &body,
                    trigger: "manual",
                    now: now_ms(),
                },
            )?;
            // No change seq, so the unique (endpoint, seq) pair never ignores it.
            Ok::<_, StoreError>(id.unwrap_or_default())
        })
        .await
        .map_err(internal)?;
    hub.wake.notify_one();
    view(store, id)
}

/// Deletes finished deliveries older than the retention window.
pub async fn prune_webhook_log(store: &Store, retention_days: u64) -> Result<usize, StoreError> {
    let before = now_ms() - retention_days as i64 * 86_400_000;
    store.write(move |ctx| db::prune(ctx.conn, before)).await
}

/// Runs `prune_webhook_log` every hour (a plain task until the scheduler exists).
pub fn spawn_retention<S: AsRef<Store> + Send + Sync + 'static>(owner: Arc<S>, hub: Arc<Webhooks>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RETENTION_EVERY).await;
            match prune_webhook_log((*owner).as_ref(), hub.config.retention_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "webhooks: pruned old deliveries"),
                Err(StoreError::Closed) => return,
                Err(e) => tracing::warn!(error = %e, "webhooks: pruning failed"),
            }
        }
    });
}
