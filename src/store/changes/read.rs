//! Reading the change log back (realtime fan-out and resume, webhook
//! replays), on both engines.
//!
//! A row keeps what is needed to know the record before the change:
//! nothing for a create, the whole record for a delete, and for an update
//! only the fields it changed, with their values before it (`delta`). The
//! record as it was *after* a change is therefore the record before that
//! record's next change, or the live row when there is no next change yet;
//! and the record before an update is the record after it with its `delta`
//! put back. Why: a create (most of a seeded or growing database) then
//! stores no JSON at all and an update only what it changed, so the log
//! adds little to the data directory, while every event still carries the
//! record it was about, and an update its `oldRecord` on replay. Rows of
//! earlier formats keep the after-state in `snapshot`, or the whole record
//! before an update in `prior`, and are read as they are.
//!
//! Resolving the after-state without a transaction across the reads: the
//! live row is read first, then the log is searched for the record's later
//! changes, whose deltas are put back onto it newest first. A change that
//! committed after the live read is found too, and putting its values back
//! changes nothing the older ones do not set right: for each field, the
//! oldest later change that touched it is put back last, and restores the
//! value the field had after the change being resolved; a field no later
//! change touched has that value in the live row.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::feed::Pos;
use super::loggable;
use crate::store::sql::{Db, Row, Val};
use crate::store::{Schema, StoreError, records};

/// One change-log row, with the record resolved.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub collection_id: String,
    pub record_id: String,
    pub action: String,
    /// Commit-time timestamp in PocketBase's format.
    pub created: String,
    /// The record after the change (for a delete: as it was deleted),
    /// without secrets; empty when it can no longer be known (its
    /// collection is gone).
    pub snapshot: Map<String, Value>,
    /// For updates (and deletes), the record before the change, when the
    /// row was written with it (every row since the compact format).
    pub prior: Option<Map<String, Value>>,
    /// PostgreSQL: the writing transaction's id (0 on SQLite).
    pub xid: u64,
    /// Where a reader stands once it has delivered this change (the
    /// client's resume token).
    pub pos: Pos,
}

const COLUMNS: &str = "seq, collection_id, record_id, action, created, snapshot, prior, delta";

/// `COLUMNS` and the transaction id (PostgreSQL).
pub(super) const SPAN_COLUMNS: &str =
    "seq, collection_id, record_id, action, created, snapshot, prior, delta, xid::text";

/// A row as read, and whether its record after the change is known yet.
pub(super) struct Raw {
    change: Change,
    /// An update's changed fields as they were before it: `prior` is made
    /// from it once the after-state is known.
    delta: Option<Map<String, Value>>,
    resolved: bool,
}

fn parse(text: Option<String>) -> Option<Map<String, Value>> {
    text.and_then(|s| serde_json::from_str(&s).ok())
}

fn raw_row(r: &dyn Row) -> Result<Raw, StoreError> {
    let action = r.text(3)?;
    let legacy = parse(r.opt_text(5)?);
    let prior = parse(r.opt_text(6)?);
    let delta = parse(r.opt_text(7)?);
    let (snapshot, resolved) = match (legacy, action.as_str()) {
        (Some(s), _) => (s, true),
        (None, "delete") => (prior.clone().unwrap_or_default(), true),
        (None, _) => (Map::new(), false),
    };
    let seq = r.int(0)?;
    Ok(Raw {
        change: Change {
            seq,
            collection_id: r.text(1)?,
            record_id: r.text(2)?,
            action,
            created: r.text(4)?,
            snapshot,
            prior,
            xid: 0,
            pos: Pos::Seq(seq),
        },
        delta,
        resolved,
    })
}

/// `raw_row` of `SPAN_COLUMNS`.
pub(super) fn raw_span_row(r: &dyn Row) -> Result<Raw, StoreError> {
    let mut raw = raw_row(r)?;
    raw.change.xid = r.opt_text(8)?.and_then(|t| t.parse().ok()).unwrap_or(0);
    Ok(raw)
}

