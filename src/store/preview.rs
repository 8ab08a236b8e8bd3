//! Runs a checked view query for the dashboard's live preview: a few rows
//! on a read-only connection, values as JSON.

use rusqlite::types::ValueRef;
use serde_json::Value;

use super::StoreError;

/// Column names and up to `limit` rows of `sql` (already checked and
/// re-printed by `schema::view_query`).
pub fn rows(
    db: &dyn super::sql::Db,
    sql: &str,
    limit: i64,
) -> Result<(Vec<String>, Vec<Vec<Value>>), StoreError> {
    let conn = super::sql::sqlite_only(db, "view previews on PostgreSQL")?;
    let mut stmt = conn.prepare(&format!("SELECT * FROM ({sql}) LIMIT ?1"))?;
    let cols: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let n = cols.len();
    let rows = stmt
        .query_map([limit], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(v) => v.into(),
                        ValueRef::Real(v) => v.into(),
                        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                        ValueRef::Blob(b) => format!("<{} bytes>", b.len()).into(),
                    })
                })
                .collect::<rusqlite::Result<Vec<Value>>>()
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((cols, rows))
}
