//! The change log (`_changes`), which feeds realtime and webhooks:
//! appending in the write transaction, reading and trimming.
//!
//! Every committed record mutation has one row, in commit order (`seq`).
//! The row keeps the record as it was before the change (updates and
//! deletes; secrets removed); `read` rebuilds the record after each change
//! from that (see there why). Rules for realtime subscribers are evaluated
//! against that record, not the live table: by the time an event is fanned
//! out the row may have changed again or be gone, and a subscriber must see
//! what the event was about.

use serde_json::{Map, Value};

use super::StoreError;
use super::records::{Row_, Where, select_list, to_sql};
use super::sql::{Db, Val};
use crate::schema::Collection;
use crate::schema::datetime;
use crate::schema::names::quote_ident;

mod feed;
mod read;
pub use feed::{
    OnHorizon, Pos, Seen, flush_mark, head, horizon_age, next, now, reachable, replay_spans, span,
};
pub use read::{Change, after, collections_after, of_collection_from};

/// Runs inside the write transaction of every appended change, so what it
/// writes (the webhook outbox) commits or rolls back with the change. It
/// reads on `conn` and leaves its writes in `deferred` (run at the end of
/// the group transaction, only if the job is kept: see
/// [`super::pool::Deferred`]).
pub trait ChangeHook: Send + Sync {
    fn on_change(
        &self,
        conn: &super::Conn,
        change: &NewChange<'_>,
        deferred: &mut Vec<super::pool::Deferred>,
    ) -> Result<(), StoreError>;

    /// Would a change of `collection` with `action` be looked at? Writers
    /// that would have to copy a row just to pass it as `old` ask first, so
    /// the copy is only made when something wants it.
    fn wants(&self, _collection: &Collection, _action: Action) -> bool {
        true
    }
}

/// A change being appended, as the change hook sees it.
pub struct NewChange<'a> {
    pub seq: i64,
    pub collection: &'a Collection,
    pub record_id: &'a str,
    pub action: Action,
    /// The record as written (secrets included, like `old`: the hook
    /// projects it; [`loggable`] gives what `_changes` would keep).
    pub record: &'a Row_,
    /// For updates, the stored row before the change (secrets included:
    /// the hook projects it), when the writer passed it.
    pub old: Option<&'a Map<String, Value>>,
    /// Commit-time timestamp in PocketBase's format.
    pub created: &'a str,
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// Appends a change-log entry. Must run in the same transaction as the
/// mutation it describes; the row leaves out every secret.
pub fn append_change(
    ctx: &mut super::WriteCtx<'_>,
    c: &Collection,
    id: &str,
    action: Action,
    rec: &Row_,
) -> Result<i64, StoreError> {
    append(ctx, c, id, action, rec, None)
}

/// `append_change` for an update, with the row as it was before it: the
/// log keeps it (the previous change's after-state, and the change hook's
/// `oldRecord`).
pub fn append_update(
    ctx: &mut super::WriteCtx<'_>,
    c: &Collection,
    id: &str,
    old: &Row_,
    rec: &Row_,
) -> Result<i64, StoreError> {
    append(ctx, c, id, Action::Update, rec, Some(old))
}

/// What the log may keep of a record: stored fields only (a new API key's
/// plain text rides along in `rec` for the answer and must not be logged),
/// without secrets: password hashes, token keys and API key digests never
/// enter the log (it outlives the rows it describes, in the file and in
/// backups).
struct Loggable<'a>(&'a Collection, &'a Row_);

impl Loggable<'_> {
    /// The names of the fields the log may keep, whether `rec` has them or not.
    fn names(&self) -> impl Iterator<Item = &String> {
        self.0
            .fields
            .iter()
            .filter(|f| !(f.is_secret() || (f.system && f.hidden && f.name == "keyHash")))
            .map(|f| &f.name)
    }

    fn fields(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.names().filter_map(|n| self.1.get_key_value(n))
    }
}

impl serde::Serialize for Loggable<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.fields())
    }
}