/// Changes after `seq`, oldest first, at most `limit`.
pub fn after(
    db: &dyn Db,
    schema: &Schema,
    seq: i64,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    // A literal LIMIT: a bound one makes SQLite re-prepare on every run.
    let raws = db.rows(
        &format!("SELECT {COLUMNS} FROM _changes WHERE seq > ?1 ORDER BY seq LIMIT {limit}"),
        &[Val::Int(seq)],
        raw_row,
    )?;
    resolve(db, schema, raws)
}

/// Changes of one collection from `from_seq` on, oldest first, at most
/// `limit` (webhook replays).
pub fn of_collection_from(
    db: &dyn Db,
    schema: &Schema,
    collection_id: &str,
    from_seq: i64,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let raws = db.rows(
        &format!(
            "SELECT {COLUMNS} FROM _changes
             WHERE seq >= ?1 AND collection_id = ?2 ORDER BY seq LIMIT {limit}"
        ),
        &[Val::Int(from_seq), Val::Text(collection_id)],
        raw_row,
    )?;
    resolve(db, schema, raws)
}

/// The collection ids of the changes after `seq`, at most `limit` (no
/// records read: for watchers that only need to know what was touched).
pub fn collections_after(db: &dyn Db, seq: i64, limit: i64) -> Result<Vec<String>, StoreError> {
    db.rows(
        &format!("SELECT collection_id FROM _changes WHERE seq > ?1 ORDER BY seq LIMIT {limit}"),
        &[Val::Int(seq)],
        |r| r.text(0),
    )
}

type Key = (String, String);

fn key_of(c: &Change) -> Key {
    (c.collection_id.clone(), c.record_id.clone())
}

/// Fills in the after-state of creates and updates, and the prior state
/// of updates logged with a delta: the last change of each record in the
/// list from the log after it and the live row, then, backwards, each
/// earlier one from the record's state before its next change.
pub(super) fn resolve(
    db: &dyn Db,
    schema: &Schema,
    mut raws: Vec<Raw>,
) -> Result<Vec<Change>, StoreError> {
    let mut last: HashMap<Key, usize> = HashMap::new();
    for i in (0..raws.len()).rev() {
        last.entry(key_of(&raws[i].change)).or_insert(i);
    }
    let open: HashMap<Key, i64> = last
        .into_iter()
        .filter(|(_, i)| !raws[*i].resolved)
        .map(|(k, i)| (k, raws[i].change.seq))
        .collect();
    let mut found = after_states(db, schema, &open)?;
    // The record before the next change of each record, walking backwards.
    let mut before: HashMap<Key, Map<String, Value>> = HashMap::new();
    for raw in raws.iter_mut().rev() {
        let key = key_of(&raw.change);
        if !raw.resolved {
            let next = before.remove(&key).or_else(|| found.remove(&key));
            raw.change.snapshot = next.unwrap_or_default();
            raw.resolved = true;
        }
        if let Some(delta) = raw.delta.take() {
            raw.change.prior = Some(put_back(raw.change.snapshot.clone(), delta));
        }
        match &raw.change.prior {
            Some(p) => before.insert(key, p.clone()),
            None => before.remove(&key),
        };
    }
    Ok(raws.into_iter().map(|r| r.change).collect())
}

/// `state` with the values of `delta` put back.
fn put_back(mut state: Map<String, Value>, delta: Map<String, Value>) -> Map<String, Value> {
    state.extend(delta);
    state
}

/// What a later change says about its record just before it.
enum Before {
    /// All of it (a delete, or an update of the older format).
    Whole(Map<String, Value>),
    /// The fields it changed (an update).
    Changed(Map<String, Value>),
    /// Nothing (a create, or an older row without it).
    Unknown,
}

