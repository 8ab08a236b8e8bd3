//! The outbox: in the write transaction of every change, one delivery row
//! per matching endpoint, with the body frozen and one event id shared by
//! every endpoint, retry and resend of that change.
//!
//! Only endpoints whose collection and action match are looked at, from an
//! in-memory snapshot, so a write costs nothing more when no endpoint
//! wants it. The filter runs on the snapshot the change log keeps (the new
//! record; for deletes, the record as it was), with the same compiler and
//! snapshot query as realtime subscriptions; `@old.*` in it names the
//! record before the change.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Webhooks;
use super::endpoints::Endpoint;
use super::seal::Sealer;
use crate::schema::Collection;
use crate::service::{Actor, records, rules};
use crate::store::changes::{self, ChangeHook, NewChange};
use crate::store::records::Action;
use crate::store::resolver::Old;
use crate::store::webhooks::{self as db, NewDelivery};
use crate::store::{Conn, StoreError};

/// A change as the payload builder needs it (live, or read back for replay).
pub struct EventSource<'a> {
    pub seq: i64,
    pub collection: &'a Collection,
    pub record_id: &'a str,
    pub action: &'a str,
    pub snapshot: &'a Map<String, Value>,
    /// For updates, the row before the change (live: the stored row; in a
    /// replay: the record's previous change-log snapshot, if still kept).
    pub old: Option<&'a Map<String, Value>>,
    /// PocketBase-format commit time.
    pub created: &'a str,
}

/// `2006-01-02 15:04:05.000Z` → `2006-01-02T15:04:05.000Z` (ISO 8601).
pub fn iso(pb_time: &str) -> String {
    pb_time.replacen(' ', "T", 1)
}

/// The frozen request body for one endpoint. Serialized straight from
/// these structs (fields in the order a `serde_json::Map` sorts them, so the
/// bytes are what `json!` gave): building `Value` trees and printing them
/// through `Display` cost about half of the outbox's instructions.
pub fn body(ep: &Endpoint, ev: &EventSource<'_>) -> String {
    let c = ev.collection;
    let data = if ep.def.payload_mode == "thin" {
        Data::Thin {
            action: ev.action,
            collection_name: &c.name,
            id: ev.record_id,
            seq: ev.seq,
        }
    } else {
        Data::Full {
            action: ev.action,
            old_record: ev.old.map(|old| project(ep, c, old)),
            record: project(ep, c, ev.snapshot),
            seq: ev.seq,
        }
    };
    let envelope = Envelope {
        data,
        timestamp: iso(ev.created),
        kind: format!("{}.{}", c.name, ev.action),
    };
    serde_json::to_string(&envelope).unwrap_or_default()
}

#[derive(Serialize)]
struct Envelope<'a> {
    data: Data<'a>,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Full {
        action: &'a str,
        #[serde(rename = "oldRecord", skip_serializing_if = "Option::is_none")]
        old_record: Option<Value>,
        record: Value,
        seq: i64,
    },
    Thin {
        action: &'a str,
        #[serde(rename = "collectionName")]
        collection_name: &'a str,
        id: &'a str,
        seq: i64,
    },
}

/// A row as the payload shows it: hidden fields and auth secrets never
/// leave; the email does (the receiver is the admin's own system); then
/// the endpoint's `fields`, if any.
fn project(ep: &Endpoint, c: &Collection, row: &Map<String, Value>) -> Value {
    let mut record = records::to_public_with(c, row, &Actor::Guest, true);
    if !ep.def.fields.is_empty()
        && let Value::Object(m) = &mut record
    {
        m.retain(|k, _| ep.def.fields.iter().any(|f| f == k));
    }
    record
}

/// Does the change pass the endpoint's filter? `@old.*` is the record
/// before an update, the deleted record itself for a delete, and null for
/// a create (and for an update whose previous row is not known).
pub fn passes(
    conn: &Conn,
    schema: &crate::store::Schema,
    ep: &Endpoint,
    ev: &EventSource<'_>,
) -> Result<bool, StoreError> {
    if ep.def.filter.trim().is_empty() {
        return Ok(true);
    }
    let old = match ev.action {
        "create" => Old::Missing,
        "delete" => Old::Record(ev.snapshot),
        _ => ev.old.map_or(Old::Missing, Old::Record),
    };
    let w = rules::webhook_filter(schema, ev.collection, &ep.def.filter, old);
    changes::snapshot_matches(conn, ev.collection, ev.snapshot, &w)
}

