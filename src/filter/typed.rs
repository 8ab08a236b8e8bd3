//! SQLite's comparison rules, reproduced on PostgreSQL.
//!
//! PocketBase's filters rest on SQLite's dynamic typing: a JSON path gives
//! a number, a string or NULL (`json_extract`), numbers sort before text,
//! and a column's affinity converts the other side (`name < n` reads the
//! numeric text `"10"` as 10). PostgreSQL is statically typed: the same
//! comparisons either fail (`text < double precision`, `boolean = text`) or,
//! with a JSON value read as text, find `1` equal to `"1"`. So the resolver
//! notes the type of each value it emits ([`Params::note`]) and, before a
//! comparison is written, [`retype`] rewrites its two sides so that
//! PostgreSQL computes what SQLite would:
//!
//! - a JSON value against a literal, a request value or another JSON value
//!   compares as a `cairn_key` (class, number, text in byte order: numbers
//!   and booleans before strings, arrays and objects), made by the
//!   functions in `store/pg/functions.rs`; a sort by a JSON value sorts by
//!   the same key ([`sort_expr`]);
//! - a JSON value against a number or bool column reads as a number, and
//!   text against a number or bool column too (NaN where it is not one,
//!   which PostgreSQL orders above every number, as SQLite orders text);
//! - a bool column against a value other than 0/1 compares as 0 or 1.
//!
//! On SQLite nothing is noted and nothing is rewritten. Text columns against
//! JSON values keep comparing as text (SQLite applies the column's text
//! affinity to the JSON value).

use super::ast::Op;
use super::compile::{Param, Params, Side};
use crate::store::dialect::Dialect;

/// The type of a plain column's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    Text,
    Num,
    Bool,
}

/// What the resolver knows of an SQL value it emitted.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// A column (or a scalar subquery reading one) of this type.
    Col(Ty),
    /// A JSON value read as text; the string is the same value as `jsonb`.
    Json(String),
}

impl Params {
    /// Notes that the SQL `sql` has type `t`.
    /// JSON values are noted on SQLite too, for [`json_null`].
    pub fn note(&mut self, sql: &str, t: Typed) {
        if self.dialect == Dialect::Postgres || matches!(t, Typed::Json(_)) {
            self.types.push((sql.to_owned(), t));
        }
    }

    fn typed(&self, sql: &str) -> Option<&Typed> {
        self.types
            .iter()
            .rev()
            .find(|(s, _)| s == sql)
            .map(|(_, t)| t)
    }
}

/// The sort expression for the resolved value `sql`: on PostgreSQL a JSON
/// value sorts by its `cairn_key`, like SQLite's `json_extract` result.
pub fn sort_expr(p: &Params, sql: String) -> String {
    match p.typed(&sql) {
        Some(Typed::Json(j)) if p.dialect == Dialect::Postgres => key(j),
        _ => sql,
    }
}

/// `x = null` / `x != null` for a JSON value `x`: PocketBase tests JSON
/// values with `IS NULL`, so `[]`, `{}` and `""` are not null (other
/// values also count those as empty).
pub(super) fn json_null(p: &Params, op: Op, a: &Side, b: &Side) -> Option<String> {
    let not = match op.base() {
        Op::Eq => "",
        Op::Neq => "NOT ",
        _ => return None,
    };
    let ((Side::Sql(x), Side::Null) | (Side::Null, Side::Sql(x))) = (a, b) else {
        return None;
    };
    matches!(p.typed(x), Some(Typed::Json(_))).then(|| format!("({x} IS {not}NULL)"))
}

/// What one side of a comparison is, for [`retype`].
#[derive(Clone, Copy)]
enum Kind<'a> {
    Json(&'a str),
    Col(Ty),
    /// A bound number (`true` when it is 0 or 1, a bool's value).
    Num(bool),
    Text,
    Other,
}

fn kind<'a>(p: &'a Params, s: &Side) -> Kind<'a> {
    let Side::Sql(sql) = s else {
        return Kind::Other;
    };
    match p.typed(sql) {
        Some(Typed::Json(j)) => return Kind::Json(j),
        Some(Typed::Col(t)) => return Kind::Col(*t),
        None => {}
    }
    match p.value_at(s) {
        Some(Param::Int(n)) => Kind::Num(matches!(n, 0 | 1)),
        Some(Param::Real(f)) => Kind::Num(*f == 0.0 || *f == 1.0),
        Some(Param::Text(_)) => Kind::Text,
        _ => Kind::Other,
    }
}

/// How a side is rewritten.
#[derive(Clone, Copy, PartialEq)]
enum Conv {
    Keep,
    /// The JSON value's `cairn_key`.
    JsonKey,
    /// A JSON value read as a number (NaN for text).
    JsonNum,
    NumKey,
    TextKey,
    /// Text read as a number (NaN when it is not one).
    TextNum,
    /// A bool as 0 or 1.
    BoolNum,
}

/// The rewrites for `a` against `b`, when a rule covers that order.
fn conv(a: Kind, b: Kind) -> Option<(Conv, Conv)> {
    use Kind::*;
    Some(match (a, b) {
        (Json(_), Json(_)) => (Conv::JsonKey, Conv::JsonKey),
        (Json(_), Num(_)) => (Conv::JsonKey, Conv::NumKey),
        (Json(_), Text) => (Conv::JsonKey, Conv::TextKey),
        (Json(_), Col(Ty::Num)) => (Conv::JsonNum, Conv::Keep),
        (Json(_), Col(Ty::Bool)) => (Conv::JsonNum, Conv::BoolNum),
        (Col(Ty::Text), Col(Ty::Num)) => (Conv::TextNum, Conv::Keep),
        (Col(Ty::Text), Col(Ty::Bool)) => (Conv::TextNum, Conv::BoolNum),
        (Col(Ty::Bool), Col(Ty::Num)) => (Conv::BoolNum, Conv::Keep),
        (Col(Ty::Bool), Num(false) | Text) => (Conv::BoolNum, Conv::Keep),
        _ => return None,
    })
}

/// The two sides of `a OP b` rewritten to follow SQLite's rules (see the
/// module documentation); unchanged on SQLite and where no rule applies.
pub(super) fn retype(p: &Params, op: Op, a: Side, b: Side) -> (Side, Side) {
    let ordered = matches!(
        op.base(),
        Op::Eq | Op::Neq | Op::Gt | Op::Gte | Op::Lt | Op::Lte
    );
    if p.dialect != Dialect::Postgres || !ordered {
        return (a, b);
    }
    let (ka, kb) = (kind(p, &a), kind(p, &b));
    let Some((ca, cb)) = conv(ka, kb).or_else(|| conv(kb, ka).map(|(x, y)| (y, x))) else {
        return (a, b);
    };
    (apply(ca, ka, a), apply(cb, kb, b))
}

fn apply(c: Conv, k: Kind, s: Side) -> Side {
    let Side::Sql(sql) = s else { return s };
    let jsonb = match k {
        Kind::Json(j) => j,
        _ => "",
    };
    Side::Sql(match c {
        Conv::Keep => sql,
        Conv::JsonKey => key(jsonb),
        Conv::JsonNum => format!("cairn_jnum({jsonb})"),
        Conv::NumKey => format!("cairn_nkey({sql})"),
        Conv::TextKey => format!("cairn_tkey({sql})"),
        Conv::TextNum => format!("cairn_num({sql})"),
        Conv::BoolNum => format!("CAST(CAST({sql} AS INT) AS DOUBLE PRECISION)"),
    })
}

fn key(jsonb: &str) -> String {
    format!("cairn_jkey({jsonb})")
}