/// The record after each of `keys`' changes (record → seq): the live row
/// with the deltas of the record's later changes put back, newest first,
/// or from the first later change that knows the whole record before it.
/// The live row is read before the log is searched (see the module docs).
fn after_states(
    db: &dyn Db,
    schema: &Schema,
    keys: &HashMap<Key, i64>,
) -> Result<HashMap<Key, Map<String, Value>>, StoreError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut live = live_rows(db, schema, keys.keys())?;
    let later = later_changes(db, keys)?;
    let mut out = HashMap::new();
    for key in keys.keys() {
        out.insert(key.clone(), live.remove(key).unwrap_or_default());
    }
    for (key, mut chain) in later {
        let base = match chain.last() {
            Some(Before::Changed(_)) | None => out.remove(&key).unwrap_or_default(),
            Some(_) => match chain.pop() {
                Some(Before::Whole(m)) => m,
                _ => Map::new(),
            },
        };
        let state = chain.into_iter().rev().fold(base, |s, b| match b {
            Before::Changed(d) => put_back(s, d),
            _ => s,
        });
        out.insert(key, state);
    }
    Ok(out)
}

/// For each record (with the seq of its change to resolve), what its later
/// changes say about it, oldest first, up to the first that knows the
/// whole record (or nothing) before it. One pass over the log after `from`
/// (the smallest of those seqs) per 64 records; the `IN` list is padded to
/// a power of two so few statement texts are prepared.
fn later_changes(
    db: &dyn Db,
    keys: &HashMap<Key, i64>,
) -> Result<HashMap<Key, Vec<Before>>, StoreError> {
    let mut found: HashMap<Key, Vec<Before>> = HashMap::new();
    let from = keys.values().copied().min().unwrap_or_default();
    let keys: Vec<(&Key, &i64)> = keys.iter().collect();
    for chunk in keys.chunks(64) {
        let n = chunk.len().next_power_of_two();
        let marks: Vec<String> = (0..n).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "SELECT collection_id, record_id, prior, delta, seq FROM _changes
             WHERE seq > ?1 AND record_id IN ({}) ORDER BY seq",
            marks.join(", ")
        );
        let mut params = vec![Val::Int(from)];
        params.extend((0..n).map(|i| Val::Text(&chunk[i.min(chunk.len() - 1)].0.1)));
        let mut ended: HashSet<Key> = HashSet::new();
        db.each(&sql, &params, &mut |r| {
            let key = (r.text(0)?, r.text(1)?);
            let own = chunk.iter().find(|(k, _)| **k == key).map(|(_, s)| **s);
            if !own.is_some_and(|own| r.int(4).is_ok_and(|seq| seq > own)) || ended.contains(&key) {
                return Ok(());
            }
            let before = match (parse(r.opt_text(2)?), parse(r.opt_text(3)?)) {
                (Some(whole), _) => Before::Whole(whole),
                (None, Some(delta)) => Before::Changed(delta),
                (None, None) => Before::Unknown,
            };
            if !matches!(before, Before::Changed(_)) {
                ended.insert(key.clone());
            }
            found.entry(key).or_default().push(before);
            Ok(())
        })?;
    }
    Ok(found)
}

/// The live rows of `keys` (empty for a record or collection that is
/// gone). On PostgreSQL one query per collection: a round trip per record
/// made the fan-out fall behind a node that creates hundreds a second
/// (docs/scaling.md); SQLite's calls cost no round trip and keep the
/// cached single-row statement.
fn live_rows<'k>(
    db: &dyn Db,
    schema: &Schema,
    keys: impl Iterator<Item = &'k Key>,
) -> Result<HashMap<Key, Map<String, Value>>, StoreError> {
    let mut by_collection: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut out = HashMap::new();
    for key in keys {
        out.insert(key.clone(), Map::new());
        by_collection.entry(&key.0).or_default().push(&key.1);
    }
    for (cid, ids) in by_collection {
        let Some(c) = schema.get(cid) else { continue };
        let rows = if db.postgres().is_none() || ids.len() == 1 {
            let mut rows = Vec::new();
            for id in &ids {
                rows.extend(records::get(db, &c, id)?);
            }
            rows
        } else {
            let list = serde_json::to_string(&ids).unwrap_or_default();
            let filter = records::Where {
                sql: crate::store::relations::id_in(&c, 1, db.dialect()),
                params: vec![crate::filter::compile::Param::Text(list)],
            };
            records::select_where(db, &c, &filter, ids.len() as i64)?
        };
        for r in rows {
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                out.insert((cid.to_owned(), id.to_owned()), loggable(&c, &r));
            }
        }
    }
    Ok(out)
}
