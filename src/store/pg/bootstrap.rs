//! PostgreSQL's system tables, as far as the store is ported (issue 19).
//!
//! SQLite's are in `store/bootstrap.rs`. The PostgreSQL forms follow
//! POSTGRES.md §4: text columns are `COLLATE "C"` so that equality and
//! ordering are byte-wise as on SQLite, JSON columns are `jsonb`, integer
//! columns that hold unix microseconds are `bigint`. Tables join this list
//! as the store functions that use them move onto `store::sql::Db`.

use crate::store::StoreError;
use crate::store::sql::Db;

const SYSTEM_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS _params (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value JSONB,
    created TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated TEXT COLLATE "C" NOT NULL DEFAULT ''
);
"#;

/// Creates the ported system tables (idempotent, one transaction).
pub fn bootstrap(db: &dyn Db) -> Result<(), StoreError> {
    db.batch(&format!("BEGIN; {SYSTEM_TABLES} COMMIT;"))?;
    super::super::sessions::ensure(db)
}
