//! Filter and sort over a fixed set of columns: the collections list and
//! the request logs (PocketBase's "simple field resolver").
//!
//! Tables that are not collections still take the filter language in
//! `filter` and `-a,b` in `sort`; only the listed columns (and, when a JSON
//! column is named, any `col.path` inside it) may appear. Everything else is
//! a compile error, which the API answers with 400.

use crate::filter::ast::Ident;
use crate::filter::compile::{CompileError, Compiled, Param, Params, Resolver, Source};

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Db, Row, Val};

/// Longest `sort` list accepted.
pub const MAX_SORT_FIELDS: usize = 8;

/// The names a table exposes to `filter` and `sort`.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Plain columns, filterable and sortable by their own name.
    pub columns: &'static [&'static str],
    /// A JSON column whose keys are reachable as `col.a.b`.
    pub json: Option<&'static str>,
}

struct Simple(Fields, Dialect);

/// `data.a.b` → `$.a.b` (each part a plain word or an array index).
fn json_path(parts: &[String]) -> Result<String, CompileError> {
    let mut path = String::from("$");
    for p in parts {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(CompileError(format!("invalid JSON path part {p:?}")));
        }
        if p.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{p}]"));
        } else {
            path.push('.');
            path.push_str(p);
        }
    }
    Ok(path)
}

impl Simple {
    fn column(&self, ident: &Ident, p: &mut Params) -> Result<String, CompileError> {
        let first = ident.parts.first().map(String::as_str).unwrap_or_default();
        if ident.parts.len() == 1
            && let Some(c) = self.0.columns.iter().find(|c| **c == first)
        {
            return Ok(format!("\"{c}\""));
        }
        match self.0.json {
            Some(j) if j == first && ident.parts.len() > 1 => {
                let path = p.bind(Param::Text(json_path(&ident.parts[1..])?));
                Ok(self.1.json_extract(&format!("\"{j}\""), &path))
            }
            Some(j) if j == first => Ok(format!("\"{j}\"")),
            _ => Err(CompileError(format!("unknown field {:?}", ident.parts))),
        }
    }
}

impl Resolver for Simple {
    fn dialect(&self) -> Dialect {
        self.1
    }

    fn resolve(&mut self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
        use crate::filter::ast::Modifier;
        let col = self.column(ident, p)?;
        match ident.modifier {
            None => Ok(Source::Scalar(col)),
            Some(Modifier::Lower) => Ok(Source::Scalar(format!("LOWER({col})"))),
            Some(m) => Err(CompileError(format!(
                "modifier :{} not supported",
                m.as_str()
            ))),
        }
    }
}

/// Compiles `filter` (empty = no condition) with parameters from `?1`.
pub fn compile_filter(fields: Fields, filter: &str) -> Result<Option<Compiled>, CompileError> {
    compile_filter_in(Dialect::Sqlite, fields, filter)
}

/// [`compile_filter`] for `dialect`.
pub fn compile_filter_in(
    dialect: Dialect,
    fields: Fields,
    filter: &str,
) -> Result<Option<Compiled>, CompileError> {
    if filter.trim().is_empty() {
        return Ok(None);
    }
    let expr = crate::filter::parse(filter).map_err(|e| CompileError(e.to_string()))?;
    crate::filter::compile::compile(&expr, &mut Simple(fields, dialect), 1).map(Some)
}

/// `-a,b,@random` → `ORDER BY` terms (without the keyword); `first` is the
/// first parameter number the terms may bind (JSON paths).
pub fn order_by(
    fields: Fields,
    sort: &str,
    first: usize,
) -> Result<(Vec<String>, Vec<Param>), CompileError> {
    order_by_in(Dialect::Sqlite, fields, sort, first)
}