impl ChangeHook for Webhooks {
    fn on_change(&self, conn: &Conn, ch: &NewChange<'_>) -> Result<(), StoreError> {
        let endpoints = self.snapshot();
        let enqueued = enqueue(conn, &endpoints, || Ok(self.schema()), ch)?;
        if enqueued {
            self.enqueued_seq
                .fetch_max(ch.seq, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }

    fn wants(&self, c: &Collection, action: Action) -> bool {
        wanted(&self.snapshot(), c, action)
    }
}

/// Is some endpoint that is not disabled interested in this change?
fn wanted(endpoints: &[std::sync::Arc<Endpoint>], c: &Collection, action: Action) -> bool {
    endpoints
        .iter()
        .any(|e| e.status != super::endpoints::Status::Disabled && e.wants(&c.id, action.as_str()))
}

/// The outbox for writes made outside the running server (JS migrations,
/// which run on their own connection before `serve` starts): endpoints and
/// schema are read from that connection, and the dispatcher sends the rows
/// when it starts.
pub struct Offline {
    endpoints: Vec<std::sync::Arc<Endpoint>>,
}

impl Offline {
    /// Loads the endpoint definitions from `conn` (not their secrets: the
    /// outbox only builds bodies, it never signs).
    pub fn load(conn: &Conn) -> Result<Self, StoreError> {
        let endpoints = db::load_endpoints(conn)?
            .iter()
            .filter_map(|r| Endpoint::from_row(r, &Sealer::default()))
            .map(std::sync::Arc::new)
            .collect();
        Ok(Self { endpoints })
    }
}

impl ChangeHook for Offline {
    fn on_change(&self, conn: &Conn, ch: &NewChange<'_>) -> Result<(), StoreError> {
        let schema = || crate::store::Schema::load(conn).map(std::sync::Arc::new);
        enqueue(conn, &self.endpoints, schema, ch).map(|_| ())
    }

    fn wants(&self, c: &Collection, action: Action) -> bool {
        wanted(&self.endpoints, c, action)
    }
}

/// Writes one delivery row per matching endpoint; whether any was written.
/// `schema` is only asked for when some endpoint wants the change.
fn enqueue(
    conn: &Conn,
    endpoints: &[std::sync::Arc<Endpoint>],
    schema: impl FnOnce() -> Result<std::sync::Arc<crate::store::Schema>, StoreError>,
    ch: &NewChange<'_>,
) -> Result<bool, StoreError> {
    let action = ch.action.as_str();
    let mut wanting = endpoints
        .iter()
        .filter(|e| {
            e.status != super::endpoints::Status::Disabled && e.wants(&ch.collection.id, action)
        })
        .peekable();
    if wanting.peek().is_none() {
        return Ok(false);
    }
    let schema = schema()?;
    let ev = EventSource {
        seq: ch.seq,
        collection: ch.collection,
        record_id: ch.record_id,
        action,
        snapshot: ch.snapshot,
        old: ch.old,
        created: ch.created,
    };
    let mut event_id = None;
    let now = super::now_ms();
    for ep in wanting {
        if ch.action == Action::Update && !ep.changed_enough(ch.old, ch.snapshot) {
            continue;
        }
        if !passes(conn, &schema, ep, &ev)? {
            continue;
        }
        let id = event_id.get_or_insert_with(super::sign::new_event_id);
        db::insert_delivery(
            conn,
            &NewDelivery {
                webhook_id: &ep.id,
                event_id: id,
                change_seq: Some(ch.seq),
                kind: &format!("{}.{}", ch.collection.name, action),
                body: &body(ep, &ev),
                trigger: "scheduled",
                now,
            },
        )?;
    }
    Ok(event_id.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_the_bytes_json_gave() {
        let record = json!({"id": "r1", "title": "b", "collectionName": "posts"});
        let old = json!({"id": "r1", "title": "a", "collectionName": "posts"});
        for with_old in [true, false] {
            let env = Envelope {
                data: Data::Full {
                    action: "update",
                    old_record: with_old.then(|| old.clone()),
                    record: record.clone(),
                    seq: 7,
                },
                timestamp: iso("2026-12-05 10:00:00.000Z"),
                kind: "posts.update".into(),
            };
            let mut data = json!({"seq": 7, "action": "update", "record": record});
            if with_old {
                data["oldRecord"] = old.clone();
            }
            let want = json!({"type": "posts.update", "timestamp": "2026-12-05T10:00:00.000Z", "data": data});
            assert_eq!(serde_json::to_string(&env).ok(), Some(want.to_string()));
        }
        let thin = Envelope {
            data: Data::Thin {
                action: "create",
                collection_name: "posts",
                id: "r1",
                seq: 3,
            },
            timestamp: "t".into(),
            kind: "posts.create".into(),
        };
        let want = json!({"type": "posts.create", "timestamp": "t",
            "data": {"id": "r1", "collectionName": "posts", "action": "create", "seq": 3}});
        assert_eq!(serde_json::to_string(&thin).ok(), Some(want.to_string()));
    }
}
