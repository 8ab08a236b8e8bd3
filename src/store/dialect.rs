//! The one point where SQLite's and PostgreSQL's SQL differ.
//!
//! The filter compiler (`filter::compile`), the resolvers in this module's
//! siblings and the DDL spell every construct whose text differs between
//! the two engines through a [`Dialect`], instead of matching on the engine
//! in many places or rewriting SQL text afterwards (a regex over SQL also
//! rewrites inside string literals). The table of differences and the
//! reasons are in `POSTGRES.md` §4; the short version:
//!
//! | construct | SQLite | PostgreSQL |
//! |---|---|---|
//! | placeholder | `?N` | `$N` |
//! | `~` | `LIKE` (ASCII case-insensitive) | `ILIKE` |
//! | null-safe equality | `IS` / `IS NOT` | `IS [NOT] DISTINCT FROM` |
//! | boolean constants | `1` / `0` | `TRUE` / `FALSE` |
//! | JSON value at a path | `json_extract(x, p)` | `jsonb_path_query_first(x, p::jsonpath) #>> '{}'` |
//! | JSON array rows | `json_each(x)` | `jsonb_array_elements_text(…) AS a(value)` |
//! | NULLs in `ORDER BY` | first ascending (default) | `NULLS FIRST` / `NULLS LAST` |
//! | `COLLATE NOCASE` | `x = ?1 COLLATE NOCASE` | `lower(x) = lower($1)` |
//! | insertion order | `rowid` | `_rowid` identity column |
//!
//! A plain `Copy` enum rather than a trait object: there are exactly two
//! engines, every method is a small `match`, and the SQLite arm returns the
//! same text Cairn emitted before the dialect existed (the compiler tests
//! check it byte for byte). This module is a leaf: no I/O and no driver
//! types, so the pure filter compiler may use it.

use crate::schema::{Field, FieldKind};

