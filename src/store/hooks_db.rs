//! SQL that hook and migration files write themselves (`$app.db()`,
//! `newQuery(sql).bind({...})`, the `$dbx` builders). The text is the
//! script author's, as in PocketBase; values are never spliced in: every
//! `{:name}` placeholder becomes a bound parameter, and rows come back as
//! JSON objects keyed by column name, so `plugins/` never sees the driver.

use rusqlite::Statement;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{Map, Value, json};

use super::{Conn, StoreError};

/// The rows of `sql` with `params` (`{name: value}`) bound to its
/// `{:name}` placeholders; a placeholder without a value binds `NULL`.
pub fn query(conn: &Conn, sql: &str, params: &Value) -> Result<Vec<Value>, StoreError> {
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
    Ok(prepare(conn, sql, params)?.raw_execute()?)
}

/// Runs `f` in an `IMMEDIATE` transaction on `conn` (a connection of its
/// own, such as the one migrations run on): committed when `f` succeeds,
/// rolled back when it fails.
pub fn in_transaction<E: From<StoreError>>(
    conn: &Conn,
    f: impl FnOnce() -> Result<(), E>,
) -> Result<(), E> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| E::from(e.into()))?;
    match f() {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| E::from(e.into())),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
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

/// Prepares `sql`, PocketBase's `{:name}` placeholders bound by name.
fn prepare<'c>(conn: &'c Conn, sql: &str, params: &Value) -> Result<Statement<'c>, StoreError> {
    let re = regex::Regex::new(r"\{:(\w+)\}").expect("static regex");
    let sql = re.replace_all(sql, ":$1");
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

    fn conn() -> Conn {
        let c = Conn::open_in_memory().expect("memory db");
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
}
