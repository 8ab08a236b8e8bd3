//! AST -> SQL with numbered, bound parameters.
//!
//! The compiler knows the language's semantics (null handling, `~` wrapping,
//! any-of vs all-of over multi-valued sources); a [`Resolver`] knows what a
//! name means (a column, a related table, a request value). No text from the
//! expression is ever placed in the SQL: literals and request values become
//! parameters, and resolvers only emit quoted, validated identifiers.

use serde_json::Value;

use super::ast::{Expr, Func, Ident, Macro, Op, Operand, limits};
use super::fold::{fold, known, values_side};
pub use crate::store::dialect::Dialect;

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Param {
    /// A request-time JSON value as a parameter (arrays/objects as JSON text).
    pub fn from_json(v: &Value) -> Self {
        match v {
            Value::Null => Param::Null,
            Value::Bool(b) => Param::Int(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Param::Int(i),
                None => Param::Real(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Param::Text(s.clone()),
            other => Param::Text(other.to_string()),
        }
    }
}

/// What a name stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// One SQL value per main row: a column or a scalar subquery.
    Scalar(String),
    /// Zero or more values per main row: a `SELECT ... AS v ...` subquery.
    Many(String),
    /// A value known before the query runs (`@request.*`).
    Value(Value),
    /// Several values known before the query runs, compared like a
    /// multi-valued field (Cairn's `@request.auth.roles`).
    Values(Vec<Value>),
}

/// Why an expression could not be compiled (the caller answers 400).
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

/// Gives names their meaning. Implemented by the store.
pub trait Resolver {
    /// Resolves an identifier. `params` receives any values the SQL needs
    /// (for example a JSON path); use [`Params::bind`] to get their
    /// placeholders.
    fn resolve(&mut self, ident: &Ident, params: &mut Params) -> Result<Source, CompileError>;
    /// Resolves an identifier used with an any-of (`?`) operator. Resolvers
    /// may answer with a column of a *shared* join here (see
    /// [`Resolver::shared_joins`]), so that several `?` conditions on the
    /// same `@collection` see the same row. Defaults to [`Resolver::resolve`].
    fn resolve_any(&mut self, ident: &Ident, params: &mut Params) -> Result<Source, CompileError> {
        self.resolve(ident, params)
    }
    /// `FROM` items the whole expression ranges over (left-joined), from
    /// [`Resolver::resolve_any`].
    fn shared_joins(&self) -> Vec<String> {
        Vec::new()
    }
    /// The expression saved as policy `name` (Cairn's `@policy.NAME`).
    fn policy(&self, name: &str) -> Result<std::sync::Arc<Expr>, CompileError> {
        Err(CompileError(format!("unknown policy {name:?}")))
    }
    /// The current time as PocketBase's datetime string (for macros).
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
    /// The SQL dialect the expression is compiled for.
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

/// Parameters collected while compiling; placeholders are the dialect's
/// (`?N` / `$N`), numbered from `first`.
#[derive(Debug, Clone)]
pub struct Params {
    first: usize,
    /// How placeholders and the compiler's own SQL are spelled.
    pub dialect: Dialect,
    pub values: Vec<Param>,
    joins: usize,
    /// Conditions the current comparison additionally requires.
    pub guards: Vec<String>,
    /// Policies being expanded, outermost first (cycle guard).
    policies: Vec<String>,
    /// Spell JSON paths built from validated names as SQL literals instead
    /// of parameters: a sort expression (`sort=meta.a`) is placed in the
    /// `ORDER BY` after the filter's parameters, so it must bind none.
    pub inline_paths: bool,
    /// PostgreSQL only: the types of values the resolver emitted
    /// ([`Params::note`], `typed.rs`).
    pub types: Vec<(String, super::typed::Typed)>,
}

impl Params {
    /// SQLite placeholders from `?first`.
    pub fn new(first: usize) -> Self {
        Self::for_dialect(first, Dialect::Sqlite)
    }

    /// Placeholders of `dialect`, from number `first`.
    pub fn for_dialect(first: usize, dialect: Dialect) -> Self {
        Self {
            first,
            dialect,
            values: Vec::new(),
            joins: 0,
            guards: Vec::new(),
            policies: Vec::new(),
            inline_paths: false,
            types: Vec::new(),
        }
    }

    /// A JSONPath (`$."a"[0]`) as SQL: a parameter, or with
    /// [`Params::inline_paths`] a literal when it holds only name characters.
    pub fn json_path(&mut self, path: String) -> String {
        let plain = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"$._\"[]".contains(&b));
        if self.inline_paths && plain {
            format!("'{path}'")
        } else {
            self.bind(Param::Text(path))
        }
    }

    /// Binds a value and returns its placeholder.
    pub fn bind(&mut self, p: Param) -> String {
        self.values.push(p);
        self.dialect.placeholder(self.first + self.values.len() - 1)
    }

    /// The value bound at `side`, when the side is just its placeholder.
    pub(super) fn value_at(&self, side: &Side) -> Option<&Param> {
        let Side::Sql(s) = side else { return None };
        let n: usize = s
            .strip_prefix('$')
            .or_else(|| s.strip_prefix('?'))?
            .parse()
            .ok()?;
        self.values.get(n.checked_sub(self.first)?)
    }

    /// A fresh alias for a joined table; errors past `MAX_JOINS`.
    pub fn alias(&mut self) -> Result<String, CompileError> {
        self.joins += 1;
        if self.joins > limits::MAX_JOINS {
            return Err(CompileError("too many joined relations".into()));
        }
        Ok(format!("_j{}", self.joins))
    }
}

/// Compiled SQL plus its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Param>,
}

