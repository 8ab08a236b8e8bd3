//! Record rows: insert, update, delete, point reads, pages, and the change
//! log that every mutation appends to in the same transaction.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::StoreError;
pub use super::changes::{Action, append_change, append_update, last_seq};
use super::sql::{Cell, Db, Row, Val};
use crate::schema::names::quote_ident;
use crate::schema::value::number;
use crate::schema::{Collection, Field, FieldKind};

/// A record as field name -> canonical JSON value (all fields, secrets included).
pub type Row_ = Map<String, Value>;

/// The value bound for field `f` (borrowing `v`'s text where it can).
pub(super) fn to_sql<'v>(f: &Field, v: &'v Value) -> Val<'v> {
    match (&f.kind, v) {
        (FieldKind::Bool(_), v) => Val::Int(i64::from(v.as_bool().unwrap_or(false))),
        (FieldKind::Number(_), v) => match v.as_i64() {
            Some(i) => Val::Int(i),
            None => Val::Real(v.as_f64().unwrap_or(0.0)),
        },
        (FieldKind::Json(_), Value::Null) => Val::Null,
        (FieldKind::Json(_), v) => Val::Owned(v.to_string()),
        // A missing multi-value or geo point is stored as its zero value:
        // PostgreSQL's `jsonb` columns refuse '' (SQLite read it back as
        // the zero value anyway).
        (k, Value::Null) if k.is_multiple() => Val::Text("[]"),
        (FieldKind::GeoPoint(_), Value::Null) => Val::Owned(f.kind.zero_value().to_string()),
        (_, Value::String(s)) => Val::Text(s),
        (_, Value::Null) => Val::Text(""),
        (_, v) => Val::Owned(v.to_string()),
    }
}

fn from_sql(f: &Field, v: Cell<'_>) -> Value {
    match &f.kind {
        FieldKind::Bool(_) => Value::Bool(match v {
            Cell::Int(i) => i != 0,
            Cell::Real(r) => r != 0.0,
            Cell::Text(t) => matches!(t, b"1" | b"true" | b"TRUE"),
            _ => false,
        }),
        FieldKind::Number(_) => match v {
            Cell::Int(i) => Value::from(i),
            Cell::Real(r) => number(r),
            Cell::Text(t) => number(
                std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0.0),
            ),
            _ => Value::from(0),
        },
        FieldKind::Json(_) | FieldKind::GeoPoint(_) => match v {
            // Text that is not JSON (e.g. a view's string literal) reads as a string.
            Cell::Text(t) => serde_json::from_slice(t)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(t).into_owned())),
            Cell::Int(i) => Value::from(i),
            Cell::Real(r) => number(r),
            _ => f.kind.zero_value(),
        },
        k if k.is_multiple() => match v {
            Cell::Text(t) => serde_json::from_slice(t).unwrap_or(Value::Array(vec![])),
            _ => Value::Array(vec![]),
        },
        _ => match v {
            Cell::Text(t) => Value::String(match std::str::from_utf8(t) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(t).into_owned(),
            }),
            Cell::Int(i) => Value::String(i.to_string()),
            Cell::Real(r) => Value::String(r.to_string()),
            _ => Value::String(String::new()),
        },
    }
}

/// Statement texts per (collection version, kind). Building them quotes every
/// column, which showed up in profiles of the hot paths; a schema change
/// bumps the collection's `updated` and so starts a fresh entry.
///
/// Keyed by collection id, then version and kind, so a look-up borrows the
/// collection's strings (a key of owned copies cost two allocations per
/// statement on every write).
fn cached_sql(c: &Collection, kind: &'static str, build: impl FnOnce() -> String) -> Rc<str> {
    cached_sql_for(c, (kind, 0), build)
}

