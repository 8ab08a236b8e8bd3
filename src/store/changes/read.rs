//! Reading the change log back (realtime fan-out and resume, webhook
//! replays), on both engines.
//!
//! A row keeps the record as it was *before* the change (`prior`: updates
//! and deletes) and nothing for a create. The record as it was *after* a
//! change is therefore the `prior` of that record's next change, or the
//! live row when there is no next change yet. Why: a create (most of a
//! seeded or growing database) then stores no JSON at all, so the log adds
//! little to the data directory and a create serialises nothing for it,
//! while every event still carries the record it was about, and an update
//! carries its `oldRecord` on replay without walking the log backwards.
//! Rows written before this format keep the after-state in `snapshot` and
//! are read as they are.
//!
//! Resolving the after-state without a transaction across the reads: the
//! live row is read first, then the log is searched again for a next change
//! of the record. Its log row commits with the data, so if the live row
//! already showed a later change, the second search finds that change and
//! its `prior` wins; if it finds none, the live row was the after-state.

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

const COLUMNS: &str = "seq, collection_id, record_id, action, created, snapshot, prior";

/// `COLUMNS` and the transaction id (PostgreSQL).
pub(super) const SPAN_COLUMNS: &str =
    "seq, collection_id, record_id, action, created, snapshot, prior, xid::text";

/// A row as read, and whether its record after the change is known yet.
pub(super) struct Raw {
    change: Change,
    resolved: bool,
}

fn parse(text: Option<String>) -> Option<Map<String, Value>> {
    text.and_then(|s| serde_json::from_str(&s).ok())
}

fn raw_row(r: &dyn Row) -> Result<Raw, StoreError> {
    let action = r.text(3)?;
    let legacy = parse(r.opt_text(5)?);
    let prior = parse(r.opt_text(6)?);
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
        resolved,
    })
}

/// `raw_row` of `SPAN_COLUMNS`.
pub(super) fn raw_span_row(r: &dyn Row) -> Result<Raw, StoreError> {
    let mut raw = raw_row(r)?;
    raw.change.xid = r.opt_text(7)?.and_then(|t| t.parse().ok()).unwrap_or(0);
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

/// Fills in the after-state of creates and updates: from the next change
/// of the same record in the list, else from the log after it, else from
/// the live row.
pub(super) fn resolve(
    db: &dyn Db,
    schema: &Schema,
    mut raws: Vec<Raw>,
) -> Result<Vec<Change>, StoreError> {
    // Backwards: the next change of each record is seen before it.
    let mut next: HashMap<Key, usize> = HashMap::new();
    let mut open: Vec<usize> = Vec::new();
    for i in (0..raws.len()).rev() {
        let key = (
            raws[i].change.collection_id.clone(),
            raws[i].change.record_id.clone(),
        );
        if !raws[i].resolved {
            match next.get(&key) {
                Some(&j) => {
                    let later = raws[j].change.prior.clone().unwrap_or_default();
                    raws[i].change.snapshot = later;
                    raws[i].resolved = true;
                }
                None => open.push(i),
            }
        }
        next.insert(key, i);
    }
    if !open.is_empty() {
        let from = open
            .iter()
            .map(|&i| raws[i].change.seq)
            .min()
            .unwrap_or_default();
        let keys: HashMap<Key, i64> = open
            .iter()
            .map(|&i| {
                let c = &raws[i].change;
                ((c.collection_id.clone(), c.record_id.clone()), c.seq)
            })
            .collect();
        let mut found = next_priors(db, from, &keys)?;
        let live: HashMap<Key, i64> = keys
            .into_iter()
            .filter(|(k, _)| !found.contains_key(k))
            .collect();
        found.extend(live_rows(db, schema, live.keys())?);
        // A change committed after the live read shows up here.
        found.extend(next_priors(db, from, &live)?);
        for i in open {
            let c = &mut raws[i].change;
            if let Some(s) = found.get(&(c.collection_id.clone(), c.record_id.clone())) {
                c.snapshot = s.clone();
            }
        }
    }
    Ok(raws.into_iter().map(|r| r.change).collect())
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

/// For each record (with the seq of its change to resolve), the `prior` of
/// its first later change, where one exists. One pass over the log after
/// `from` (the smallest of those seqs) per 64 records; the `IN` list is
/// padded to a power of two so few statement texts are prepared.
fn next_priors(
    db: &dyn Db,
    from: i64,
    keys: &HashMap<Key, i64>,
) -> Result<HashMap<Key, Map<String, Value>>, StoreError> {
    let mut found: HashMap<Key, Map<String, Value>> = HashMap::new();
    let keys: Vec<(&Key, &i64)> = keys.iter().collect();
    for chunk in keys.chunks(64) {
        let n = chunk.len().next_power_of_two();
        let marks: Vec<String> = (0..n).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "SELECT collection_id, record_id, prior, seq FROM _changes
             WHERE seq > ?1 AND record_id IN ({}) ORDER BY seq",
            marks.join(", ")
        );
        let mut params = vec![Val::Int(from)];
        params.extend((0..n).map(|i| Val::Text(&chunk[i.min(chunk.len() - 1)].0.1)));
        let mut seen: HashSet<Key> = HashSet::new();
        db.each(&sql, &params, &mut |r| {
            let key = (r.text(0)?, r.text(1)?);
            let own = chunk.iter().find(|(k, _)| **k == key).map(|(_, s)| **s);
            if own.is_some_and(|own| r.int(3).is_ok_and(|seq| seq > own))
                && seen.insert(key.clone())
            {
                found.insert(key, parse(r.opt_text(2)?).unwrap_or_default());
            }
            Ok(())
        })?;
    }
    Ok(found)
}