/// Compiles `expr` to a boolean SQL expression.
pub fn compile(
    expr: &Expr,
    resolver: &mut dyn Resolver,
    first_param: usize,
) -> Result<Compiled, CompileError> {
    let d = resolver.dialect();
    let mut params = Params::for_dialect(first_param, d);
    let mut sql = expr_sql(expr, resolver, &mut params)?;
    let joins = resolver.shared_joins();
    if !joins.is_empty() {
        // Like PocketBase's LEFT JOINs: the expression holds if it holds for
        // some combination of joined rows (or for none, when a table is empty).
        let on = d.bool_lit(true);
        let from: String = joins
            .iter()
            .map(|j| format!(" LEFT JOIN {j} ON {on}"))
            .collect();
        sql = format!("EXISTS (SELECT 1 FROM (SELECT 1) AS _d{from} WHERE {sql})");
    }
    Ok(Compiled {
        sql,
        params: params.values,
    })
}

fn expr_sql(e: &Expr, r: &mut dyn Resolver, p: &mut Params) -> Result<String, CompileError> {
    Ok(match e {
        Expr::And(a, b) => format!("({} AND {})", expr_sql(a, r, p)?, expr_sql(b, r, p)?),
        Expr::Or(a, b) => format!("({} OR {})", expr_sql(a, r, p)?, expr_sql(b, r, p)?),
        Expr::Cmp { left, op, right } => cmp_sql(left, *op, right, r, p)?,
        Expr::Policy(name) => {
            if p.policies.iter().any(|n| n == name) || p.policies.len() >= MAX_POLICY_DEPTH {
                return Err(CompileError(format!(
                    "policy cycle or nesting too deep at {name:?}"
                )));
            }
            let expr = r.policy(name)?;
            p.policies.push(name.clone());
            let sql = expr_sql(&expr, r, p);
            p.policies.pop();
            format!("({})", sql?)
        }
    })
}

/// Deepest chain of policies referencing policies.
pub const MAX_POLICY_DEPTH: usize = 16;

/// An operand turned into SQL or a set of values.
pub(super) enum Side {
    Sql(String),
    Many(String),
    /// A literal `null` (PocketBase treats it like an empty value).
    Null,
    /// A ready `LIKE` pattern (already wrapped and escaped).
    Pattern(String),
}