/// `cached_sql` for statements that also vary by a set of columns (`key.1`,
/// one bit per field index), such as updates of the changed columns.
fn cached_sql_for(
    c: &Collection,
    key: (&'static str, u64),
    build: impl FnOnce() -> String,
) -> Rc<str> {
    /// A collection's statements: its version (`updated`) and key -> text.
    type Entry = (String, HashMap<(&'static str, u64), Rc<str>>);
    thread_local! {
        static CACHE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
    }
    let hit = CACHE.with(|cache| {
        let cache = cache.borrow();
        let (version, texts) = cache.get(c.id.as_str())?;
        (*version == c.updated)
            .then(|| texts.get(&key).cloned())
            .flatten()
    });
    if let Some(sql) = hit {
        return sql;
    }
    // Built outside the borrow: builders may look up other entries.
    let sql: Rc<str> = Rc::from(build());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 4096 {
            cache.clear();
        }
        let entry = cache
            .entry(c.id.clone())
            .or_insert_with(|| (c.updated.clone(), HashMap::new()));
        if entry.0 != c.updated {
            // A new version of the collection: its old texts are stale.
            *entry = (c.updated.clone(), HashMap::new());
        }
        entry.1.insert(key, Rc::clone(&sql));
    });
    sql
}

pub(super) fn select_list(c: &Collection) -> Rc<str> {
    cached_sql(c, "select_list", || select_list_uncached(c))
}

fn select_list_uncached(c: &Collection) -> String {
    c.fields
        .iter()
        .map(|f| quote_ident(&f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn read_row(c: &Collection, r: &dyn Row) -> Result<Row_, StoreError> {
    let mut m = Map::with_capacity(c.fields.len());
    for (i, f) in c.fields.iter().enumerate() {
        m.insert(f.name.clone(), from_sql(f, r.cell(i)?));
    }
    Ok(m)
}

/// Compiled filter parameters as bound values.
pub(super) fn vals(params: &[crate::filter::compile::Param]) -> Vec<Val<'_>> {
    params.iter().map(Val::from).collect()
}

/// Reads one record by id.
/// Whether a collection's table holds any record.
pub fn any(db: &dyn Db, c: &Collection) -> Result<bool, StoreError> {
    let sql = format!("SELECT EXISTS(SELECT 1 FROM {})", quote_ident(&c.name));
    Ok(db.row(&sql, &[], |r| r.bool(0))?.unwrap_or(false))
}

pub fn get(db: &dyn Db, c: &Collection, id: &str) -> Result<Option<Row_>, StoreError> {
    let sql = cached_sql(c, "get", || {
        format!(
            "SELECT {} FROM {} WHERE \"id\" = ?1 LIMIT 1",
            select_list(c),
            quote_ident(&c.name)
        )
    });
    db.row(&sql, &[Val::Text(id)], |r| read_row(c, r))
}

/// `get` that also locks the row until the transaction ends, for an
/// update computed from the stored values (`n+`, `tags+`, rules on the old
/// record): on PostgreSQL another node could otherwise update the record
/// in between and one of the two updates would be lost. SQLite's one
/// writer holds every row already.
pub fn get_for_update(db: &dyn Db, c: &Collection, id: &str) -> Result<Option<Row_>, StoreError> {
    if db.postgres().is_none() {
        return get(db, c, id);
    }
    let sql = cached_sql(c, "get_for_update", || {
        format!(
            "SELECT {} FROM {} WHERE \"id\" = ?1 LIMIT 1 FOR UPDATE",
            select_list(c),
            quote_ident(&c.name)
        )
    });
    db.row(&sql, &[Val::Text(id)], |r| read_row(c, r))
}

/// Finds one record whose `field` equals `value` (case-insensitive for emails).
pub fn find_by(
    db: &dyn Db,
    c: &Collection,
    field: &str,
    value: &str,
) -> Result<Option<Row_>, StoreError> {
    if c.field(field).is_none() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE {} LIMIT 1",
        select_list(c),
        quote_ident(&c.name),
        db.dialect().eq_nocase(&quote_ident(field), "?1")
    );
    db.row(&sql, &[Val::Text(value)], |r| read_row(c, r))
}

/// Records whose fields equal the given values exactly, oldest first (the
/// system collections: `_otps`, `_mfas`, `_authOrigins`, `_externalAuths`).
pub fn find_all(
    db: &dyn Db,
    c: &Collection,
    eq: &[(&str, &str)],
    limit: i64,
) -> Result<Vec<Row_>, StoreError> {
    let mut conds = Vec::with_capacity(eq.len());
    for (i, (field, _)) in eq.iter().enumerate() {
        if c.field(field).is_none() {
            return Ok(Vec::new());
        }
        conds.push(format!("{} = ?{}", quote_ident(field), i + 1));
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {}",
        select_list(c),
        quote_ident(&c.name),
        if conds.is_empty() {
            db.dialect().bool_lit(true).to_owned()
        } else {
            conds.join(" AND ")
        },
        db.dialect().rowid(),
        limit.max(0)
    );
    let params: Vec<Val<'_>> = eq.iter().map(|(_, v)| Val::Text(v)).collect();
    db.rows(&sql, &params, |r| read_row(c, r))
}

/// A sort key: a validated field name (or `@random` / `@rowid`) and direction.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub field: String,
    pub desc: bool,
    /// Compiled, parameter-free SQL for relation paths (`author.name`).
    pub expr: Option<String>,
}

/// A compiled condition on the collection's rows; its placeholders are
/// numbered from `?1`.
#[derive(Debug, Clone, Default)]
pub struct Where {
    pub sql: String,
    pub params: Vec<crate::filter::compile::Param>,
}

impl Where {
    /// All of `parts` (empty conditions are skipped).
    pub fn all(parts: Vec<Where>) -> Option<Where> {
        let parts: Vec<Where> = parts.into_iter().filter(|w| !w.sql.is_empty()).collect();
        if parts.is_empty() {
            return None;
        }
        // Each part was compiled with its placeholders numbered after the
        // previous part's, so texts join and parameters concatenate.
        Some(Where {
            sql: parts
                .iter()
                .map(|w| format!("({})", w.sql))
                .collect::<Vec<_>>()
                .join(" AND "),
            params: parts.into_iter().flat_map(|w| w.params).collect(),
        })
    }
}

pub use super::record_list::{MarkedRow, list};

/// Shifts the placeholders (`?N` on SQLite, `$N` on PostgreSQL) of a
/// `1`-based condition by `by`; text inside string literals is left alone.
pub fn renumber(sql: &str, by: usize) -> String {
    if by == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    let mut in_str = false;
    while let Some((_, ch)) = chars.next() {
        out.push(ch);
        if ch == '\'' {
            in_str = !in_str;
            continue;
        }
        if (ch == '?' || ch == '$') && !in_str {
            let mut digits = String::new();
            while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(n) => out.push_str(&(n + by).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
}

/// Records satisfying `filter`, in rowid order, at most `limit`.
pub fn select_where(
    db: &dyn Db,
    c: &Collection,
    filter: &Where,
    limit: i64,
) -> Result<Vec<Row_>, StoreError> {
    // LIMIT as a literal: a bound LIMIT makes SQLite re-prepare the
    // statement on every run (docs/performance.md).
    let sql = format!(
        "SELECT {} FROM {} WHERE {}{} LIMIT {limit}",
        select_list(c),
        quote_ident(&c.name),
        filter.sql,
        if c.kind == crate::schema::CollectionKind::View {
            String::new()
        } else {
            format!(" ORDER BY {}", db.dialect().rowid())
        },
    );
    db.rows(&sql, &vals(&filter.params), |r| read_row(c, r))
}

/// Reads one record by id if it also satisfies `filter`.
pub fn get_where(
    db: &dyn Db,
    c: &Collection,
    id: &str,
    filter: &Where,
) -> Result<Option<Row_>, StoreError> {
    let n = filter.params.len();
    let sql = format!(
        "SELECT {} FROM {} WHERE \"id\" = ?{} AND ({}) LIMIT 1",
        select_list(c),
        quote_ident(&c.name),
        n + 1,
        filter.sql
    );
    let mut params = vals(&filter.params);
    params.push(Val::Text(id));
    db.row(&sql, &params, |r| read_row(c, r))
}

/// Inserts a full record.
pub fn insert(db: &dyn Db, c: &Collection, rec: &Row_) -> Result<(), StoreError> {
    let sql = cached_sql(c, "insert", || {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(&c.name),
            select_list(c),
            (1..=c.fields.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let vals: Vec<Val<'_>> = c
        .fields
        .iter()
        .map(|f| to_sql(f, rec.get(&f.name).unwrap_or(&Value::Null)))
        .collect();
    db.exec(&sql, &vals)?;
    Ok(())
}

/// Writes every field of `rec` over the stored record `id`.
pub fn update(db: &dyn Db, c: &Collection, id: &str, rec: &Row_) -> Result<(), StoreError> {
    let cols: Vec<&Field> = c.fields.iter().filter(|f| f.name != "id").collect();
    let sql = cached_sql(c, "update", || update_sql(c, &cols));
    update_cols(db, &sql, id, &cols, rec)
}

/// Writes the fields of `rec` that differ from `old`, the stored row it was
/// made from in the same transaction, over record `id` (nothing when none
/// differs). SQLite rewrites the entry of every index whose column is in
/// the `SET` list, even with the value it had: writing every column cost
/// an update of one post's title two index rewrites (`created`, `owner`),
/// about half of the statement.
pub fn update_changed(
    db: &dyn Db,
    c: &Collection,
    id: &str,
    old: &Row_,
    rec: &Row_,
) -> Result<(), StoreError> {
    let mut cols: Vec<&Field> = Vec::new();
    // Which fields changed, by index: the statement text is cached per set
    // (collections of more than 64 fields build it each time).
    let mut mask = Some(0u64);
    for (i, f) in c.fields.iter().enumerate() {
        if f.name != "id" && old.get(&f.name) != rec.get(&f.name) {
            cols.push(f);
            mask = mask.and_then(|m| Some(m | 1u64.checked_shl(u32::try_from(i).ok()?)?));
        }
    }
    if cols.is_empty() {
        return Ok(());
    }
    let sql = match mask {
        Some(m) => cached_sql_for(c, ("update_changed", m), || update_sql(c, &cols)),
        None => Rc::from(update_sql(c, &cols)),
    };
    update_cols(db, &sql, id, &cols, rec)
}

/// `UPDATE … SET col = ?2, … WHERE id = ?1` for `cols`.
fn update_sql(c: &Collection, cols: &[&Field]) -> String {
    let sets: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = ?{}", quote_ident(&f.name), i + 2))
        .collect();
    format!(
        "UPDATE {} SET {} WHERE \"id\" = ?1",
        quote_ident(&c.name),
        sets.join(", ")
    )
}

/// Runs [`update_sql`]'s statement with `rec`'s values of `cols`.
fn update_cols(
    db: &dyn Db,
    sql: &str,
    id: &str,
    cols: &[&Field],
    rec: &Row_,
) -> Result<(), StoreError> {
    let mut vals = vec![Val::Text(id)];
    vals.extend(
        cols.iter()
            .map(|f| to_sql(f, rec.get(&f.name).unwrap_or(&Value::Null))),
    );
    db.exec(sql, &vals)?;
    Ok(())
}

pub fn delete(db: &dyn Db, c: &Collection, id: &str) -> Result<(), StoreError> {
    let sql = format!("DELETE FROM {} WHERE \"id\" = ?1", quote_ident(&c.name));
    db.exec(&sql, &[Val::Text(id)])?;
    Ok(())
}

/// Ids of every record in the collection (for truncate).
pub fn all_ids(db: &dyn Db, c: &Collection) -> Result<Vec<String>, StoreError> {
    let sql = format!("SELECT \"id\" FROM {}", quote_ident(&c.name));
    db.rows(&sql, &[], |r| r.text(0))
}

/// How many of `ids` exist in the collection.
pub fn count_existing(db: &dyn Db, c: &Collection, ids: &[String]) -> Result<usize, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE \"id\" IN (SELECT value FROM {})",
        quote_ident(&c.name),
        db.dialect().json_each("?1", None, None)
    );
    let ids = serde_json::to_string(ids).unwrap_or_default();
    let n = db.row(&sql, &[Val::Text(&ids)], |r| r.int(0))?;
    Ok(n.unwrap_or(0) as usize)
}

/// Records of `c` whose relation `field` contains `target_id`.
pub fn referencing(
    db: &dyn Db,
    c: &Collection,
    field: &Field,
    target_id: &str,
) -> Result<Vec<Row_>, StoreError> {
    let col = quote_ident(&field.name);
    let cond = if field.kind.is_multiple() {
        let each = db.dialect().json_each(&col, None, None);
        format!("EXISTS (SELECT 1 FROM {each} WHERE value = ?1)")
    } else {
        format!("{col} = ?1")
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE {cond}",
        select_list(c),
        quote_ident(&c.name)
    );
    db.rows(&sql, &[Val::Text(target_id)], |r| read_row(c, r))
}

/// Is this error a UNIQUE violation? Returns the violated columns.
pub fn unique_violation(e: &StoreError) -> Option<Vec<String>> {
    if let StoreError::Postgres(e) = e {
        let db = e.as_db_error()?;
        if db.code() != &tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
            return None;
        }
        return Some(db.detail().map(pg_detail_columns).unwrap_or_default());
    }
    let StoreError::Sqlite(rusqlite::Error::SqliteFailure(err, msg)) = e else {
        return None;
    };
    if err.extended_code != rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        && err.extended_code != rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    {
        return None;
    }
    Some(msg.as_deref().map(msg_columns).unwrap_or_default())
}

fn msg_columns(msg: &str) -> Vec<String> {
    msg.split_once("failed:")
        .map(|(_, cols)| {
            cols.split(',')
                .filter_map(|c| c.trim().rsplit_once('.').map(|(_, col)| col.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The columns of PostgreSQL's `Key (lower(email), "x")=(…) already exists.`
fn pg_detail_columns(detail: &str) -> Vec<String> {
    let Some(keys) = detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.split_once(")=(").map(|(k, _)| k))
    else {
        return Vec::new();
    };
    keys.split(", ")
        .map(|k| {
            let k = k
                .strip_prefix("lower(")
                .and_then(|k| k.strip_suffix(')'))
                .unwrap_or(k);
            k.trim_matches('"').to_owned()
        })
        .collect()
}
