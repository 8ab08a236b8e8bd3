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
//! Values are bound by the server's inferred parameter type
//! ([`Val`]'s `ToSql` converts, e.g. `Val::Int` to `boolean`), and columns
//! are decoded by their type ([`PgRow`]), so store code reads `int` or
//! `text` the same way on both engines.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::OnceLock;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

pub mod bootstrap;
pub mod functions;
pub mod leader;
#[cfg(test)]
pub(crate) mod tests;
pub mod tls;
pub mod wake;

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Cell as SqlCell, Column, Db, Row, Val};

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

impl ToSql for Val<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if let Val::Owned(s) = self {
            return Val::Text(s).to_sql(ty, out);
        }
        match (self.clone(), ty) {
            (Val::Null, _) => return Ok(IsNull::Yes),
            (Val::Int(n), &Type::BOOL) => (n != 0).to_sql(ty, out)?,
            (Val::Int(n), &Type::INT2) => i16::try_from(n)?.to_sql(ty, out)?,
            (Val::Int(n), &Type::INT4) => i32::try_from(n)?.to_sql(ty, out)?,
            (Val::Int(n), &Type::INT8) => n.to_sql(ty, out)?,
            (Val::Int(n), &Type::FLOAT8) => (n as f64).to_sql(ty, out)?,
            (Val::Int(n), &Type::FLOAT4) => (n as f32).to_sql(ty, out)?,
            (Val::Real(f), &Type::FLOAT8) => f.to_sql(ty, out)?,
            // A filter's number literal (a float, as PocketBase binds it)
            // against a bool or integer column: whole numbers bind as such.
            (Val::Real(f), &Type::BOOL) if f == 0.0 || f == 1.0 => (f != 0.0).to_sql(ty, out)?,
            (Val::Real(f), &Type::INT8 | &Type::INT4 | &Type::INT2)
                if f.fract() == 0.0 && f.abs() < 9.0e15 =>
            {
                Val::Int(f as i64).to_sql(ty, out)?
            }
            (Val::Real(f), &Type::FLOAT4) => (f as f32).to_sql(ty, out)?,
            // A filter comparing a number column with text (`n > "9"`):
            // SQLite's numeric affinity reads numeric text as the number;
            // other text sorts after every number, as NaN does here.
            (Val::Text(s), &Type::FLOAT8) => s
                .trim()
                .parse::<f64>()
                .unwrap_or(f64::NAN)
                .to_sql(ty, out)?,
            (Val::Text(s), &Type::JSONB) => {
                out.put_u8(1);
                // A filter comparing a JSON column with plain text (`tags =
                // 'b'`) binds the text as a JSON string, so it compares as
                // SQLite's stored text does (never equal to an array).
                if serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok() {
                    out.put_slice(s.as_bytes());
                } else {
                    out.put_slice(serde_json::Value::from(s).to_string().as_bytes());
                }
                IsNull::No
            }
            (Val::Text(s), &Type::JSONPATH) => {
                // jsonpath's binary form: a version byte, then the text.
                out.put_u8(1);
                out.put_slice(s.as_bytes());
                IsNull::No
            }
            (Val::Text(s), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME)
            | (Val::Text(s), &Type::JSON | &Type::UNKNOWN) => {
                out.put_slice(s.as_bytes());
                IsNull::No
            }
            (Val::Int(n), &Type::TEXT | &Type::VARCHAR) => n.to_string().to_sql(ty, out)?,
            // As SQLite writes a REAL as text (`10.0`, 15 digits).
            (Val::Real(f), &Type::TEXT | &Type::VARCHAR) => {
                functions::real_text(f).to_sql(ty, out)?
            }
            (Val::Blob(b), &Type::BYTEA) => b.to_sql(ty, out)?,
            (v, ty) => return Err(format!("cannot bind {v:?} as {ty}").into()),
        };
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's type and raw bytes, decoded on demand.
struct Cell<'a>(Option<&'a [u8]>, Type);