fn operand(
    o: &Operand,
    any: bool,
    r: &mut dyn Resolver,
    p: &mut Params,
) -> Result<Side, CompileError> {
    Ok(match o {
        Operand::Null => Side::Null,
        Operand::Str(s) => Side::Sql(p.bind(Param::Text(s.clone()))),
        // A float, as PocketBase binds it (`name = 10` compares with '10.0').
        Operand::Num(n) => Side::Sql(p.bind(Param::Real(*n))),
        Operand::Bool(b) => Side::Sql(p.bind(Param::Int(i64::from(*b)))),
        Operand::Macro(m) => Side::Sql(p.bind(macro_param(*m, r.now()))),
        Operand::Ident(id) => match if any {
            r.resolve_any(id, p)?
        } else {
            r.resolve(id, p)?
        } {
            Source::Scalar(sql) => Side::Sql(sql),
            Source::Many(sql) => Side::Many(sql),
            Source::Value(Value::Null) => Side::Null,
            Source::Value(v) => Side::Sql(p.bind(Param::from_json(&v))),
            Source::Values(list) => values_side(list, p),
        },
        Operand::Func(f) => Side::Sql(func_sql(f, r, p)?),
    })
}

fn scalar(side: Side, what: &str) -> Result<String, CompileError> {
    match side {
        Side::Sql(s) | Side::Pattern(s) => Ok(s),
        Side::Null => Ok("NULL".into()),
        Side::Many(_) => Err(CompileError(format!(
            "{what} must be a single value, not a multi-valued reference"
        ))),
    }
}

fn func_sql(f: &Func, r: &mut dyn Resolver, p: &mut Params) -> Result<String, CompileError> {
    match f {
        Func::Strftime(args) => {
            let mut parts = Vec::with_capacity(args.len());
            for a in args {
                parts.push(scalar(operand(a, false, r, p)?, "strftime argument")?);
            }
            Ok(p.dialect.strftime(&parts.join(", ")))
        }
        Func::GeoDistance(args) => {
            let mut v = Vec::with_capacity(4);
            for a in args {
                v.push(scalar(operand(a, false, r, p)?, "geoDistance argument")?);
            }
            let [lon1, lat1, lon2, lat2] = v.as_slice() else {
                return Err(CompileError("geoDistance takes 4 arguments".into()));
            };
            // Kilometres, by a function the store registers on every connection.
            Ok(format!(
                "cairn_geo_distance({lon1}, {lat1}, {lon2}, {lat2})"
            ))
        }
    }
}

/// `a OP b` for two scalar SQL values, with PocketBase's semantics.
fn scalar_cmp(d: Dialect, a: &Side, op: Op, b: &Side) -> String {
    let (a_sql, b_sql) = (side_sql(a), side_sql(b));
    match (op.base(), a, b) {
        (Op::Eq, Side::Null, Side::Null) => d.bool_lit(true).into(),
        (Op::Neq, Side::Null, Side::Null) => d.bool_lit(false).into(),
        (Op::Eq, x, Side::Null) | (Op::Eq, Side::Null, x) => d.is_empty(&side_sql(x)),
        (Op::Neq, x, Side::Null) | (Op::Neq, Side::Null, x) => d.is_not_empty(&side_sql(x)),
        (Op::Eq, ..) => (d.eq_value(&a_sql, &b_sql))
            .or_else(|| d.eq_value(&b_sql, &a_sql))
            .unwrap_or_else(|| format!("({a_sql} {} {b_sql})", d.is(false))),
        (Op::Neq, ..) => format!("({a_sql} {} {b_sql})", d.is(true)),
        (Op::Gt, ..) => format!("({a_sql} > {b_sql})"),
        (Op::Gte, ..) => format!("({a_sql} >= {b_sql})"),
        (Op::Lt, ..) => format!("({a_sql} < {b_sql})"),
        (Op::Lte, ..) => format!("({a_sql} <= {b_sql})"),
        (Op::Like | Op::NotLike, ..) => {
            let pattern = match b {
                Side::Pattern(p) => p.clone(),
                _ => like_pattern(d, b_sql),
            };
            let like = d.like(op.base() == Op::NotLike);
            let a_sql = d.as_text(&a_sql);
            format!("({a_sql} {like} {pattern} ESCAPE '\\')")
        }
        // `base()` never returns an any-of operator.
        _ => d.bool_lit(false).into(),
    }
}

fn side_sql(s: &Side) -> String {
    match s {
        Side::Sql(x) | Side::Many(x) | Side::Pattern(x) => x.clone(),
        Side::Null => "NULL".into(),
    }
}

/// `~` wraps its operand in `%...%` unless it already holds a `%`. Done in
/// SQL, so it works the same for bound literals and for columns.
fn like_pattern(d: Dialect, b: String) -> String {
    let instr = d.instr(&b, "'%'");
    format!("(CASE WHEN {instr} > 0 THEN {b} ELSE '%' || {b} || '%' END)")
}

