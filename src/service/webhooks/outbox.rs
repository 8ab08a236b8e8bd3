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

use serde_json::{Map, Value};

use super::Webhooks;
use super::endpoints::Endpoint;
use super::seal::Sealer;
use crate::schema::Collection;
use crate::service::{Actor, records, rules};
use crate::store::changes::{self, ChangeHook, NewChange};
use crate::store::pool::Deferred;
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
    /// The record after the change (for a delete, as it was). A live
    /// change may pass the row as written, secrets included: the body shows
    /// only what [`records::PublicView`] shows, the same either way.
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

/// The frozen request body for one endpoint, written by
/// [`crate::json_text`] in the order a `serde_json::Map` sorts its keys, so
/// the bytes are what `json!` gave (the test compares them): building
/// `Value` trees and printing them cost about half of the outbox's
/// instructions, and serializing through serde a quarter of what was left.
pub fn body(ep: &Endpoint, ev: &EventSource<'_>) -> String {
    let kind = format!("{}.{}", ev.collection.name, ev.action);
    body_of(ep, ev, &kind)
}

/// [`body`] with the event type already made (`collection.action`):
/// `{"data":{"action","oldRecord"?,"record","seq"},"timestamp","type"}`,
/// or `{"action","collectionName","id","seq"}` as `data` when thin.
fn body_of(ep: &Endpoint, ev: &EventSource<'_>, kind: &str) -> String {
    use crate::json_text::{integer, text};
    let c = ev.collection;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"data\":{\"action\":");
    text(&mut out, ev.action);
    if ep.def.payload_mode == "thin" {
        out.extend_from_slice(b",\"collectionName\":");
        text(&mut out, &c.name);
        out.extend_from_slice(b",\"id\":");
        text(&mut out, ev.record_id);
    } else {
        if let Some(old) = ev.old {
            out.extend_from_slice(b",\"oldRecord\":");
            project(ep, c, old).write_json(&mut out);
        }
        out.extend_from_slice(b",\"record\":");
        project(ep, c, ev.snapshot).write_json(&mut out);
    }
    out.extend_from_slice(b",\"seq\":");
    integer(&mut out, ev.seq);
    out.extend_from_slice(b"},\"timestamp\":");
    text(&mut out, &iso(ev.created));
    out.extend_from_slice(b",\"type\":");
    text(&mut out, kind);
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// A row as the payload shows it: hidden fields and auth secrets never
/// leave; the email does (the receiver is the admin's own system); then
/// the endpoint's `fields`, if any. Borrowed, not copied: the body is the
/// only thing made from it.
fn project<'a>(
    ep: &Endpoint,
    c: &'a Collection,
    row: &'a Map<String, Value>,
) -> records::PublicView<'a> {
    let fields = &ep.def.fields;
    records::PublicView::new(c, row, &Actor::Guest, true, |k| {
        fields.is_empty() || fields.iter().any(|f| f == k)
    })
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
    fn on_change(
        &self,
        conn: &Conn,
        ch: &NewChange<'_>,
        deferred: &mut Vec<Deferred>,
    ) -> Result<(), StoreError> {
        let endpoints = self.snapshot();
        let enqueued = enqueue(conn, &endpoints, || Ok(self.schema()), ch, deferred)?;
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
    fn on_change(
        &self,
        conn: &Conn,
        ch: &NewChange<'_>,
        deferred: &mut Vec<Deferred>,
    ) -> Result<(), StoreError> {
        let schema = || crate::store::Schema::load(conn).map(std::sync::Arc::new);
        enqueue(conn, &self.endpoints, schema, ch, deferred).map(|_| ())
    }

    fn wants(&self, c: &Collection, action: Action) -> bool {
        wanted(&self.endpoints, c, action)
    }
}

