//! View collections: the `viewQuery` is parsed with sqlparser (SQLite
//! dialect) and must be exactly one read-only `SELECT` (CTEs allowed). The
//! SQL that runs is re-printed from the parsed tree, never the submitted text.

use sqlparser::ast::{
    DataType, Expr, FunctionArguments, ObjectName, Query, SelectItem, SetExpr, Statement,
    TableFactor, Visit, Visitor, visit_expressions_mut,
};
use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Tables a view may not read: SQLite's own and Cairn's internal ones.
fn forbidden_table(name: &str) -> bool {
    let n = name.trim_matches(['"', '`', '[', ']']).to_ascii_lowercase();
    n.starts_with("sqlite_")
        || n.starts_with("pragma_")
        || matches!(
            n.as_str(),
            "_collections" | "_params" | "_changes" | "_migrations" | "_sessions"
        )
}

/// Functions a view may not call.
fn forbidden_function(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("load_extension") || n.starts_with("readfile") || n.starts_with("writefile")
}

struct Check(Option<String>);

impl Visitor for Check {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let name = relation.to_string();
        let last = name.rsplit('.').next().unwrap_or(&name).to_owned();
        if forbidden_table(&last) || name.contains('.') {
            self.0 = Some(format!("the view may not read {name}"));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let name = f.name.to_string();
            if forbidden_function(&name) {
                self.0 = Some(format!("the function {name} is not allowed"));
                return ControlFlow::Break(());
            }
            if let FunctionArguments::Subquery(_) = f.args {
                // Fine: visited like any other query.
            }
        }
        ControlFlow::Continue(())
    }
}

/// What the outer SELECT says about a result column, for type inference.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnHint {
    /// `COUNT(...)`: an integer.
    Count,
    /// `TOTAL(...)`: a float.
    Total,
    /// `CAST(... AS REAL|NUMERIC|INTEGER|INT)`.
    CastNumber {
        only_int: bool,
    },
    CastText,
    CastBool,
    /// A plain column reference (`alias.column` resolved to its table when
    /// the FROM clause names it): its origin decides.
    Column {
        table: Option<String>,
        column: String,
    },
    /// Any other expression.
    Expr,
}

/// A checked view query.
#[derive(Debug, Clone)]
pub struct ParsedView {
    /// The SQL to run, re-printed from the parsed tree.
    pub sql: String,
    /// Output column name (lower-cased) -> hint.
    pub hints: Vec<(String, ColumnHint)>,
    query: Box<Query>,
}

impl ParsedView {
    /// The query for a PostgreSQL store. Users write PocketBase's (SQLite's)
    /// SQL, so SQLite's functions and types that PostgreSQL lacks become
    /// their PostgreSQL equivalents: `TOTAL(x)` a float sum that is 0 over no
    /// rows, `IFNULL` `COALESCE`, `GROUP_CONCAT` `string_agg`, `REAL` a
    /// double. Everything else is standard SQL both engines run, or an error
    /// from PostgreSQL naming what it does not know.
    pub fn postgres_sql(&self) -> String {
        let mut q = self.query.clone();
        let _ = visit_expressions_mut(q.as_mut(), |e| {
            if let Some(new) = postgres_expr(e) {
                *e = new;
            }
            ControlFlow::<()>::Continue(())
        });
        q.to_string()
    }
}

/// A PostgreSQL replacement for one SQLite-only expression, if it is one.
fn postgres_expr(e: &Expr) -> Option<Expr> {
    let text = match e {
        Expr::Cast {
            data_type: DataType::Real,
            ..
        } => {
            let mut e = e.clone();
            if let Expr::Cast { data_type, .. } = &mut e {
                *data_type = DataType::DoublePrecision;
            }
            return Some(e);
        }
        Expr::Function(f) => {
            let FunctionArguments::List(list) = &f.args else {
                return None;
            };
            let args: Vec<String> = list.args.iter().map(ToString::to_string).collect();
            match (
                f.name.to_string().to_ascii_lowercase().as_str(),
                args.as_slice(),
            ) {
                ("total", [x]) => format!("CAST(COALESCE(SUM({x}), 0) AS DOUBLE PRECISION)"),
                ("ifnull", [a, b]) => format!("COALESCE({a}, {b})"),
                ("group_concat", [x]) => format!("string_agg(CAST({x} AS TEXT), ',')"),
                ("group_concat", [x, sep]) => format!("string_agg(CAST({x} AS TEXT), {sep})"),
                _ => return None,
            }
        }
        _ => return None,
    };
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// Parses and checks a view query. Errors are PocketBase's messages after
/// "Invalid query - ".
pub fn parse(sql: &str) -> Result<ParsedView, String> {
    let trimmed = sql.trim().trim_end_matches(';').trim();
    if trimmed.is_empty() {
        return Err("the view query is empty".into());
    }
    let stmts = Parser::parse_sql(&SQLiteDialect {}, trimmed).map_err(|e| e.to_string())?;
    if stmts.len() > 1 {
        return Err("multiple statements are not supported".into());
    }
    let [Statement::Query(q)] = stmts.as_slice() else {
        return Err("only SELECT queries are allowed".into());
    };
    check_query(q)?;
    let mut hints = Vec::new();
    if let SetExpr::Select(sel) = q.body.as_ref() {
        // alias (or table name) -> table name, from the FROM clause.
        let mut aliases: Vec<(String, String)> = Vec::new();
        for twj in &sel.from {
            for tf in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
                if let TableFactor::Table { name, alias, .. } = tf {
                    let table = name.to_string().trim_matches(['"', '`']).to_owned();
                    if let Some(a) = alias {
                        aliases.push((a.name.value.clone(), table.clone()));
                    }
                    aliases.push((table.clone(), table));
                }
            }
        }
        for item in &sel.projection {
            let (name, expr) = match item {
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    return Err("wildcard columns (*) are not supported - manually type the collection field names you want the view query to have".into());
                }
                SelectItem::ExprWithAlias { expr, alias } => (alias.value.clone(), expr),
                SelectItem::UnnamedExpr(expr) => {
                    let name = match expr {
                        Expr::Identifier(i) => i.value.clone(),
                        Expr::CompoundIdentifier(parts) => {
                            parts.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        other => other.to_string(),
                    };
                    (name, expr)
                }
                _ => continue,
            };
            let mut h = hint(expr);
            if let ColumnHint::Column { table, .. } = &mut h
                && let Some(t) = table.as_mut()
                && let Some(real) = aliases.iter().find(|(a, _)| a.eq_ignore_ascii_case(t))
            {
                *t = real.1.clone();
            }
            hints.push((name.to_lowercase(), h));
        }
    }
    Ok(ParsedView {
        sql: q.to_string(),
        hints,
        query: q.clone(),
    })
}