fn cmp_sql(
    left: &Operand,
    op: Op,
    right: &Operand,
    r: &mut dyn Resolver,
    p: &mut Params,
) -> Result<String, CompileError> {
    let guards_before = p.guards.len();
    let cmp = if matches!(op.base(), Op::Eq | Op::Neq)
        && let Some(a) = known(left, op.is_any(), r, p)?
    {
        match known(right, op.is_any(), r, p)? {
            Some(b) => match fold(&a, op, &b) {
                // Request values compared with each other are decided
                // here: the query carries a constant, not a per-row test.
                Some(v) => p.dialect.bool_lit(v).to_owned(),
                None => {
                    let a = a.into_side(p);
                    let b = b.into_side(p);
                    cmp_values(p, a, op, b)
                }
            },
            None => {
                let b = operand(right, op.is_any(), r, p)?;
                let a = a.into_side(p);
                cmp_values(p, a, op, b)
            }
        }
    } else {
        let a = operand(left, op.is_any(), r, p)?;
        if matches!(op.base(), Op::Like | Op::NotLike) {
            let b = like_operand(right, r, p)?;
            cmp_sides(p.dialect, a, op, b)
        } else {
            let b = operand(right, op.is_any(), r, p)?;
            cmp_values(p, a, op, b)
        }
    };
    // Conditions a resolver attached to names in this comparison (e.g. "only
    // when the email is visible") must hold for it to hold.
    let guards: Vec<String> = p.guards.drain(guards_before..).collect();
    Ok(if guards.is_empty() {
        cmp
    } else {
        format!("({} AND {cmp})", guards.join(" AND "))
    })
}

/// `cmp_sides`, with SQLite's type rules on PostgreSQL: two bound values
/// compared with each other carry their types (with no column beside them
/// PostgreSQL would take both as text, and `7 <= 20` would compare as
/// strings), and typed values are rewritten by [`super::typed::retype`].
fn cmp_values(p: &Params, a: Side, op: Op, b: Side) -> String {
    if let Some(sql) = super::typed::json_null(p, op, &a, &b) {
        return sql;
    }
    let (a, b) = match (p.dialect, p.value_at(&a), p.value_at(&b)) {
        (Dialect::Postgres, Some(x), Some(y)) => (typed(a, x), typed(b, y)),
        _ => super::typed::retype(p, op, a, b),
    };
    cmp_sides(p.dialect, a, op, b)
}

fn typed(side: Side, value: &Param) -> Side {
    match (side, value) {
        (Side::Sql(s), Param::Int(_) | Param::Real(_)) => {
            Side::Sql(format!("CAST({s} AS DOUBLE PRECISION)"))
        }
        (side, _) => side,
    }
}

/// The right side of `~`: literal and request strings get PocketBase's
/// treatment (escape `\`, `%`, `_` and wrap in `%...%`, unless the value has
/// an unescaped `%`); columns are wrapped in SQL.
fn like_operand(o: &Operand, r: &mut dyn Resolver, p: &mut Params) -> Result<Side, CompileError> {
    let text = match o {
        Operand::Str(s) => Some(s.clone()),
        Operand::Num(n) => Some(crate::schema::value::number(*n).to_string()),
        Operand::Ident(id) => match r.resolve(id, p)? {
            Source::Value(Value::String(s)) => Some(s),
            Source::Value(Value::Null) => Some(String::new()),
            Source::Value(v) => Some(v.to_string()),
            Source::Scalar(sql) => return Ok(Side::Sql(like_pattern(p.dialect, sql))),
            Source::Many(sql) => return Ok(Side::Many(sql)),
            Source::Values(list) => return Ok(values_side(list, p)),
        },
        _ => None,
    };
    match text {
        Some(s) => Ok(Side::Pattern(p.bind(Param::Text(wrap_like(&s))))),
        None => operand(o, false, r, p),
    }
}