/// Makes one delivery row per matching endpoint, left in `deferred` (the
/// end of the group transaction: see [`Deferred`]); whether any was made.
/// `schema` is only asked for when some endpoint wants the change. The
/// record as `_changes` keeps it is copied only for an endpoint with a
/// filter or for an update's `changedFields`; the body borrows the row.
fn enqueue(
    conn: &Conn,
    endpoints: &[std::sync::Arc<Endpoint>],
    schema: impl FnOnce() -> Result<std::sync::Arc<crate::store::Schema>, StoreError>,
    ch: &NewChange<'_>,
    deferred: &mut Vec<Deferred>,
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
    let logged = std::cell::OnceCell::new();
    let logged = || logged.get_or_init(|| changes::loggable(ch.collection, ch.record));
    let mut event_id: Option<std::sync::Arc<str>> = None;
    let now = super::now_ms();
    for ep in wanting {
        if ch.action == Action::Update && !ep.changed_enough(ch.old, logged()) {
            continue;
        }
        let filtered = !ep.def.filter.trim().is_empty();
        let ev = EventSource {
            seq: ch.seq,
            collection: ch.collection,
            record_id: ch.record_id,
            action,
            snapshot: if filtered { logged() } else { ch.record },
            old: ch.old,
            created: ch.created,
        };
        if filtered && !passes(conn, &schema, ep, &ev)? {
            continue;
        }
        let id = event_id
            .get_or_insert_with(|| super::sign::new_event_id().into())
            .clone();
        let kind = format!("{}.{}", ch.collection.name, action);
        let body = body_of(ep, &ev, &kind);
        let (webhook_id, seq) = (ep.id.clone(), ch.seq);
        deferred.push(Box::new(move |conn: &Conn| {
            db::enqueue_delivery(
                conn,
                &NewDelivery {
                    webhook_id: &webhook_id,
                    event_id: &id,
                    change_seq: Some(seq),
                    kind: &kind,
                    body: &body,
                    trigger: "scheduled",
                    now,
                },
            )
        }));
    }
    Ok(event_id.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint(fields: &[&str], mode: &str) -> Endpoint {
        Endpoint {
            id: "e".into(),
            def: super::super::endpoints::Definition {
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                payload_mode: mode.into(),
                ..Default::default()
            },
            secret: String::new(),
            old_secrets: Vec::new(),
            status: super::super::endpoints::Status::Enabled,
            disabled_reason: String::new(),
            disabled_at_seq: None,
            first_failure_at: None,
            created: String::new(),
            updated: String::new(),
            url: None,
        }
    }

    /// The body, serialized from borrowed rows, is byte for byte what the
    /// `json!` tree of `to_public_with` over the logged record printed,
    /// whether it is given the row as written (secrets included) or the
    /// record as `_changes` keeps it.
    #[test]
    fn bodies_are_the_bytes_json_gave() {
        let c = crate::schema::system::auth_scaffold().expect("auth scaffold");
        let row = |v: Value| v.as_object().cloned().unwrap_or_default();
        let rec = row(
            json!({"id": "r1", "email": "a\"\\é\n@b.c", "emailVisibility": false,
            "verified": true, "password": "$argon2id$hash", "tokenKey": "secret",
            "created": "2026-12-05 10:00:00.000Z", "updated": "2026-12-05 10:00:00.000Z"}),
        );
        let mut old = rec.clone();
        old.insert("verified".into(), json!(false));
        old.remove("updated");
        for (fields, mode) in [
            (&[][..], "full"),
            (&["id", "verified"][..], "full"),
            (&[][..], "thin"),
        ] {
            let ep = endpoint(fields, mode);
            for (action, with_old) in [("update", true), ("create", false)] {
                let logged = changes::loggable(&c, &rec);
                let logged_old = changes::loggable(&c, &old);
                let public = |r: &Map<String, Value>| {
                    let mut v = records::to_public_with(&c, r, &Actor::Guest, true);
                    if let Value::Object(m) = &mut v
                        && !fields.is_empty()
                    {
                        m.retain(|k, _| fields.contains(&k.as_str()));
                    }
                    v
                };
                let mut data = if mode == "thin" {
                    json!({"id": "r1", "collectionName": c.name, "action": action, "seq": 7})
                } else {
                    json!({"seq": 7, "action": action, "record": public(&logged)})
                };
                if with_old && mode == "full" {
                    data["oldRecord"] = public(&logged_old);
                }
                let want = json!({"type": format!("{}.{action}", c.name),
                    "timestamp": "2026-12-05T10:00:00.000Z", "data": data});
                for snapshot in [&rec, &logged] {
                    let ev = EventSource {
                        seq: 7,
                        collection: &c,
                        record_id: "r1",
                        action,
                        snapshot,
                        old: with_old.then_some(&old),
                        created: "2026-12-05 10:00:00.000Z",
                    };
                    let got = body(&ep, &ev);
                    assert_eq!(got, want.to_string(), "{fields:?} {mode} {action}");
                    assert!(!got.contains("secret") && !got.contains("argon2"), "{got}");
                }
            }
        }
    }
}