/// What an update changed, as it was before: the loggable fields whose
/// value differs between `old` and `new`, with their `old` value (null for
/// one `old` lacks). The record before the update is the record after it
/// with these values put back (`read`). A post whose title is edited logs
/// that title, not the whole post: the full row was about two-thirds of
/// the data directory's database after an update-heavy run.
struct Delta<'a> {
    c: &'a Collection,
    old: &'a Row_,
    new: &'a Row_,
}

impl serde::Serialize for Delta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = Loggable(self.c, self.new);
        let changed = fields
            .names()
            .filter(|name| self.old.get(*name) != self.new.get(*name))
            .map(|name| (name, self.old.get(name).unwrap_or(&Value::Null)));
        s.collect_map(changed)
    }
}

/// The loggable part of `rec` as a map (what readers and the hook see).
pub(crate) fn loggable(c: &Collection, rec: &Row_) -> Row_ {
    Loggable(c, rec)
        .fields()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn append(
    ctx: &mut super::WriteCtx<'_>,
    c: &Collection,
    id: &str,
    action: Action,
    rec: &Row_,
    old: Option<&Row_>,
) -> Result<i64, StoreError> {
    if crate::schema::system::ACCESS_COLLECTIONS.contains(&c.name.as_str()) {
        // Policies and roles live in the schema snapshot: reload it.
        ctx.schema_changed = true;
    }
    // A create stores no record: its after-state is the next change's
    // prior state or the live row (`read`). A delete keeps the record it
    // removed; an update only what it changed (`delta`).
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let (prior, delta) = match (action, old) {
        (Action::Create, _) => (None, None),
        (Action::Update, Some(old)) => (None, Some(Delta { c, old, new: rec })),
        // Not known: the previous change's after-state stays unknown too.
        (Action::Update, None) => (None, None),
        (Action::Delete, _) => (Some(Loggable(c, rec)), None),
    };
    let prior = prior.map(|p| serde_json::to_string(&p)).transpose();
    let delta = delta.map(|d| serde_json::to_string(&d)).transpose();
    let (prior, delta) = (prior.map_err(corrupt)?, delta.map_err(corrupt)?);
    let conn = ctx.conn;
    let created = datetime::now();
    let seq = conn.insert_key(
        "INSERT INTO _changes (collection_id, collection_name, record_id, action, created, prior, delta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "seq",
        &[
            c.id.as_str().into(),
            c.name.as_str().into(),
            id.into(),
            action.as_str().into(),
            created.as_str().into(),
            prior.map_or(Val::Null, Val::Owned),
            delta.map_or(Val::Null, Val::Owned),
        ],
    )?;
    ctx.last_seq = Some(seq);
    if let Some(hook) = ctx.change_hook
        && hook.wants(c, action)
    {
        hook.on_change(
            conn,
            &NewChange {
                seq,
                collection: c,
                record_id: id,
                action,
                record: rec,
                old,
                created: &created,
            },
            &mut ctx.deferred,
        )?;
    }
    Ok(seq)
}

/// Adds the `prior` and `delta` columns to a change log created before
/// they existed.
pub fn upgrade(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    for column in ["prior", "delta"] {
        let has: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM pragma_table_info('_changes') WHERE name = ?1)",
            [column],
            |r| r.get(0),
        )?;
        if !has {
            conn.execute_batch(&format!("ALTER TABLE _changes ADD COLUMN {column} JSON"))?;
        }
    }
    Ok(())
}

/// The highest committed change-log sequence number (0 when empty).
pub fn last_seq(db: &dyn Db) -> Result<i64, StoreError> {
    Ok(db
        .row("SELECT COALESCE(MAX(seq), 0) FROM _changes", &[], |r| {
            r.int(0)
        })?
        .unwrap_or(0))
}