/// Which SQL engine a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The placeholder of the `n`-th bound parameter (1-based).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The longest table, column or index name the engine keeps whole:
    /// PostgreSQL silently cuts identifiers to 63 bytes (NAMEDATALEN - 1),
    /// so two longer names could become one; SQLite keeps any length.
    pub fn max_identifier(self) -> Option<usize> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(63),
        }
    }

    /// A quoted identifier. Both engines take `"…"` with `""` doubling;
    /// PostgreSQL folds unquoted names to lower case, so Cairn always quotes.
    pub fn ident(self, name: &str) -> String {
        crate::schema::names::quote_ident(name)
    }

    /// The always-true and always-false conditions.
    pub fn bool_lit(self, v: bool) -> &'static str {
        match (self, v) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "TRUE",
            (Dialect::Postgres, false) => "FALSE",
        }
    }

    /// Null-safe (in)equality: `a IS b` holds when both are NULL.
    pub fn is(self, not: bool) -> &'static str {
        match (self, not) {
            (Dialect::Sqlite, false) => "IS",
            (Dialect::Sqlite, true) => "IS NOT",
            (Dialect::Postgres, false) => "IS NOT DISTINCT FROM",
            (Dialect::Postgres, true) => "IS DISTINCT FROM",
        }
    }

    /// The case-insensitive pattern match behind `~` / `!~`.
    pub fn like(self, not: bool) -> &'static str {
        match (self, not) {
            (Dialect::Sqlite, false) => "LIKE",
            (Dialect::Sqlite, true) => "NOT LIKE",
            (Dialect::Postgres, false) => "ILIKE",
            (Dialect::Postgres, true) => "NOT ILIKE",
        }
    }

    /// `x` as text for a pattern match: SQLite matches any value by its
    /// text; PostgreSQL has no `ILIKE` on `jsonb` (multiple values, JSON)
    /// or numbers, so the text form is matched, as on SQLite.
    pub fn as_text(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_owned(),
            Dialect::Postgres => format!("CAST({x} AS TEXT)"),
        }
    }

    /// Position of `needle` in `hay` (0 when absent).
    pub fn instr(self, hay: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({hay}, {needle})"),
            Dialect::Postgres => format!("strpos({hay}, {needle})"),
        }
    }

    /// `x` is NULL, empty text or an empty JSON array (PocketBase's "null
    /// is empty"). PostgreSQL compares the text form so that the test also
    /// works on `jsonb` and numeric columns.
    pub fn is_empty(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => format!("({x} IS NULL OR {x} = '' OR {x} = '[]')"),
            Dialect::Postgres => {
                format!("({x} IS NULL OR {x}::text = '' OR {x}::text = '[]')")
            }
        }
    }

    /// The negation of [`Dialect::is_empty`].
    pub fn is_not_empty(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => format!("({x} IS NOT NULL AND {x} != '' AND {x} != '[]')"),
            Dialect::Postgres => {
                format!("({x} IS NOT NULL AND {x}::text != '' AND {x}::text != '[]')")
            }
        }
    }

    /// `cond` with NULL read as false.
    pub fn coalesce_false(self, cond: &str) -> String {
        format!("COALESCE({cond}, {})", self.bool_lit(false))
    }

    /// A derived table in `FROM`. PostgreSQL before 16 requires an alias.
    pub fn derived(self, sql: &str, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("({sql})"),
            Dialect::Postgres => format!("({sql}) AS {alias}"),
        }
    }

    /// The JSON value of `x` at `path` (a bound JSONPath like `$."a"[0]`),
    /// as an SQL scalar. On PostgreSQL the value comes back as text.
    pub fn json_extract(self, x: &str, path: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({x}, {path})"),
            Dialect::Postgres => format!("({} #>> '{{}}')", self.json_value(x, path)),
        }
    }

    /// PostgreSQL: the `jsonb` value of `x` at `path` (as
    /// [`Dialect::json_extract`], not read as text).
    pub fn json_value(self, x: &str, path: &str) -> String {
        format!("jsonb_path_query_first({x}::jsonb, {path}::jsonpath)")
    }

    /// The JSON value of `x` at a constant key (`lon`, `lat`).
    pub fn json_key(self, x: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({x}, '$.{key}')"),
            Dialect::Postgres => format!("({x}::jsonb ->> '{key}')"),
        }
    }

    /// Length of the JSON array `x` (or of the array at `path`): NULL for
    /// NULL, 0 for anything that is not an array (PostgreSQL's own function
    /// fails on scalars, hence the guard).
    pub fn json_array_length(self, x: &str, path: Option<&str>) -> String {
        match (self, path) {
            (Dialect::Sqlite, None) => format!("json_array_length({x})"),
            (Dialect::Sqlite, Some(p)) => format!("json_array_length({x}, {p})"),
            (Dialect::Postgres, _) => {
                let v = match path {
                    None => format!("{x}::jsonb"),
                    Some(p) => self.json_value(x, p),
                };
                format!(
                    "(CASE WHEN {v} IS NULL THEN NULL WHEN jsonb_typeof({v}) = 'array' \
                     THEN jsonb_array_length({v}) ELSE 0 END)"
                )
            }
        }
    }

    /// A `FROM` item with one row per element of the JSON array `x` (or of
    /// the array at `path`), its column named `value`; `alias` names it.
    /// A scalar or NULL gives no rows on both engines.
    pub fn json_each(self, x: &str, path: Option<&str>, alias: Option<&str>) -> String {
        match self {
            Dialect::Sqlite => {
                let call = match path {
                    None => format!("json_each({x})"),
                    Some(p) => format!("json_each({x}, {p})"),
                };
                match alias {
                    Some(a) => format!("{call} AS {a}"),
                    None => call,
                }
            }
            Dialect::Postgres => {
                let v = match path {
                    None => format!("{x}::jsonb"),
                    Some(p) => self.json_value(x, p),
                };
                format!(
                    "jsonb_array_elements_text(CASE jsonb_typeof({v}) WHEN 'array' THEN {v} \
                     ELSE '[]'::jsonb END) AS {}(value)",
                    alias.unwrap_or("_e")
                )
            }
        }
    }

    /// PocketBase's `strftime(format, time, ...)` filter function. On
    /// PostgreSQL Cairn's bootstrap installs `cairn_strftime`.
    pub fn strftime(self, args: &str) -> String {
        match self {
            Dialect::Sqlite => format!("strftime({args})"),
            Dialect::Postgres => format!("cairn_strftime({args})"),
        }
    }

    /// A random value per row (`@random` sort).
    pub fn random(self) -> &'static str {
        "RANDOM()"
    }

    /// The column that keeps insertion order (`@rowid` sort).
    pub fn rowid(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "\"_rowid\"",
        }
    }

    /// An `ORDER BY` term. PostgreSQL sorts NULLs last ascending; SQLite
    /// (and so PocketBase) first, so PostgreSQL states it.
    pub fn order_term(self, expr: &str, desc: bool) -> String {
        match (self, desc) {
            (Dialect::Sqlite, false) => format!("{expr} ASC"),
            (Dialect::Sqlite, true) => format!("{expr} DESC"),
            (Dialect::Postgres, false) => format!("{expr} ASC NULLS FIRST"),
            (Dialect::Postgres, true) => format!("{expr} DESC NULLS LAST"),
        }
    }

    /// An `ORDER BY` term for a column that is `NOT NULL`: where NULLs go
    /// changes nothing, and stating it would keep PostgreSQL from reading a
    /// plain index in order (`DESC NULLS LAST` is not the backward scan of
    /// an ascending index, which yields `DESC NULLS FIRST`): `-created` on
    /// 2,000 rows sorted them all (2.4 ms) instead of reading 50 entries.
    pub fn order_term_not_null(self, expr: &str, desc: bool) -> String {
        format!("{expr} {}", if desc { "DESC" } else { "ASC" })
    }

    /// `a = b` with SQLite's `IS` (null-safe, two-valued) meaning when `b`
    /// is a bound value, which is never NULL (`= null` compiles apart): on
    /// PostgreSQL `col IS NOT DISTINCT FROM $1` cannot use an index on
    /// `col`, while `col = $1 AND col IS NOT NULL` can and has the same
    /// value in every row (false, never NULL, where `col` is NULL). `a` is
    /// written twice, so only a plain column takes this form.
    pub fn eq_value(self, a: &str, b: &str) -> Option<String> {
        let column = |s: &str| {
            let parts: Vec<&str> = s.split('.').collect();
            parts.len() == 2
                && parts.iter().all(|p| {
                    p.len() >= 2
                        && p.starts_with('"')
                        && p.ends_with('"')
                        && !p[1..p.len() - 1].contains('"')
                })
        };
        let placeholder = |s: &str| {
            s.strip_prefix('$')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        };
        (self == Dialect::Postgres && column(a) && placeholder(b))
            .then(|| format!("({a} = {b} AND {a} IS NOT NULL)"))
    }

    /// Case-insensitive equality of `col` and `value` (SQLite's NOCASE;
    /// an expression index on `lower(col)` serves it on PostgreSQL).
    pub fn eq_nocase(self, col: &str, value: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{col} = {value} COLLATE NOCASE"),
            Dialect::Postgres => format!("lower({col}) = lower({value})"),
        }
    }

    /// Starts a write transaction: SQLite takes the write lock at once
    /// (no lock upgrade can fail mid-transaction); PostgreSQL locks rows as
    /// statements touch them (READ COMMITTED).
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// An `INSERT` that keeps the existing row on a key conflict.
    pub fn insert_ignore(self, table: &str, cols: &str, values: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INSERT OR IGNORE INTO {table} ({cols}) VALUES ({values})"),
            Dialect::Postgres => {
                format!("INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT DO NOTHING")
            }
        }
    }

    /// The column definition of a collection field (after its name).
    pub fn column_def(self, f: &Field) -> String {
        match self {
            Dialect::Sqlite => {
                if f.name == "id" {
                    "TEXT PRIMARY KEY NOT NULL".to_owned()
                } else {
                    f.column_def().to_owned()
                }
            }
            Dialect::Postgres => {
                if f.name == "id" {
                    return "TEXT COLLATE \"C\" PRIMARY KEY NOT NULL".to_owned();
                }
                match &f.kind {
                    FieldKind::Number(_) => "DOUBLE PRECISION DEFAULT 0 NOT NULL",
                    FieldKind::Bool(_) => "BOOLEAN DEFAULT FALSE NOT NULL",
                    FieldKind::Json(_) => "JSONB DEFAULT NULL",
                    FieldKind::GeoPoint(_) => "JSONB DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL",
                    k if k.is_multiple() => "JSONB DEFAULT '[]' NOT NULL",
                    _ => "TEXT COLLATE \"C\" DEFAULT '' NOT NULL",
                }
                .to_owned()
            }
        }
    }

    /// Parameter `?n` holding a value of field `f`, typed as its column is
    /// where the engine cannot infer it (a `VALUES` row: PostgreSQL would
    /// take every parameter there as text).
    pub fn typed_param(self, n: usize, f: &Field) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => {
                let ty = match &f.kind {
                    FieldKind::Number(_) => "DOUBLE PRECISION",
                    FieldKind::Bool(_) => "BOOLEAN",
                    FieldKind::Json(_) | FieldKind::GeoPoint(_) => "JSONB",
                    k if k.is_multiple() => "JSONB",
                    _ => return format!("CAST(?{n} AS TEXT) COLLATE \"C\""),
                };
                format!("CAST(?{n} AS {ty})")
            }
        }
    }

    /// The extra column a collection table carries for insertion order.
    pub fn rowid_column(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("\"_rowid\" BIGINT GENERATED ALWAYS AS IDENTITY"),
        }
    }
}

#[cfg(test)]
#[path = "dialect_tests.rs"]
mod tests;
