//! Collection indexes: PocketBase stores them as `CREATE INDEX` strings.
//!
//! We never run the submitted text. It is parsed with sqlparser, checked
//! (only column names of this collection, an optional COLLATE and sort order,
//! and a WHERE clause of comparisons between columns and literals), and the
//! SQL that runs is regenerated from the parsed parts.

use sqlparser::ast::{
    BinaryOperator, Expr, OrderBySort, Statement, UnaryOperator, Value as SqlValue,
};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::names::quote_ident;

/// One indexed column.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexColumn {
    pub name: String,
    pub collate: Option<String>,
    pub desc: bool,
}

/// A checked index definition.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    pub columns: Vec<IndexColumn>,
    /// The partial-index predicate, already checked and re-printed.
    pub predicate: Option<String>,
}

/// Why an index was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexError {
    Syntax,
    UnknownColumn(String),
}

fn word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_predicate(e: &Expr, has_column: &dyn Fn(&str) -> bool) -> Result<(), IndexError> {
    match e {
        Expr::Identifier(id) => {
            if word(&id.value) && has_column(&id.value) {
                Ok(())
            } else {
                Err(IndexError::UnknownColumn(id.value.clone()))
            }
        }
        Expr::Value(v) => match &v.value {
            SqlValue::Number(..)
            | SqlValue::SingleQuotedString(_)
            | SqlValue::Boolean(_)
            | SqlValue::Null => Ok(()),
            _ => Err(IndexError::Syntax),
        },
        Expr::BinaryOp { left, op, right } => {
            use BinaryOperator::*;
            if !matches!(op, Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or) {
                return Err(IndexError::Syntax);
            }
            check_predicate(left, has_column)?;
            check_predicate(right, has_column)
        }
        Expr::UnaryOp {
            op: UnaryOperator::Not | UnaryOperator::Minus,
            expr,
        } => check_predicate(expr, has_column),
        Expr::IsNull(x) | Expr::IsNotNull(x) | Expr::Nested(x) => check_predicate(x, has_column),
        _ => Err(IndexError::Syntax),
    }
}

/// Quotes every column name of a checked predicate with `"`, which both
/// SQLite and PostgreSQL read (PocketBase writes `` `email` ``, which
/// PostgreSQL does not).
fn requote(e: &mut Expr) {
    match e {
        Expr::Identifier(id) => id.quote_style = Some('"'),
        Expr::BinaryOp { left, right, .. } => {
            requote(left);
            requote(right);
        }
        Expr::UnaryOp { expr, .. } => requote(expr),
        Expr::IsNull(x) | Expr::IsNotNull(x) | Expr::Nested(x) => requote(x),
        _ => {}
    }
}

/// Parses and checks one index string against the collection's columns.
pub fn parse(sql: &str, has_column: &dyn Fn(&str) -> bool) -> Result<IndexDef, IndexError> {
    let stmts = Parser::parse_sql(&SQLiteDialect {}, sql).map_err(|_| IndexError::Syntax)?;
    let [Statement::CreateIndex(ci)] = stmts.as_slice() else {
        return Err(IndexError::Syntax);
    };
    let name = ci
        .name
        .as_ref()
        .and_then(|n| n.0.last())
        .and_then(|p| p.as_ident())
        .map(|i| i.value.clone())
        .filter(|n| word(n))
        .ok_or(IndexError::Syntax)?;
    if ci.columns.is_empty() {
        return Err(IndexError::Syntax);
    }
    let mut columns = Vec::new();
    for c in &ci.columns {
        let (ident, collate) = match &c.column.expr {
            Expr::Identifier(id) => (id.value.clone(), None),
            Expr::Collate { expr, collation } => match expr.as_ref() {
                Expr::Identifier(id) => {
                    let coll = collation.to_string().to_uppercase();
                    if !matches!(coll.as_str(), "NOCASE" | "BINARY" | "RTRIM") {
                        return Err(IndexError::Syntax);
                    }
                    (id.value.clone(), Some(coll))
                }
                _ => return Err(IndexError::Syntax),
            },
            _ => return Err(IndexError::Syntax),
        };
        if !word(&ident) || !has_column(&ident) {
            return Err(IndexError::UnknownColumn(ident));
        }
        let desc = match &c.column.options.sort {
            None | Some(OrderBySort::Asc) => false,
            Some(OrderBySort::Desc) => true,
            Some(_) => return Err(IndexError::Syntax),
        };
        columns.push(IndexColumn {
            name: ident,
            collate,
            desc,
        });
    }
    let predicate = match &ci.predicate {
        Some(p) => {
            check_predicate(p, has_column)?;
            let mut p = p.clone();
            requote(&mut p);
            Some(p.to_string())
        }
        None => None,
    };
    Ok(IndexDef {
        name,
        unique: ci.unique,
        columns,
        predicate,
    })
}

impl IndexDef {
    /// The statement that creates this index on `table` (SQLite's text).
    pub fn to_sql(&self, table: &str) -> String {
        self.to_sql_with(table, |c| {
            let mut s = quote_ident(&c.name);
            if let Some(coll) = &c.collate {
                s.push_str(" COLLATE ");
                s.push_str(coll);
            }
            s
        })
    }

    /// The statement with each column spelled by `column` (the store's
    /// PostgreSQL form turns `COLLATE NOCASE` into `lower(col)`).
    pub fn to_sql_with(&self, table: &str, column: impl Fn(&IndexColumn) -> String) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let mut s = column(c);
                if c.desc {
                    s.push_str(" DESC");
                }
                s
            })
            .collect();
        let mut sql = format!(
            "CREATE {}INDEX {} ON {} ({})",
            if self.unique { "UNIQUE " } else { "" },
            quote_ident(&self.name),
            quote_ident(table),
            cols.join(", ")
        );
        if let Some(p) = &self.predicate {
            sql.push_str(" WHERE ");
            sql.push_str(p);
        }
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &str) -> bool {
        matches!(c, "title" | "email" | "a")
    }

    #[test]
    fn parses_pocketbase_indexes() {
        let d = parse(
            "CREATE UNIQUE INDEX `idx_email_x` ON `users` (`email`) WHERE `email` != ''",
            &cols,
        )
        .expect("valid");
        assert!(d.unique);
        assert_eq!(d.name, "idx_email_x");
        assert_eq!(
            d.to_sql("users"),
            "CREATE UNIQUE INDEX \"idx_email_x\" ON \"users\" (\"email\") WHERE \"email\" <> ''"
        );
        let d = parse(
            "CREATE INDEX idx_t ON posts (title COLLATE nocase DESC, a)",
            &cols,
        )
        .expect("valid");
        assert_eq!(d.columns.len(), 2);
        assert!(d.columns[0].desc);
    }

    #[test]
    fn rejects_anything_else() {
        assert_eq!(
            parse("CREATE UNIQUE INDEX garbage", &cols),
            Err(IndexError::Syntax)
        );
        assert_eq!(
            parse("CREATE INDEX i ON t (nosuch)", &cols),
            Err(IndexError::UnknownColumn("nosuch".into()))
        );
        assert_eq!(parse("DROP TABLE users", &cols), Err(IndexError::Syntax));
        assert!(parse("CREATE INDEX i ON t (title); DROP TABLE x", &cols).is_err());
        assert!(
            parse(
                "CREATE INDEX i ON t (title) WHERE load_extension('x')",
                &cols
            )
            .is_err()
        );
        assert!(parse("CREATE INDEX i ON t (lower(title))", &cols).is_err());
    }
}