/// For each of `record_ids`, the snapshot of its latest change of
/// `collection_id` before `before_seq` (the record as it was when that seq
/// began), when the log still holds one in the older format (rows written
/// since keep the state before an update in `prior`). One backward walk over the log,
/// stopping once every record is found: `_changes` has no per-record index
/// (it would cost every write), and this only serves webhook replays.
pub fn snapshots_before(
    db: &dyn Db,
    collection_id: &str,
    before_seq: i64,
    record_ids: &std::collections::HashSet<&str>,
) -> Result<std::collections::HashMap<String, Map<String, Value>>, StoreError> {
    let mut found = std::collections::HashMap::new();
    if record_ids.is_empty() {
        return Ok(found);
    }
    // The walk stops at the first row once every record is found: the
    // rows left are skipped without being decoded.
    db.each(
        "SELECT record_id, snapshot FROM _changes
         WHERE seq < ?1 AND collection_id = ?2 ORDER BY seq DESC",
        &[before_seq.into(), collection_id.into()],
        &mut |r| {
            if found.len() == record_ids.len() {
                return Ok(());
            }
            let id = r.text(0)?;
            if !record_ids.contains(id.as_str()) || found.contains_key(&id) {
                return Ok(());
            }
            let snap = r
                .opt_text(1)?
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default();
            found.insert(id, snap);
            Ok(())
        },
    )?;
    Ok(found)
}

/// The oldest retained sequence number (`None` when the log is empty).
pub fn oldest(db: &dyn Db) -> Result<Option<i64>, StoreError> {
    Ok(db
        .row("SELECT MIN(seq) FROM _changes", &[], |r| r.opt_int(0))?
        .flatten())
}

/// Drops changes older than `before` (a PocketBase datetime string) and
/// beyond the newest `keep` rows; returns how many went.
pub fn trim(db: &dyn Db, before: &str, keep: i64) -> Result<usize, StoreError> {
    if db.postgres().is_some() {
        return feed::trim_span(db, before, keep);
    }
    let by_age = db.exec(
        "DELETE FROM _changes WHERE created < ?1",
        &[Val::Text(before)],
    )?;
    let by_count = db.exec(
        "DELETE FROM _changes WHERE seq <= (SELECT MAX(seq) FROM _changes) - ?1",
        &[Val::Int(keep.max(1))],
    )?;
    Ok(by_age + by_count)
}

/// Does the snapshot of a record of `c` satisfy `rule`? The snapshot is
/// bound as a one-row CTE named like the collection's table, so the compiled
/// rule (which names that table) reads the snapshot; relations still join
/// the live tables.
pub fn snapshot_matches(
    db: &dyn Db,
    c: &Collection,
    snapshot: &Map<String, Value>,
    rule: &Where,
) -> Result<bool, StoreError> {
    let n = rule.params.len();
    let d = db.dialect();
    let placeholders: Vec<String> = (c.fields.iter().enumerate())
        .map(|(i, f)| d.typed_param(n + i + 1, f))
        .collect();
    let sql = format!(
        "WITH {table}({cols}) AS (VALUES ({vals})) SELECT 1 FROM {table} WHERE ({rule}) LIMIT 1",
        table = quote_ident(&c.name),
        cols = select_list(c),
        vals = placeholders.join(", "),
        rule = if rule.sql.is_empty() {
            d.bool_lit(true)
        } else {
            &rule.sql
        },
    );
    let mut all: Vec<Val<'_>> = Vec::with_capacity(n + c.fields.len());
    all.extend(rule.params.iter().map(Val::from));
    all.extend((c.fields.iter()).map(|f| to_sql(f, snapshot.get(&f.name).unwrap_or(&Value::Null))));
    db.first(&sql, &all, &mut |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An update logs the fields it changed with their values before it,
    /// and never a secret, changed or not.
    #[test]
    fn an_update_logs_what_it_changed_as_it_was() {
        let c = crate::schema::system::auth_scaffold().expect("auth scaffold");
        let row = |v: Value| -> Row_ { serde_json::from_value(v).expect("row") };
        let old = row(json!({"id": "r1", "email": "a@b.c",
            "password": "$argon2id$old", "tokenKey": "k1", "emailVisibility": true}));
        let new = row(json!({"id": "r1", "email": "x@y.z", "verified": false,
            "password": "$argon2id$new", "tokenKey": "k2", "emailVisibility": true}));
        let delta = serde_json::to_value(Delta {
            c: &c,
            old: &old,
            new: &new,
        })
        .expect("json");
        assert_eq!(delta, json!({"email": "a@b.c", "verified": null}));
        let same = serde_json::to_value(Delta {
            c: &c,
            old: &old,
            new: &old,
        })
        .expect("json");
        assert_eq!(same, json!({}));
    }
}
