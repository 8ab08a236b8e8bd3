//! SQL that hook and migration files write themselves (`$app.db()`,
//! `newQuery(sql).bind({...})`, the `$dbx` builders). The text is the
//! script author's, as in PocketBase; values are never spliced in: every
//! `{:name}` placeholder becomes a bound parameter, and rows come back as
//! JSON objects keyed by column name, so `plugins/` never sees the driver.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::records::{self, Row_, Where};
use super::sql::{Cell, Val};
use super::{Conn, StoreError};
use crate::filter::compile::Param;
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// The rows of `sql` with `params` (`{name: value}`) bound to its
/// `{:name}` placeholders; a placeholder without a value binds `NULL`.
pub fn query(conn: &Conn, sql: &str, params: &Value) -> Result<Vec<Value>, StoreError> {
    let (sql, vals) = bind(sql, params);
    let names = conn.column_names(&sql)?;
    conn.rows(&sql, &vals, |r| {
        let mut m = Map::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            m.insert(n.clone(), json_of(r.cell(i)?));
        }
        Ok(Value::Object(m))
    })
}

/// Runs `sql` with `params` bound as in `query`; returns the rows changed.
pub fn execute(conn: &Conn, sql: &str, params: &Value) -> Result<usize, StoreError> {
    let (sql, vals) = bind(sql, params);
    conn.exec(&sql, &vals)
}

/// Runs `f` in an `IMMEDIATE` transaction on `conn` (a connection of its
/// own, such as the one migrations run on): committed when `f` succeeds,
/// rolled back when it fails.
pub fn in_transaction<E: From<StoreError>>(
    conn: &Conn,
    f: impl FnOnce() -> Result<(), E>,
) -> Result<(), E> {
    conn.batch(conn.dialect().begin_write()).map_err(E::from)?;
    match f() {
        Ok(()) => conn.batch("COMMIT").map_err(E::from),
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The driver's own message for a failure (without the `sqlite:` prefix
/// the store's `Display` adds), as scripts saw it before this module.
pub fn message(e: &StoreError) -> String {
    match e {
        StoreError::Sqlite(inner) => inner.to_string(),
        StoreError::Postgres(inner) => inner
            .as_db_error()
            .map_or_else(|| inner.to_string(), |d| d.message().to_owned()),
        other => other.to_string(),
    }
}

/// A script's condition (`$dbx` builders) as a `WHERE` on a collection's
/// rows: `{:name}` placeholders become `?1`, `?2`… with their values.
pub fn where_of(sql: &str, params: &Value) -> Where {
    let (sql, names) = numbered(sql);
    Where {
        sql,
        params: names.iter().map(|n| Param::from_json(&params[n])).collect(),
    }
}

/// A `{:name}` placeholder (compiled once; filters bind the same shape).
pub static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{:(\w+)\}").expect("static regex"));

/// `sql` with its `{:name}` placeholders numbered `?1`, `?2`… in order
/// (a name used twice is bound twice) and PocketBase's quoting shorthands
/// applied; the names in placeholder order.
fn numbered(sql: &str) -> (String, Vec<String>) {
    let mut names = Vec::new();
    let quoted = quote_names(sql);
    let sql = PLACEHOLDER.replace_all(&quoted, |c: &regex::Captures<'_>| {
        names.push(c[1].to_owned());
        format!("?{}", names.len())
    });
    (sql.into_owned(), names)
}

/// `sql` numbered as in [`numbered`], with the values to bind.
fn bind<'p>(sql: &str, params: &'p Value) -> (String, Vec<Val<'p>>) {
    let (sql, names) = numbered(sql);
    let vals = names.iter().map(|n| val_of(&params[n])).collect();
    (sql, vals)
}

