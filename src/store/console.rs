//! The SQL console's execution: one statement, a row cap, a time limit
//! (SQLite's interrupt from a timer thread; PostgreSQL's
//! `statement_timeout`) and JSON values.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

/// What a statement gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// More rows existed than the cap.
    pub truncated: bool,
    /// Rows changed (writes).
    pub changes: u64,
}

/// Why a statement failed (the console shows the text to the superuser).
#[derive(Debug, Clone, PartialEq)]
pub enum ConsoleError {
    /// A write sent without the write flag.
    Writes,
    TimedOut,
    Sql(String),
}

fn value(v: ValueRef<'_>) -> Value {
    use base64::Engine;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

/// Interrupts `conn` after `limit` unless the guard is dropped first.
struct Deadline {
    done: Arc<Mutex<bool>>,
}

impl Deadline {
    fn start(conn: &Connection, limit: Duration) -> Self {
        let done = Arc::new(Mutex::new(false));
        let (d, handle) = (Arc::clone(&done), conn.get_interrupt_handle());
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            // Holding the lock: the statement cannot finish in between, so
            // the interrupt never hits a later statement on this connection.
            if let Ok(g) = d.lock()
                && !*g
            {
                handle.interrupt();
            }
        });
        Self { done }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Ok(mut g) = self.done.lock() {
            *g = true;
        }
    }
}

/// Runs one statement on `conn`; `allow_write` false refuses anything
/// that is not read-only.
pub fn run(
    db: &dyn super::sql::Db,
    sql: &str,
    allow_write: bool,
    max_rows: usize,
    limit: Duration,
) -> Result<Output, ConsoleError> {
    let sqlerr = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            ConsoleError::TimedOut
        }
        other => ConsoleError::Sql(other.to_string()),
    };
    if let Some(pg) = db.postgres() {
        return run_pg(pg, sql, allow_write, max_rows, limit);
    }
    let conn = super::sql::sqlite_only(db, "this SQL console")
        .map_err(|e| ConsoleError::Sql(e.to_string()))?;
    let mut stmt = conn.prepare(sql).map_err(sqlerr)?;
    if !allow_write && !stmt.readonly() {
        return Err(ConsoleError::Writes);
    }
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let n = columns.len();
    let before = conn.total_changes();
    let _deadline = Deadline::start(conn, limit);
    let mut rows = stmt.query([]).map_err(sqlerr)?;
    let mut out = Vec::new();
    let mut truncated = false;
    while let Some(r) = rows.next().map_err(sqlerr)? {
        if out.len() >= max_rows {
            truncated = true;
            break;
        }
        out.push(
            (0..n)
                .map(|i| r.get_ref(i).map_or(Value::Null, value))
                .collect(),
        );
    }
    drop(rows);
    Ok(Output {
        columns,
        rows: out,
        truncated,
        changes: conn.total_changes().saturating_sub(before),
    })
}

/// PostgreSQL: a read runs in a `READ ONLY` transaction that is rolled
/// back (a write in it is PostgreSQL's error 25006: refused as a write);
/// a write runs in a savepoint of the write job's transaction, so a failed
/// statement leaves the job's transaction usable. Either way the time limit
/// is `SET LOCAL`, undone with the transaction or savepoint.
fn run_pg(
    pg: &super::pg::PgConn,
    sql: &str,
    allow_write: bool,
    max_rows: usize,
    limit: Duration,
) -> Result<Output, ConsoleError> {
    use tokio_postgres::error::SqlState;
    let db: &dyn super::sql::Db = pg;
    let ms = limit.as_millis().max(1);
    let fail = |e: super::StoreError| match &e {
        super::StoreError::Postgres(pe) => match pe.as_db_error() {
            Some(d) if d.code() == &SqlState::QUERY_CANCELED => ConsoleError::TimedOut,
            Some(d) if d.code() == &SqlState::READ_ONLY_SQL_TRANSACTION => ConsoleError::Writes,
            Some(d) => ConsoleError::Sql(d.message().to_owned()),
            None => ConsoleError::Sql(pe.to_string()),
        },
        other => ConsoleError::Sql(other.to_string()),
    };
    let (open, ok, undo) = if allow_write {
        (
            "SAVEPOINT console",
            "SET LOCAL statement_timeout = DEFAULT; RELEASE SAVEPOINT console",
            "ROLLBACK TO SAVEPOINT console; RELEASE SAVEPOINT console",
        )
    } else {
        ("BEGIN READ ONLY", "ROLLBACK", "ROLLBACK")
    };
    db.batch(&format!("{open}; SET LOCAL statement_timeout = {ms}"))
        .map_err(fail)?;
    let res = pg.stream(sql, max_rows);
    let end = db.batch(if res.is_ok() { ok } else { undo });
    let out = res.map_err(fail)?;
    end.map_err(fail)?;
    Ok(Output {
        columns: out.columns,
        rows: out.rows,
        truncated: out.truncated,
        changes: out.changes,
    })
}

/// A fresh read-only connection to `path` (not from the pool: a console
/// query may be interrupted, and pooled readers stay untouched).
pub fn open_read_only(path: &std::path::Path) -> Result<Connection, ConsoleError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| ConsoleError::Sql(e.to_string()))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| ConsoleError::Sql(e.to_string()))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_times_out_and_refuses_writes() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")
            .expect("seed");
        let long = Duration::from_secs(5);
        let out = run(
            &conn,
            "SELECT x, 'a' AS s FROM t ORDER BY x",
            false,
            2,
            long,
        )
        .expect("ok");
        assert_eq!(out.columns, vec!["x", "s"]);
        assert_eq!(
            out.rows,
            vec![vec![json!(1), json!("a")], vec![json!(2), json!("a")]]
        );
        assert!(out.truncated);
        assert_eq!(
            run(&conn, "DELETE FROM t", false, 10, long),
            Err(ConsoleError::Writes)
        );
        assert!(matches!(
            run(&conn, "SELECT 1; SELECT 2", false, 10, long),
            Err(ConsoleError::Sql(_))
        ));
        let slow = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT COUNT(*) FROM c";
        assert_eq!(
            run(&conn, slow, false, 10, Duration::from_millis(100)),
            Err(ConsoleError::TimedOut)
        );
        let w = run(&conn, "DELETE FROM t WHERE x > 1", true, 10, long).expect("write");
        assert_eq!(w.changes, 2);
    }
}