/// [`order_by`] for `dialect`.
pub fn order_by_in(
    d: Dialect,
    fields: Fields,
    sort: &str,
    first: usize,
) -> Result<(Vec<String>, Vec<Param>), CompileError> {
    let mut terms = Vec::new();
    let mut params = Params::for_dialect(first, d);
    for part in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if terms.len() >= MAX_SORT_FIELDS {
            return Err(CompileError("too many sort fields".into()));
        }
        let (desc, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        let expr = match name {
            "@random" => d.random().to_owned(),
            "@rowid" => d.rowid().to_owned(),
            _ => {
                let ident = Ident {
                    parts: name.split('.').map(str::to_owned).collect(),
                    alias: None,
                    modifier: None,
                };
                Simple(fields, d).column(&ident, &mut params)?
            }
        };
        terms.push(d.order_term(&expr, desc));
    }
    Ok((terms, params.values))
}

/// A page of rows from `table`: `select` columns, the compiled filter, the
/// sort terms (then `tiebreak`), and the total when asked for.
pub struct Page<'a> {
    pub table: &'a str,
    pub select: &'a str,
    pub filter: Option<&'a Compiled>,
    pub order: &'a [String],
    pub order_params: &'a [Param],
    pub tiebreak: &'a str,
    pub limit: i64,
    pub offset: i64,
    pub count: bool,
}

/// Runs a [`Page`]; `map` turns each row into a value. Returns the rows and
/// the total (-1 when not counted).
pub fn page<T>(
    db: &dyn Db,
    q: &Page<'_>,
    map: impl FnMut(&dyn Row) -> Result<T, StoreError>,
) -> Result<(Vec<T>, i64), StoreError> {
    let (cond, mut params): (String, Vec<Val<'_>>) = match q.filter {
        Some(f) => (
            format!("WHERE {}", f.sql),
            f.params.iter().map(Val::from).collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    let total = if q.count {
        let sql = format!("SELECT COUNT(*) FROM {} {cond}", q.table);
        db.row(&sql, &params, |r| r.int(0))?.unwrap_or(0)
    } else {
        -1
    };
    let mut order: Vec<String> = q.order.to_vec();
    if !q.tiebreak.is_empty() {
        order.push(q.tiebreak.to_owned());
    }
    let order = if order.is_empty() {
        String::new()
    } else {
        format!("ORDER BY {}", order.join(", "))
    };
    params.extend(q.order_params.iter().map(Val::from));
    // LIMIT and OFFSET as literals (integers): bound ones make SQLite
    // re-prepare the statement on every run (docs/performance.md).
    // A negative limit means none: SQLite's `LIMIT -1`, PostgreSQL's `ALL`.
    let limit = match (q.limit < 0, db.dialect()) {
        (true, Dialect::Postgres) => "ALL".to_owned(),
        (true, Dialect::Sqlite) => "-1".to_owned(),
        (false, _) => q.limit.to_string(),
    };
    let sql = format!(
        "SELECT {} FROM {} {cond} {order} LIMIT {limit} OFFSET {}",
        q.select,
        q.table,
        q.offset.max(0)
    );
    Ok((db.rows(&sql, &params, map)?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Fields = Fields {
        columns: &["id", "level"],
        json: Some("data"),
    };

    #[test]
    fn compiles_columns_and_json_paths_only() {
        let c = compile_filter(F, "level > 2 && data.status >= 400")
            .expect("ok")
            .expect("some");
        assert!(c.sql.contains("json_extract(\"data\", ?"), "{}", c.sql);
        assert!(c.params.contains(&Param::Text("$.status".into())));
        assert!(compile_filter(F, "nope = 1").is_err());
        assert!(compile_filter(F, "@request.auth.id = ''").is_err());
        assert!(compile_filter(F, "data.a'b = 1").is_err());
        assert!(compile_filter(F, "").expect("ok").is_none());
    }

    #[test]
    fn sort_terms() {
        let (t, p) = order_by(F, "-level,data.url,@random", 3).expect("ok");
        assert_eq!(t[0], "\"level\" DESC");
        assert_eq!(t[1], "json_extract(\"data\", ?3) ASC");
        assert_eq!(t[2], "RANDOM() ASC");
        assert_eq!(p, vec![Param::Text("$.url".into())]);
        assert!(order_by(F, "bogus", 1).is_err());
    }
}
