//! The SQL console for superusers: one statement, read-only by default
//! (a fresh read-only connection), writes only with `write: true` and then
//! through the writer (in its group transaction, so they commit like any
//! write), a time limit and a row cap. Every statement is logged: to the
//! server log and as a `type: "sql"` row in the request logs.
//!
//! Writes bypass API rules, validation, the change log and realtime: the
//! console is a superuser's escape hatch, not an API.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::Error;
use crate::schema::validate::FieldError;
use crate::store::Store;
use crate::store::console::{self, ConsoleError, Output};
use crate::store::logs::{Entry, LogDb};

pub const DEFAULT_ROWS: usize = 500;
pub const MAX_ROWS: usize = 10_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
pub const MAX_TIMEOUT_MS: u64 = 60_000;
pub const MAX_QUERY: usize = 100_000;

/// A console request.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub write: bool,
    pub max_rows: Option<usize>,
    pub timeout_ms: Option<u64>,
}

/// Statements that would break the writer's group transaction.
fn controls_transactions(sql: &str) -> bool {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |x| x.1).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |x| x.1).trim_start();
        } else {
            break;
        }
    }
    let word: String = s
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(
        word.as_str(),
        "BEGIN"
            | "COMMIT"
            | "END"
            | "ROLLBACK"
            | "SAVEPOINT"
            | "RELEASE"
            | "ATTACH"
            | "DETACH"
            | "VACUUM"
    )
}

fn failed(e: ConsoleError) -> Error {
    let (msg, detail) = match e {
        ConsoleError::Writes => (
            "The statement writes: send \"write\": true to run it.",
            None,
        ),
        ConsoleError::TimedOut => ("The statement took longer than its time limit.", None),
        ConsoleError::Sql(s) => ("Failed to execute the statement.", Some(s)),
    };
    let mut data = Map::new();
    if let Some(d) = detail {
        data.insert("error".into(), d.into());
    }
    Error::invalid(msg, data)
}

/// Runs `q` as superuser `who` (their id, for the log).
pub async fn run(store: &Store, logs: &LogDb, who: &str, q: Query) -> Result<Value, Error> {
    if q.query.trim().is_empty() || q.query.len() > MAX_QUERY {
        let mut m = Map::new();
        m.insert("query".into(), FieldError::required().to_json());
        return Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            m,
        ));
    }
    let rows = q.max_rows.unwrap_or(DEFAULT_ROWS).clamp(1, MAX_ROWS);
    let limit = Duration::from_millis(
        q.timeout_ms
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(1, MAX_TIMEOUT_MS),
    );
    let started = Instant::now();
    let sql = q.query.clone();
    let res: Result<Output, ConsoleError> = if q.write {
        if controls_transactions(&sql) {
            Err(ConsoleError::Sql(
                "transaction control, ATTACH and VACUUM are not allowed here".into(),
            ))
        } else {
            store
                .write(move |ctx| {
                    let r = console::run(ctx.conn, &sql, true, rows, limit);
                    // DDL may have changed collections' tables: reload.
                    ctx.schema_changed = r.is_ok();
                    Ok::<_, crate::store::StoreError>(r)
                })
                .await?
        }
    } else if store.schema().dialect == crate::store::dialect::Dialect::Postgres {
        // A pooled session: the read runs in a READ ONLY transaction.
        store.read(move |db| Ok(console::run(db, &sql, false, rows, limit)))?
    } else {
        let path = store.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let conn = console::open_read_only(&path)?;
            console::run(&conn, &sql, false, rows, limit)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    log(logs, who, &q, &res, ms);
    let out = res.map_err(failed)?;
    Ok(json!({
        "columns": out.columns,
        "rows": out.rows,
        "truncated": out.truncated,
        "changes": out.changes,
        "execTime": ms,
    }))
}

fn log(logs: &LogDb, who: &str, q: &Query, res: &Result<Output, ConsoleError>, ms: f64) {
    let error = res.as_ref().err().map(|e| format!("{e:?}"));
    tracing::info!(target: "cairn::sql_console", superuser = who, write = q.write, sql = %q.query, error = ?error, "sql console");
    let mut data = json!({
        "type": "sql", "query": q.query, "write": q.write, "authId": who, "execTime": ms,
    });
    if let Ok(o) = res {
        data["rows"] = o.rows.len().into();
        data["changes"] = o.changes.into();
    }
    if let Some(e) = &error {
        data["error"] = e.clone().into();
    }
    let head: String = q.query.chars().take(200).collect();
    logs.push(Entry {
        id: crate::store::logs::new_id(),
        created: crate::schema::datetime::now(),
        level: if error.is_some() {
            super::logs::ERROR
        } else if q.write {
            super::logs::WARN
        } else {
            super::logs::INFO
        },
        message: format!("SQL {head}"),
        data,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_spotted_behind_comments() {
        for s in [
            "BEGIN",
            " commit;",
            "-- x\nROLLBACK",
            "/* a */ savepoint x",
            "vacuum",
            "attach 'x' as y",
        ] {
            assert!(controls_transactions(s), "{s}");
        }
        for s in ["SELECT 1", "UPDATE t SET x = 1", "-- begin\nDELETE FROM t"] {
            assert!(!controls_transactions(s), "{s}");
        }
    }
}
