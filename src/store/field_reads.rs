//! The two queries behind field read rules (`service/records/field_rules.rs`):
//! conditions decided once per request, and conditions decided per record
//! for a page of records. The service compiles the rules; this module owns
//! the SQL that evaluates them.

use std::collections::HashMap;

use rusqlite::params_from_iter;

use super::StoreError;
use super::records::{Where, renumber};
use crate::filter::compile::Param;
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// Evaluates conditions that need no row, all in one `SELECT`. Each
/// condition's placeholders already continue the previous one's.
pub fn decide(conn: &super::Conn, conds: &[&Where]) -> Result<Vec<bool>, StoreError> {
    let cols: Vec<String> = conds
        .iter()
        .map(|w| format!("(CASE WHEN ({}) THEN 1 ELSE 0 END)", w.sql))
        .collect();
    let sql = format!("SELECT {}", cols.join(", "));
    let params: Vec<&Param> = conds.iter().flat_map(|w| &w.params).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let row = stmt.query_row(params_from_iter(params.iter()), |r| {
        (0..conds.len())
            .map(|i| r.get::<_, i64>(i).map(|v| v == 1))
            .collect::<rusqlite::Result<Vec<bool>>>()
    })?;
    Ok(row)
}

/// Evaluates `conds` (each compiled from `?1`) for the records `ids` of
/// `c`: record id -> one answer per condition.
pub fn decide_per_record(
    conn: &super::Conn,
    c: &Collection,
    conds: &[&Where],
    ids: &[&str],
) -> Result<HashMap<String, Vec<bool>>, StoreError> {
    let mut params: Vec<Param> = Vec::new();
    let mut cols = Vec::new();
    for w in conds {
        // Each rule was compiled from `?1`; renumber by rebinding.
        let sql = renumber(&w.sql, params.len());
        params.extend(w.params.iter().cloned());
        cols.push(format!("(CASE WHEN ({sql}) THEN 1 ELSE 0 END)"));
    }
    params.push(Param::Text(
        serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
    ));
    let sql = format!(
        "SELECT \"id\", {} FROM {} WHERE \"id\" IN (SELECT value FROM json_each(?{}))",
        cols.join(", "),
        quote_ident(&c.name),
        params.len()
    );
    let n = conds.len();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            let id: String = r.get(0)?;
            let flags = (1..=n)
                .map(|i| r.get::<_, i64>(i).map(|v| v == 1))
                .collect::<rusqlite::Result<Vec<bool>>>()?;
            Ok((id, flags))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
