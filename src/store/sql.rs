//! The driver-neutral way store functions run SQL: [`Db`], [`Val`], [`Row`].
//!
//! PostgreSQL support (issue 19) needs every store function to run on
//! either engine. Rather than a second copy of each function, a function
//! written against `&dyn Db` runs on both: it binds [`Val`]s, reads columns
//! through [`Row`], and asks [`Db::dialect`] for the few constructs whose
//! text differs (`dialect.rs`). Statements are written once, with SQLite's
//! `?N` placeholders; the PostgreSQL side turns them into `$N` with a small
//! lexer that skips literals and quoted names (`pg::placeholders`), never a
//! regex over SQL text.
//!
//! Functions are moved onto this API one module at a time; until a module
//! is, it takes `&rusqlite::Connection` and runs on SQLite only. A
//! `&rusqlite::Connection` coerces to `&dyn Db`, so callers do not change.
//! The SQLite side uses rusqlite's statement cache, so a ported function
//! costs what it did before.

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::StoreError;
use super::dialect::Dialect;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    /// Text built for the statement (a JSON value's serialisation).
    Owned(String),
    Blob(&'a [u8]),
}

impl<'a> From<&'a crate::filter::compile::Param> for Val<'a> {
    fn from(p: &'a crate::filter::compile::Param) -> Self {
        use crate::filter::compile::Param;
        match p {
            Param::Null => Val::Null,
            Param::Int(n) => Val::Int(*n),
            Param::Real(f) => Val::Real(*f),
            Param::Text(s) => Val::Text(s),
        }
    }
}

/// One column's value as the engine returned it; `Text` holds UTF-8 bytes
/// (PostgreSQL's `jsonb` and `json` read as their text, `boolean` as 0/1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(s: &'a str) -> Self {
        Val::Text(s)
    }
}

impl<'a> From<&'a String> for Val<'a> {
    fn from(s: &'a String) -> Self {
        Val::Text(s)
    }
}

impl From<i64> for Val<'_> {
    fn from(n: i64) -> Self {
        Val::Int(n)
    }
}

impl From<bool> for Val<'_> {
    fn from(b: bool) -> Self {
        Val::Int(i64::from(b))
    }
}

impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Int(n) => ValueRef::Integer(*n),
            Val::Real(f) => ValueRef::Real(*f),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
            Val::Owned(s) => ValueRef::Text(s.as_bytes()),
            Val::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// One result row. Columns are read by position; a type the column cannot
/// be read as is an error, never a silent default.
pub trait Row {
    /// The raw value of column `i`.
    fn cell(&self, i: usize) -> Result<Cell<'_>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| null_at(i))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn real(&self, i: usize) -> Result<f64, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| null_at(i))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }
}

fn null_at(i: usize) -> StoreError {
    StoreError::Corrupt(format!("column {i} is NULL"))
}

/// A query's result column and, for a plain column reference, the table
/// and column it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub table: Option<String>,
    pub origin: Option<String>,
}

/// A connection (or the transaction a job runs in) on either engine.
pub trait Db {
    fn dialect(&self) -> Dialect;
    /// Runs one statement; the number of rows it changed.
    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<usize, StoreError>;
    /// Runs one query, calling `f` for each row in order.
    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs one query and calls `f` with its first row, if any, without
    /// stepping further; whether there was one.
    fn first(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError>;
    /// Runs several statements without parameters (DDL).
    fn batch(&self, sql: &str) -> Result<(), StoreError>;
    /// The result columns' names of a query, without running it.
    fn column_names(&self, sql: &str) -> Result<Vec<String>, StoreError>;
    /// The result columns of a query with the table and column each comes
    /// straight from, where the engine knows it (view collections infer
    /// their fields from these).
    fn column_origins(&self, sql: &str) -> Result<Vec<Column>, StoreError>;
    /// The SQLite connection, for store code not yet moved onto this API
    /// (`None` on PostgreSQL, where such code answers `Unsupported`).
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }
    /// Did a statement lose a deadlock or serialization conflict since the
    /// last call (PostgreSQL; the job may run again)?
    fn take_conflict(&self) -> bool {
        false
    }
    /// The PostgreSQL session, for the few things only it does (the SQL
    /// console's streamed rows).
    fn postgres(&self) -> Option<&super::pg::PgConn> {
        None
    }
    /// Is the session gone (so a pool must not hand it out again)?
    fn is_broken(&self) -> bool {
        false
    }
}