fn hint(e: &Expr) -> ColumnHint {
    match e {
        Expr::Identifier(i) => ColumnHint::Column {
            table: None,
            column: i.value.clone(),
        },
        Expr::CompoundIdentifier(parts) => ColumnHint::Column {
            table: parts.iter().rev().nth(1).map(|i| i.value.clone()),
            column: parts.last().map(|i| i.value.clone()).unwrap_or_default(),
        },
        Expr::Nested(inner) => hint(inner),
        Expr::Function(f) => match f.name.to_string().to_ascii_uppercase().as_str() {
            "COUNT" => ColumnHint::Count,
            "TOTAL" => ColumnHint::Total,
            _ => ColumnHint::Expr,
        },
        Expr::Cast { data_type, .. } => {
            let t = data_type.to_string().to_ascii_uppercase();
            match data_type {
                DataType::Real
                | DataType::Numeric(_)
                | DataType::Float(_)
                | DataType::Double(_) => ColumnHint::CastNumber { only_int: false },
                DataType::Int(_) | DataType::Integer(_) | DataType::BigInt(_) => {
                    ColumnHint::CastNumber { only_int: true }
                }
                DataType::Text | DataType::Varchar(_) | DataType::String(_) => ColumnHint::CastText,
                DataType::Boolean | DataType::Bool => ColumnHint::CastBool,
                _ if t.starts_with("INT") => ColumnHint::CastNumber { only_int: true },
                _ if t == "TEXT" => ColumnHint::CastText,
                _ => ColumnHint::Expr,
            }
        }
        _ => ColumnHint::Expr,
    }
}

fn check_query(q: &Query) -> Result<(), String> {
    let mut check = Check(None);
    let _ = q.visit(&mut check);
    match check.0 {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_selects_and_ctes() {
        let v = parse("SELECT id, title, count(x) AS n, CAST(y AS INTEGER) i FROM posts").unwrap();
        assert_eq!(v.hints[2], ("n".into(), ColumnHint::Count));
        assert_eq!(
            v.hints[3],
            ("i".into(), ColumnHint::CastNumber { only_int: true })
        );
        assert!(parse("WITH x AS (SELECT id FROM posts) SELECT id FROM x;").is_ok());
        assert!(parse("select p.id, count(c.id) as n from posts p left join comments c on c.post = p.id group by p.id").is_ok());
    }

    #[test]
    fn sqlite_functions_become_postgres_ones() {
        let v = parse(
            "SELECT a.id, TOTAL(p.views) AS t, ifnull(a.name, 'x') AS n, \
             group_concat(p.title) AS g, group_concat(p.title, '; ') AS g2, \
             CAST(p.views AS REAL) AS r, count(p.id) AS c \
             FROM authors a LEFT JOIN posts p ON p.author = a.id GROUP BY a.id",
        )
        .unwrap();
        let pg = v.postgres_sql();
        for want in [
            "CAST(COALESCE(SUM(p.views), 0) AS DOUBLE PRECISION) AS t",
            "COALESCE(a.name, 'x') AS n",
            "string_agg(CAST(p.title AS TEXT), ',') AS g",
            "string_agg(CAST(p.title AS TEXT), '; ') AS g2",
            "CAST(p.views AS DOUBLE PRECISION) AS r",
            "count(p.id) AS c",
        ] {
            assert!(pg.contains(want), "{want} in {pg}");
        }
        // SQLite's text is untouched, and hints come from what was written.
        assert!(v.sql.contains("TOTAL(p.views)"));
        assert_eq!(v.hints[1], ("t".into(), ColumnHint::Total));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "DELETE FROM posts",
            "SELECT 1; DROP TABLE posts",
            "ATTACH 'x.db' AS x",
            "PRAGMA table_info(posts)",
            "SELECT * FROM sqlite_master",
            "SELECT * FROM _params",
            "SELECT load_extension('x')",
            "SELECT * FROM other.posts",
            "INSERT INTO posts VALUES (1)",
            "SELECT * FROM posts",
            "SELECT p.* FROM posts p",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
