//! Many new records in ONE transaction, all or nothing, with every failing
//! row reported (the dashboard's CSV import).
//!
//! Unlike a batch, which stops at its first failure, every row is tried so
//! the report names them all: each row runs in its own savepoint inside the
//! one write job (a failed row leaves nothing behind for the rows after
//! it), and if any row failed the whole job is rolled back. A dry run
//! (`commit: false`) does the same and always rolls back, so a preview
//! finds exactly the errors the import would.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::{CreateOp, Input};
use crate::filter::ast::RequestInfo;
use crate::schema::Collection;
use crate::service::{Actor, Error};
use crate::store::Store;
use crate::store::savepoint::{ItemSavepoint, item_savepoint};

/// Most rows one import may hold.
pub const MAX_ROWS: usize = 10_000;

/// The errors of one row: its index (0-based) and PocketBase's
/// `{message, data}`.
#[derive(Debug, Clone)]
pub struct RowError {
    pub row: usize,
    pub message: String,
    pub data: Map<String, Value>,
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Default)]
pub struct Report {
    /// Rows stored (0 when any row failed or for a dry run).
    pub created: usize,
    /// Rows that would be stored by a dry run without errors.
    pub valid: usize,
    pub errors: Vec<RowError>,
}

fn row_error(row: usize, e: &Error) -> RowError {
    let (_, message, data) = e.parts();
    RowError { row, message, data }
}

fn savepoint(conn: &crate::store::Conn, step: ItemSavepoint) -> Result<(), Error> {
    item_savepoint(conn, step).map_err(|e| Error::Internal(format!("import savepoint: {e:?}")))
}

/// Creates every row of `rows` in one transaction (when `commit` and none
/// fails), as `actor`.
pub async fn create_all(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    rows: Vec<Input>,
    commit: bool,
) -> Result<Report, Error> {
    if rows.len() > MAX_ROWS {
        return Err(Error::bad(&format!(
            "At most {MAX_ROWS} rows can be imported at once."
        )));
    }
    let mut report = Report::default();
    let mut ops = Vec::with_capacity(rows.len());
    for (i, input) in rows.into_iter().enumerate() {
        match CreateOp::prepare(store, Arc::clone(&c), actor, req, input).await {
            Ok(op) => ops.push((i, op)),
            Err(e) => report.errors.push(row_error(i, &e)),
        }
    }
    let shared = Arc::new(Mutex::new((0usize, Vec::new())));
    let out = Arc::clone(&shared);
    let keep = commit && report.errors.is_empty();
    let result = store
        .write(move |ctx| {
            let mut ok = 0;
            let mut errors = Vec::new();
            for (i, op) in ops {
                savepoint(ctx.conn, ItemSavepoint::Begin)?;
                match op.run(ctx) {
                    Ok(_) => {
                        savepoint(ctx.conn, ItemSavepoint::Keep)?;
                        ok += 1;
                    }
                    Err(e) => {
                        savepoint(ctx.conn, ItemSavepoint::Undo)?;
                        errors.push(row_error(i, &e));
                    }
                }
            }
            let clean = errors.is_empty();
            if let Ok(mut s) = out.lock() {
                *s = (ok, errors);
            }
            if keep && clean {
                Ok(ok)
            } else {
                // Roll the whole job back: a dry run, or a row failed.
                Err(Error::bad("Rolled back."))
            }
        })
        .await;
    let (ok, mut in_job) = shared
        .lock()
        .map(|s| (s.0, s.1.clone()))
        .unwrap_or_default();
    report.errors.append(&mut in_job);
    report.errors.sort_by_key(|e| e.row);
    match result {
        Ok(n) => report.created = n,
        // A store failure (not our own roll-back) is the caller's error.
        Err(Error::Internal(m)) => return Err(Error::Internal(m)),
        Err(_) => report.valid = if report.errors.is_empty() { ok } else { 0 },
    }
    Ok(report)
}
