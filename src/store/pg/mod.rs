//! PostgreSQL connections behind the driver-neutral [`Db`] API.
//!
//! Store functions are synchronous (jobs are closures run on the writer
//! thread or on a request's thread), so this is a blocking facade over
//! `tokio-postgres`: each connection's I/O task runs on one small runtime
//! of its own (`cairn-pg`), and a call waits for its reply with
//! `futures_executor::block_on`, which needs no Tokio context. That is why
//! it is not the `postgres` crate: its `Client` blocks on a runtime of its
//! own and panics when called from inside Tokio, where request handlers
//! run. Statements are prepared once per connection and cached by text.
//!
//! How values are bound and columns decoded is in `values.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::OnceLock;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

pub mod bootstrap;
pub mod functions;
pub mod leader;
#[cfg(test)]
pub(crate) mod tests;
pub mod tls;
mod values;
pub mod wake;

pub use values::PgRow;
use values::json_cell;

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Column, Db, Row, Val};

type BoxError = Box<dyn StdError + Sync + Send>;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cairn-pg")
            .enable_all()
            .build()
            .expect("the PostgreSQL I/O runtime starts")
    })
}

/// One PostgreSQL session.
pub struct PgConn {
    client: Client,
    stmts: RefCell<HashMap<String, Statement>>,
    /// The schema generation `stmts` were prepared under: a schema change
    /// empties the cache, or PostgreSQL would refuse a statement whose
    /// table changed its columns ("cached plan must not change result
    /// type").
    generation: std::cell::Cell<u64>,
    /// A statement lost a deadlock or a serialization conflict since this
    /// was last taken (`Db::take_conflict`).
    conflict: std::cell::Cell<bool>,
}

impl PgConn {
    /// Connects to `url` (`postgres://user:pass@host:port/db`, with
    /// libpq's `sslmode` and `sslrootcert` honoured: `tls.rs`).
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let target = tls::target(url)?;
        let (tx, rx) = std::sync::mpsc::channel();
        match tls::client_config(&target)? {
            None => spawn_connection(target.url, NoTls, tx),
            Some(config) => spawn_connection(
                target.url,
                tokio_postgres_rustls::MakeRustlsConnect::new(config),
                tx,
            ),
        }
        let client = rx.recv().map_err(|_| StoreError::Closed)??;
        // NOTICEs ("relation already exists, skipping") are not news.
        futures_executor::block_on(client.batch_execute("SET client_min_messages TO warning"))?;
        Ok(Self {
            client,
            stmts: RefCell::new(HashMap::new()),
            generation: std::cell::Cell::new(super::schema_generation()),
            conflict: std::cell::Cell::new(false),
        })
    }

    /// Passes a driver result on, remembering a lost deadlock or
    /// serialization conflict: the job that met it may run again.
    fn note<T>(&self, r: Result<T, tokio_postgres::Error>) -> Result<T, StoreError> {
        use tokio_postgres::error::SqlState;
        r.map_err(|e| {
            if matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::T_R_SERIALIZATION_FAILURE)
            {
                self.conflict.set(true);
            }
            e.into()
        })
    }

    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        let generation = super::schema_generation();
        if self.generation.replace(generation) != generation {
            self.stmts.borrow_mut().clear();
        }
        if let Some(s) = self.stmts.borrow().get(sql) {
            return Ok(s.clone());
        }
        let text = placeholders(sql);
        let stmt = futures_executor::block_on(self.client.prepare(&text))?;
        let mut cache = self.stmts.borrow_mut();
        // Bounded like SQLite's statement cache: filters make many texts.
        if cache.len() >= super::pool::STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

