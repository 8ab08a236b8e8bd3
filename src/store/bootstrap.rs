//! System tables and first-run setup.

use rusqlite::{Connection, params};

use super::StoreError;
use super::{collections, ddl};
use crate::schema::{datetime, system};

const SYSTEM_TABLES: &str = "
CREATE TABLE IF NOT EXISTS _collections (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    type TEXT NOT NULL,
    system BOOLEAN NOT NULL DEFAULT FALSE,
    definition JSON NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _params (
    id TEXT PRIMARY KEY NOT NULL,
    value JSON,
    created TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS _changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id TEXT NOT NULL,
    collection_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL,
    created TEXT NOT NULL,
    snapshot JSON
);
CREATE TABLE IF NOT EXISTS _totp (
    collectionRef TEXT NOT NULL,
    recordRef TEXT NOT NULL,
    secret TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    lastStep INTEGER NOT NULL DEFAULT 0,
    recovery JSON NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    PRIMARY KEY (collectionRef, recordRef)
);
CREATE TABLE IF NOT EXISTS _migrations (
    file TEXT PRIMARY KEY NOT NULL,
    applied INTEGER NOT NULL
);
";

/// Creates system tables and, on a new database, the system collections.
pub fn bootstrap(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let res = (|| -> Result<(), StoreError> {
        conn.execute_batch(SYSTEM_TABLES)?;
        conn.execute_batch(super::webhooks::TABLES)?;
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM _collections", [], |r| r.get(0))?;
        if count > 0 {
            // Data directories from before a system collection existed
            // (Cairn's access-control collections) gain it now.
            let now = datetime::now();
            for c in system::system_collections(&now) {
                let known: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM _collections WHERE id = ?1 OR name = ?2 COLLATE NOCASE)",
                    params![c.id, c.name],
                    |r| r.get(0),
                )?;
                if !known {
                    ddl::create_table(conn, &c)?;
                    collections::insert(conn, &c)?;
                }
            }
        }
        if count == 0 {
            let now = datetime::now();
            for c in system::system_collections(&now) {
                ddl::create_table(conn, &c)?;
                collections::insert(conn, &c)?;
            }
            conn.execute(
                "INSERT OR IGNORE INTO _params (id, value, created, updated) VALUES ('settings', ?1, ?2, ?2)",
                params![super::settings::defaults().to_string(), now],
            )?;
        }
        Ok(())
    })();
    match res {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_data_directories_gain_new_system_collections() {
        let conn = Connection::open_in_memory().expect("sqlite");
        bootstrap(&conn).expect("first start");
        // A data directory from before `_policies` existed.
        conn.execute_batch(
            "DROP TABLE _policies; DELETE FROM _collections WHERE name = '_policies';",
        )
        .expect("downgrade");
        bootstrap(&conn).expect("next start");
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM _collections WHERE name = '_policies'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, 1);
        conn.execute("INSERT INTO _policies (id, name, rule, description, created, updated) VALUES ('p1', 'x', 'a = 1', '', '', '')", [])
            .expect("table exists with its columns");
        // Nothing is duplicated on later starts.
        bootstrap(&conn).expect("third start");
        let total: i64 = conn
            .query_row("SELECT COUNT(*) FROM _collections", [], |r| r.get(0))
            .expect("count");
        assert_eq!(total, system::system_collections("").len() as i64);
    }
}
