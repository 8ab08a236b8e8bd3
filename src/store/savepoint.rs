//! Per-item savepoints inside one write job: a multi-item job (a CSV
//! import) undoes one failing item and keeps the others, while the job
//! itself stays one transaction. Kept here so services never run SQL.

use super::StoreError;
use super::sql::Db;

/// One step of a per-item savepoint inside a write job, so a multi-item job
/// (a CSV import) can undo one item and keep the others.
#[derive(Clone, Copy, Debug)]
pub enum ItemSavepoint {
    Begin,
    Keep,
    Undo,
}

/// Runs `step` of the job's item savepoint on `conn`.
pub fn item_savepoint(db: &dyn Db, step: ItemSavepoint) -> Result<(), StoreError> {
    let sql = match step {
        ItemSavepoint::Begin => "SAVEPOINT item",
        ItemSavepoint::Keep => "RELEASE item",
        ItemSavepoint::Undo => "ROLLBACK TO item; RELEASE item",
    };
    db.batch(sql)
}