impl dyn Db + '_ {
    /// Runs a plain `INSERT` (no `OR IGNORE`) into a table whose integer
    /// key column `key` is SQLite's rowid and returns the new row's key. On
    /// SQLite that is the connection's last rowid: `RETURNING` makes SQLite
    /// collect the returned rows in a temporary table before the first is
    /// read, which cost ~40 % of a small insert (the change log's append).
    /// Elsewhere the key comes back through `RETURNING`.
    pub fn insert_key(&self, sql: &str, key: &str, params: &[Val<'_>]) -> Result<i64, StoreError> {
        if let Some(conn) = self.sqlite() {
            self.exec(sql, params)?;
            return Ok(conn.last_insert_rowid());
        }
        self.row(&format!("{sql} RETURNING {key}"), params, |r| r.int(0))?
            .ok_or(StoreError::CommitFailed)
    }

    /// Every row, mapped.
    pub fn rows<T>(
        &self,
        sql: &str,
        params: &[Val<'_>],
        mut map: impl FnMut(&dyn Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(map(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped, if there is one.
    pub fn row<T>(
        &self,
        sql: &str,
        params: &[Val<'_>],
        map: impl FnOnce(&dyn Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut map = Some(map);
        let mut out = None;
        self.first(sql, params, &mut |r| {
            if let Some(m) = map.take() {
                out = Some(m(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

impl Db for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<usize, StoreError> {
        let mut stmt = self.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))?)
    }

    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            f(&SqliteRow(r))?;
        }
        Ok(())
    }

    fn first(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&dyn Row) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        match rows.next()? {
            Some(r) => f(&SqliteRow(r)).map(|()| true),
            None => Ok(false),
        }
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.execute_batch(sql)?)
    }

    fn column_names(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let stmt = self.prepare_cached(sql)?;
        Ok(stmt.column_names().map(str::to_owned).collect())
    }

    fn column_origins(&self, sql: &str) -> Result<Vec<Column>, StoreError> {
        let stmt = self.prepare(sql)?;
        Ok(stmt
            .columns_with_metadata()
            .map(|c| Column {
                name: c.name().to_owned(),
                table: c.table_name().map(str::to_owned),
                origin: c.origin_name().map(str::to_owned),
            })
            .collect())
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
}

struct SqliteRow<'r, 's>(&'r rusqlite::Row<'s>);

impl Row for SqliteRow<'_, '_> {
    fn cell(&self, i: usize) -> Result<Cell<'_>, StoreError> {
        Ok(match self.0.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(n) => Cell::Int(n),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(t) => Cell::Text(t),
            ValueRef::Blob(b) => Cell::Blob(b),
        })
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.0.get(i)?)
    }

    fn real(&self, i: usize) -> Result<f64, StoreError> {
        Ok(self.0.get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.0.get(i)?)
    }
}

/// The SQLite connection under `db`, for store code that runs on SQLite
/// only so far; on PostgreSQL, `Unsupported(what)`.
pub fn sqlite_only<'a>(
    db: &'a dyn Db,
    what: &'static str,
) -> Result<&'a rusqlite::Connection, StoreError> {
    db.sqlite().ok_or(StoreError::Unsupported(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_key_is_the_new_rows_key_and_never_reused() {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)")
            .expect("table");
        let db: &dyn Db = &conn;
        let insert = |v: &str| db.insert_key("INSERT INTO t (v) VALUES (?1)", "seq", &[v.into()]);
        assert_eq!(insert("a").expect("a"), 1);
        assert_eq!(insert("b").expect("b"), 2);
        db.exec("DELETE FROM t", &[]).expect("delete");
        // AUTOINCREMENT: a trimmed log never hands out a key again.
        assert_eq!(insert("c").expect("c"), 3);
        let stored = db
            .row("SELECT seq FROM t WHERE v = 'c'", &[], |r| r.int(0))
            .expect("read");
        assert_eq!(stored, Some(3));
        // A failing insert is an error, not a stale key.
        assert!(
            db.insert_key("INSERT INTO missing (v) VALUES (?1)", "seq", &["d".into()])
                .is_err()
        );
    }
}
