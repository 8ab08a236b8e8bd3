//! SQL that hook and migration files write themselves (`$app.db()`,
//! `newQuery(sql).bind({...})`, the `$dbx` builders). The text is the
//! script author's, as in PocketBase; values are never spliced in: every
//! `{:name}` placeholder becomes a bound parameter, and rows come back as
//! JSON objects keyed by column name, so `plugins/` never sees the driver.

use rusqlite::Statement;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{Map, Value, json};

use super::records::{self, Row_, Where};
use super::sql::sqlite_only;
use super::{Conn, StoreError};
use crate::filter::compile::Param;
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// The rows of `sql` with `params` (`{name: value}`) bound to its
/// `{:name}` placeholders; a placeholder without a value binds `NULL`.
pub fn query(conn: &Conn, sql: &str, params: &Value) -> Result<Vec<Value>, StoreError> {
    let conn = sqlite_only(conn, "SQL queries in hooks on PostgreSQL")?;
    let mut stmt = prepare(conn, sql, params)?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut m = Map::new();
        for (i, n) in names.iter().enumerate() {
            m.insert(n.clone(), json_of(row.get_ref(i)?));
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}

/// Runs `sql` with `params` bound as in `query`; returns the rows changed.
pub fn execute(conn: &Conn, sql: &str, params: &Value) -> Result<usize, StoreError> {
    let conn = sqlite_only(conn, "SQL statements in hooks on PostgreSQL")?;
    Ok(prepare(conn, sql, params)?.raw_execute()?)
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
        other => other.to_string(),
    }
}

/// A script's condition (`$dbx` builders) as a `WHERE` on a collection's
/// rows: `{:name}` placeholders become `?1`, `?2`… with their values.
pub fn where_of(sql: &str, params: &Value) -> Where {
    let re = regex::Regex::new(r"\{:(\w+)\}").expect("static regex");
    let mut bound = Vec::new();
    let quoted = quote_names(sql);
    let sql = re.replace_all(&quoted, |c: &regex::Captures<'_>| {
        bound.push(Param::from_json(&params[&c[1]]));
        format!("?{}", bound.len())
    });
    Where {
        sql: sql.into_owned(),
        params: bound,
    }
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
    let order = if order.is_empty() {
        if c.kind == crate::schema::CollectionKind::View {
            String::new()
        } else {
            " ORDER BY rowid".to_owned()
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
        limit.unwrap_or(-1),
        offset.max(0),
    );
    let db: &dyn super::sql::Db = conn;
    let vals: Vec<super::sql::Val<'_>> = w.params.iter().map(Into::into).collect();
    db.rows(&sql, &vals, |r| records::read_row(c, r))
}

/// PocketBase's quoting shorthands: `{{table}}` and `[[column]]` (also
/// `[[t.col]]`) become quoted identifiers.
fn quote_names(sql: &str) -> std::borrow::Cow<'_, str> {
    let re = regex::Regex::new(r"\{\{(\w+(?:\.\w+)?)\}\}|\[\[(\w+(?:\.\w+)?)\]\]")
        .expect("static regex");
    re.replace_all(sql, |c: &regex::Captures<'_>| {
        let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        name.split('.')
            .map(quote_ident)
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// Prepares `sql`, PocketBase's `{:name}` placeholders bound by name.
fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
    params: &Value,
) -> Result<Statement<'c>, StoreError> {
    let re = regex::Regex::new(r"\{:(\w+)\}").expect("static regex");
    let sql = quote_names(sql);
    let sql = re.replace_all(&sql, ":$1");
    let mut stmt = conn.prepare(&sql)?;
    for i in 1..=stmt.parameter_count() {
        let Some(name) = stmt
            .parameter_name(i)
            .map(|n| n.trim_start_matches([':', '@', '$']).to_owned())
        else {
            continue;
        };
        stmt.raw_bind_parameter(i, sql_of(&params[&name]))?;
    }
    Ok(stmt)
}

fn sql_of(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(Sql::Integer)
            .unwrap_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => Sql::Text(s.clone()),
        v => Sql::Text(v.to_string()),
    }
}

fn json_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(String::from_utf8_lossy(b)),
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