/// Connects on the I/O runtime and keeps the connection's task there;
/// the client (or the error) goes back through `tx`.
fn spawn_connection<T>(
    url: String,
    tls: T,
    tx: std::sync::mpsc::Sender<Result<Client, tokio_postgres::Error>>,
) where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Send + 'static,
    T::Stream: Send,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    runtime().spawn(async move {
        match tokio_postgres::connect(&url, tls).await {
            Ok((client, connection)) => {
                let _ = tx.send(Ok(client));
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "PostgreSQL connection ended");
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
}

fn refs<'a>(params: &'a [Val<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Db for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<usize, StoreError> {
        let stmt = self.statement(sql)?;
        let n = self.note(futures_executor::block_on(
            self.client.execute(&stmt, &refs(params)),
        ))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let stmt = self.statement(sql)?;
        let rows = self.note(futures_executor::block_on(
            self.client.query(&stmt, &refs(params)),
        ))?;
        for r in &rows {
            f(&PgRow(r))?;
        }
        Ok(())
    }

    fn first(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let stmt = self.statement(sql)?;
        // `query_opt` would fail on a second row; the first is wanted.
        let rows = self.note(futures_executor::block_on(
            self.client.query(&stmt, &refs(params)),
        ))?;
        match rows.first() {
            Some(r) => f(&PgRow(r)).map(|()| true),
            None => Ok(false),
        }
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.note(futures_executor::block_on(self.client.batch_execute(sql)))
    }

    fn column_names(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let stmt = self.statement(sql)?;
        Ok(stmt.columns().iter().map(|c| c.name().to_owned()).collect())
    }

    fn column_origins(&self, sql: &str) -> Result<Vec<Column>, StoreError> {
        let stmt = self.statement(sql)?;
        let mut out = Vec::with_capacity(stmt.columns().len());
        for c in stmt.columns() {
            // The row description names a plain column reference's table
            // and column by number; the catalog has their names.
            let origin = match (c.table_oid(), c.column_id()) {
                (Some(t), Some(n)) if t != 0 && n > 0 => self.row_names(
                    "SELECT c.relname::text, a.attname::text FROM pg_attribute a \
                     JOIN pg_class c ON c.oid = a.attrelid \
                     WHERE a.attrelid::bigint = ?1 AND a.attnum::bigint = ?2",
                    &[Val::Int(i64::from(t)), Val::Int(i64::from(n))],
                )?,
                _ => None,
            };
            let (table, origin) = origin.map_or((None, None), |(t, o)| (Some(t), Some(o)));
            out.push(Column {
                name: c.name().to_owned(),
                table,
                origin,
            });
        }
        Ok(out)
    }

    fn take_conflict(&self) -> bool {
        self.conflict.replace(false)
    }

    fn postgres(&self) -> Option<&PgConn> {
        Some(self)
    }

    fn is_broken(&self) -> bool {
        self.client.is_closed()
    }
}

/// One statement's result for the SQL console.
pub struct Streamed {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub truncated: bool,
    pub changes: u64,
}

impl PgConn {
    /// Runs `sql` (no parameters) keeping at most `max_rows` rows: the rows
    /// are streamed, so a large result is never held. Values whose type the
    /// store does not read show as `<type>`.
    pub fn stream(&self, sql: &str, max_rows: usize) -> Result<Streamed, StoreError> {
        use futures_util::StreamExt;
        let stmt = futures_executor::block_on(self.client.prepare(sql))?;
        let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
        let none: [&(dyn ToSql + Sync); 0] = [];
        futures_executor::block_on(async {
            let stream = self.client.query_raw(&stmt, none).await?;
            let mut stream = std::pin::pin!(stream);
            let mut rows = Vec::new();
            let mut truncated = false;
            while let Some(row) = stream.next().await {
                let row = row?;
                if rows.len() >= max_rows {
                    truncated = true;
                    break;
                }
                rows.push((0..columns.len()).map(|i| json_cell(&row, i)).collect());
            }
            // A query's count is its rows, not changes.
            let changes = if truncated || is_query(sql) {
                0
            } else {
                stream.rows_affected().unwrap_or(0)
            };
            Ok(Streamed {
                columns: columns.clone(),
                rows,
                truncated,
                changes,
            })
        })
    }

    fn row_names(
        &self,
        sql: &str,
        params: &[Val<'_>],
    ) -> Result<Option<(String, String)>, StoreError> {
        let mut out = None;
        self.first(sql, params, &mut |r| {
            out = Some((r.text(0)?, r.text(1)?));
            Ok(())
        })?;
        Ok(out)
    }
}

/// Rewrites SQLite's `?N` (and bare `?`) placeholders as PostgreSQL's `$N`,
/// leaving string literals, quoted identifiers and comments alone.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next = 1usize;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // A doubled quote inside is two quotes in a row: the loop
                // leaves and re-enters the literal, which is the same text.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = if digits.is_empty() {
                    next
                } else {
                    digits.parse().unwrap_or(next)
                };
                next = n + 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// Does the statement only read (its command tag counts rows read)?
fn is_query(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or_default();
    ["select", "values", "show", "explain", "table"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}