/// Records of `c` matching `w`: `order` is `(field, descending)` pairs of
/// the caller's, already checked to be fields of `c` (else insertion
/// order); `limit` rows (all when `None`) after skipping `offset`.
pub fn select_records(
    conn: &Conn,
    c: &Collection,
    w: &Where,
    order: &[(String, bool)],
    limit: Option<i64>,
    offset: i64,
) -> Result<Vec<Row_>, StoreError> {
    let d = conn.dialect();
    let order = if order.is_empty() {
        if c.kind == crate::schema::CollectionKind::View {
            String::new()
        } else {
            format!(" ORDER BY {}", d.rowid())
        }
    } else {
        let terms: Vec<String> = order
            .iter()
            .map(|(f, desc)| format!("{} {}", quote_ident(f), if *desc { "DESC" } else { "ASC" }))
            .collect();
        format!(" ORDER BY {}", terms.join(", "))
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE {}{order} LIMIT {} OFFSET {}",
        records::select_list(c),
        quote_ident(&c.name),
        if w.sql.trim().is_empty() {
            "1=1"
        } else {
            &w.sql
        },
        // No limit: the largest one, which both engines take.
        limit.map_or(i64::MAX, |n| n.max(0)),
        offset.max(0),
    );
    let vals: Vec<Val<'_>> = w.params.iter().map(Into::into).collect();
    conn.rows(&sql, &vals, |r| records::read_row(c, r))
}

/// PocketBase's quoting shorthands: `{{table}}` and `[[column]]` (also
/// `[[t.col]]`) become quoted identifiers.
fn quote_names(sql: &str) -> std::borrow::Cow<'_, str> {
    static SHORTHAND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\{\{(\w+(?:\.\w+)?)\}\}|\[\[(\w+(?:\.\w+)?)\]\]").expect("static regex")
    });
    SHORTHAND.replace_all(sql, |c: &regex::Captures<'_>| {
        let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        name.split('.')
            .map(quote_ident)
            .collect::<Vec<_>>()
            .join(".")
    })
}

fn val_of(v: &Value) -> Val<'_> {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Int(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(Val::Int)
            .unwrap_or_else(|| Val::Real(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => Val::Text(s),
        v => Val::Owned(v.to_string()),
    }
}

fn json_of(v: Cell<'_>) -> Value {
    match v {
        Cell::Null => Value::Null,
        Cell::Int(i) => json!(i),
        Cell::Real(f) => crate::schema::value::number(f),
        Cell::Text(t) | Cell::Blob(t) => json!(String::from_utf8_lossy(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().expect("memory db");
        c.execute_batch("CREATE TABLE t (a TEXT, b INTEGER)")
            .expect("table");
        c
    }

    #[test]
    fn placeholders_are_bound_by_name_and_rows_are_json() {
        let c = conn();
        let n = execute(
            &c,
            "INSERT INTO t VALUES ({:a}, {:b}), ({:b}, {:missing})",
            &json!({"a": "x'); DROP TABLE t; --", "b": 2}),
        )
        .expect("insert");
        assert_eq!(n, 2);
        let rows = query(&c, "SELECT a, b FROM t ORDER BY b", &json!({})).expect("rows");
        assert_eq!(
            rows,
            vec![
                json!({"a": "2", "b": null}),
                json!({"a": "x'); DROP TABLE t; --", "b": 2})
            ]
        );
    }

    #[test]
    fn a_failed_transaction_leaves_nothing() {
        let c = conn();
        let r: Result<(), StoreError> = in_transaction(&c, || {
            execute(&c, "INSERT INTO t VALUES ('a', 1)", &Value::Null)?;
            Err(StoreError::Closed)
        });
        assert!(r.is_err());
        let rows = query(&c, "SELECT count(*) AS n FROM t", &Value::Null).expect("count");
        assert_eq!(rows, vec![json!({"n": 0})]);
        assert!(message(&query(&c, "SELEC", &Value::Null).unwrap_err()).contains("syntax"));
    }

    #[test]
    fn conditions_are_renumbered_and_names_quoted() {
        let w = where_of(
            "[[a]] = {:x} AND {{t}}.[[b]] IN ({:y}, {:x})",
            &json!({"x": "v", "y": 3}),
        );
        assert_eq!(w.sql, r#""a" = ?1 AND "t"."b" IN (?2, ?3)"#);
        assert_eq!(
            w.params,
            vec![
                Param::Text("v".into()),
                Param::Int(3),
                Param::Text("v".into())
            ]
        );
    }
}