impl<'a> FromSql<'a> for Cell<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Cell(Some(raw), ty.clone()))
    }

    fn from_sql_null(ty: &Type) -> Result<Self, BoxError> {
        Ok(Cell(None, ty.clone()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Does the statement only read (its command tag counts rows read)?
fn is_query(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or_default();
    ["select", "values", "show", "explain", "table"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}

fn json_cell(row: &tokio_postgres::Row, i: usize) -> serde_json::Value {
    use serde_json::Value;
    match PgRow(row).cell(i) {
        Ok(SqlCell::Null) => Value::Null,
        Ok(SqlCell::Int(n)) => n.into(),
        Ok(SqlCell::Real(f)) => f.into(),
        Ok(SqlCell::Text(t)) => String::from_utf8_lossy(t).into_owned().into(),
        Ok(SqlCell::Blob(b)) => format!("<{} bytes>", b.len()).into(),
        Err(_) => other_cell(row, i),
    }
}

/// Console values of types the store itself never reads: times as
/// PocketBase prints them, `void` as null, the rest by type name.
fn other_cell(row: &tokio_postgres::Row, i: usize) -> serde_json::Value {
    let ty = row.columns()[i].type_().clone();
    let Ok(Cell(raw, _)) = row.try_get::<_, Cell<'_>>(i) else {
        return serde_json::Value::Null;
    };
    let Some(raw) = raw else {
        return serde_json::Value::Null;
    };
    // Microseconds (timestamps) or days (dates) since 2000-01-01.
    const PG_EPOCH: i64 = 946_684_800;
    let at = match ty {
        Type::TIMESTAMPTZ | Type::TIMESTAMP => <i64 as FromSql>::from_sql(&ty, raw)
            .ok()
            .map(|us| i128::from(PG_EPOCH) * 1_000_000_000 + i128::from(us) * 1000),
        Type::DATE => <i32 as FromSql>::from_sql(&ty, raw)
            .ok()
            .map(|d| (i128::from(PG_EPOCH) + i128::from(d) * 86_400) * 1_000_000_000),
        Type::VOID => return serde_json::Value::Null,
        _ => None,
    };
    match at.and_then(|ns| time::OffsetDateTime::from_unix_timestamp_nanos(ns).ok()) {
        Some(t) => crate::schema::datetime::format(t).into(),
        None => format!("<{ty}>").into(),
    }
}

/// `numeric`'s binary form as a float (views' `sum()` and `avg()` are
/// numeric): digit count, weight, sign and scale as 16-bit words, then
/// base-10000 digits, the first one worth 10000^weight.
fn numeric(raw: &[u8]) -> Result<f64, StoreError> {
    let bad = || StoreError::Corrupt("malformed numeric value".into());
    let word = |i: usize| -> Result<u16, StoreError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or_else(bad)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let (ndigits, weight, sign) = (usize::from(word(0)?), word(1)? as i16, word(2)?);
    let mut v = 0.0f64;
    for k in 0..ndigits {
        let exp = i32::from(weight) - i32::try_from(k).map_err(|_| bad())?;
        v += f64::from(word(4 + k)?) * 10000f64.powi(exp);
    }
    Ok(match sign {
        0x0000 => v,
        0x4000 => -v,
        0xD000 => f64::INFINITY,
        0xF000 => f64::NEG_INFINITY,
        _ => f64::NAN,
    })
}

/// A PostgreSQL row read through [`Row`].
pub struct PgRow<'r>(&'r tokio_postgres::Row);

impl PgRow<'_> {
    fn raw(&self, i: usize) -> Result<Cell<'_>, StoreError> {
        Ok(self.0.try_get::<_, Cell<'_>>(i)?)
    }
}

fn decode<'a, T: FromSql<'a>>(ty: &Type, raw: &'a [u8]) -> Result<T, StoreError> {
    T::from_sql(ty, raw).map_err(|e| StoreError::Corrupt(format!("column of type {ty}: {e}")))
}

impl Row for PgRow<'_> {
    fn cell(&self, i: usize) -> Result<SqlCell<'_>, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let Some(raw) = raw else {
            return Ok(SqlCell::Null);
        };
        Ok(match ty {
            Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL => {
                SqlCell::Int(self.opt_int(i)?.unwrap_or_default())
            }
            Type::FLOAT8 | Type::FLOAT4 | Type::NUMERIC => SqlCell::Real(self.real(i)?),
            Type::JSONB => SqlCell::Text(raw.get(1..).unwrap_or_default()),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
                SqlCell::Text(raw)
            }
            Type::BYTEA => SqlCell::Blob(raw),
            _ => return Err(StoreError::Corrupt(format!("column {i} has type {ty}"))),
        })
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let Some(raw) = raw else { return Ok(None) };
        Ok(Some(match ty {
            Type::INT8 => decode::<i64>(&ty, raw)?,
            Type::INT4 => i64::from(decode::<i32>(&ty, raw)?),
            Type::INT2 => i64::from(decode::<i16>(&ty, raw)?),
            Type::BOOL => i64::from(decode::<bool>(&ty, raw)?),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "column {i} ({ty}) is not an integer"
                )));
            }
        }))
    }

    fn real(&self, i: usize) -> Result<f64, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let raw = raw.ok_or_else(|| StoreError::Corrupt(format!("column {i} is NULL")))?;
        match ty {
            Type::FLOAT8 => decode::<f64>(&ty, raw),
            Type::FLOAT4 => Ok(f64::from(decode::<f32>(&ty, raw)?)),
            Type::NUMERIC => numeric(raw),
            Type::INT8 | Type::INT4 | Type::INT2 => Ok(self.int(i)? as f64),
            _ => Err(StoreError::Corrupt(format!(
                "column {i} ({ty}) is not a number"
            ))),
        }
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let Some(raw) = raw else { return Ok(None) };
        let bytes = match ty {
            // jsonb's binary form is a version byte, then the text.
            Type::JSONB => raw.get(1..).unwrap_or_default(),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => raw,
            Type::INT8 | Type::INT4 | Type::INT2 => {
                return Ok(self.opt_int(i)?.map(|n| n.to_string()));
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "column {i} ({ty}) is not text"
                )));
            }
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("column {i} is not UTF-8")))
    }
}