/// PocketBase's `wrapLikeParams`.
pub fn wrap_like(s: &str) -> String {
    if has_unescaped(s, '%') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 4);
    out.push('%');
    let mut escaped = false;
    for ch in s.chars() {
        if escaped {
            out.push(ch);
            escaped = false;
            continue;
        }
        match ch {
            '\\' => {
                out.push(ch);
                escaped = true;
            }
            '%' | '_' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    if escaped {
        out.push('\\');
    }
    out.push('%');
    out
}

fn has_unescaped(s: &str, target: char) -> bool {
    let mut escaped = false;
    for ch in s.chars() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == target {
            return true;
        }
    }
    false
}

pub(super) fn cmp_sides(d: Dialect, a: Side, op: Op, b: Side) -> String {
    if !matches!(a, Side::Many(_)) && !matches!(b, Side::Many(_)) {
        return scalar_cmp(d, &a, op, &b);
    }
    // Rows to range over: each multi-valued side becomes a FROM item whose
    // value takes that side's place in the condition.
    let mut from = Vec::new();
    // (alias of the value, alias of the derived table PostgreSQL requires)
    let mut bind_side = |s: Side, (alias, inner): (&str, &str)| match s {
        Side::Many(sql) => {
            let values = d.derived(&sql, inner);
            from.push(format!(
                "(SELECT v FROM {values} UNION ALL SELECT NULL WHERE NOT EXISTS ({sql})) AS {alias}"
            ));
            Side::Sql(format!("{alias}.v"))
        }
        other => other,
    };
    let a = bind_side(a, ("_m", "_ms"));
    let b = bind_side(b, ("_n", "_ns"));
    many_cmp(d, &from.join(", "), op, &a, &b)
}

/// Comparisons over multi-valued sources, like PocketBase's LEFT JOINs: an
/// empty set counts as one NULL value. `?` operators hold when some value
/// matches; plain operators when every value does.
fn many_cmp(d: Dialect, from: &str, op: Op, a: &Side, b: &Side) -> String {
    let cond = scalar_cmp(d, a, op, b);
    let rows = format!("SELECT 1 FROM {from}");
    if op.is_any() {
        format!("EXISTS ({rows} WHERE {cond})")
    } else {
        format!("NOT EXISTS ({rows} WHERE NOT {})", d.coalesce_false(&cond))
    }
}

/// A datetime macro as a bound parameter.
fn macro_param(m: Macro, now: time::OffsetDateTime) -> Param {
    use time::{Duration, Time};
    let fmt = crate::schema::datetime::format;
    let midnight = now.replace_time(Time::MIDNIGHT);
    let month_start = midnight.replace_day(1).unwrap_or(midnight);
    let year_start = month_start
        .replace_month(time::Month::January)
        .unwrap_or(month_start);
    // The last millisecond before `next`.
    let end_of = |next: time::OffsetDateTime| fmt(next - Duration::milliseconds(1));
    match m {
        Macro::Now => Param::Text(fmt(now)),
        Macro::Second => Param::Int(i64::from(now.second())),
        Macro::Minute => Param::Int(i64::from(now.minute())),
        Macro::Hour => Param::Int(i64::from(now.hour())),
        Macro::Weekday => Param::Int(i64::from(now.weekday().number_days_from_sunday())),
        Macro::Day => Param::Int(i64::from(now.day())),
        Macro::Month => Param::Int(i64::from(u8::from(now.month()))),
        Macro::Year => Param::Int(i64::from(now.year())),
        Macro::TodayStart => Param::Text(fmt(midnight)),
        Macro::TodayEnd => Param::Text(end_of(midnight + Duration::days(1))),
        Macro::MonthStart => Param::Text(fmt(month_start)),
        Macro::MonthEnd => {
            let next = if now.month() == time::Month::December {
                month_start
                    .replace_year(now.year() + 1)
                    .and_then(|d| d.replace_month(time::Month::January))
                    .unwrap_or(month_start)
            } else {
                month_start
                    .replace_month(now.month().next())
                    .unwrap_or(month_start)
            };
            Param::Text(end_of(next))
        }
        Macro::YearStart => Param::Text(fmt(year_start)),
        Macro::YearEnd => Param::Text(end_of(
            year_start
                .replace_year(now.year() + 1)
                .unwrap_or(year_start),
        )),
        Macro::Yesterday => Param::Text(fmt(now - Duration::days(1))),
        Macro::Tomorrow => Param::Text(fmt(now + Duration::days(1))),
    }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
