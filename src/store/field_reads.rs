//! The two queries behind field read rules (`service/records/field_rules.rs`):
//! conditions decided once per request, and conditions decided per record
//! for a page of records. The service compiles the rules; this module owns
//! the SQL that evaluates them.

use std::collections::HashMap;

use super::StoreError;
use super::records::{Where, renumber};
use super::sql::{Db, Val};
use crate::filter::compile::Param;
use crate::schema::Collection;
use crate::schema::names::quote_ident;

/// Evaluates conditions that need no row, all in one `SELECT`. Each
/// condition's placeholders already continue the previous one's.
pub fn decide(db: &dyn Db, conds: &[&Where]) -> Result<Vec<bool>, StoreError> {
    let cols: Vec<String> = conds
        .iter()
        .map(|w| format!("(CASE WHEN ({}) THEN 1 ELSE 0 END)", w.sql))
        .collect();
    let sql = format!("SELECT {}", cols.join(", "));
    let params: Vec<Val<'_>> = conds
        .iter()
        .flat_map(|w| &w.params)
        .map(Val::from)
        .collect();
    let row = db.row(&sql, &params, |r| {
        (0..conds.len())
            .map(|i| r.int(i).map(|v| v == 1))
            .collect::<Result<Vec<bool>, StoreError>>()
    })?;
    Ok(row.unwrap_or_default())
}

/// Evaluates `conds` (each compiled from `?1`) for the records `ids` of
/// `c`: record id -> one answer per condition.
pub fn decide_per_record(
    db: &dyn Db,
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
    let d = db.dialect();
    let sql = format!(
        "SELECT \"id\", {} FROM {} WHERE \"id\" IN (SELECT value FROM {})",
        cols.join(", "),
        quote_ident(&c.name),
        d.json_each(&d.placeholder(params.len()), None, None)
    );
    let n = conds.len();
    let vals: Vec<Val<'_>> = params.iter().map(Val::from).collect();
    let rows = db.rows(&sql, &vals, |r| {
        let flags = (1..=n)
            .map(|i| r.int(i).map(|v| v == 1))
            .collect::<Result<Vec<bool>, StoreError>>()?;
        Ok((r.text(0)?, flags))
    })?;
    Ok(rows.into_iter().collect())
}
