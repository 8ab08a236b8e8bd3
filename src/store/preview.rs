//! Runs a checked view query for the dashboard's live preview: a few rows
//! on a read-only connection, values as JSON.

use serde_json::Value;

use super::StoreError;
use super::sql::{Cell, Val};

/// Column names and up to `limit` rows of a checked view query.
pub fn rows(
    db: &dyn super::sql::Db,
    view: &crate::schema::view_query::ParsedView,
    limit: i64,
) -> Result<(Vec<String>, Vec<Vec<Value>>), StoreError> {
    // PostgreSQL wants a name for the subquery; SQLite takes one too.
    let sql = format!(
        "SELECT * FROM ({}) AS _preview LIMIT ?1",
        super::views::sql_for(db, view)
    );
    let cols = db.column_names(&sql)?;
    let n = cols.len();
    let rows = db.rows(&sql, &[Val::Int(limit)], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.cell(i)? {
                    Cell::Null => Value::Null,
                    Cell::Int(v) => v.into(),
                    Cell::Real(v) => v.into(),
                    Cell::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    Cell::Blob(b) => format!("<{} bytes>", b.len()).into(),
                })
            })
            .collect()
    })?;
    Ok((cols, rows))
}
