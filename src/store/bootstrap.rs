//! System tables and first-run setup.

use rusqlite::{Connection, params};

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Db, Val};
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
    snapshot JSON,
    prior JSON,
    delta JSON
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
/// The same steps on both engines; only the system tables' DDL differs
/// (PostgreSQL's is in `store/pg/bootstrap.rs`).
pub fn bootstrap(db: &dyn Db) -> Result<(), StoreError> {
    let d = db.dialect();
    db.batch(d.begin_write())?;
    let res = (|| -> Result<(), StoreError> {
        if d == Dialect::Postgres {
            // Nodes starting together on one database bootstrap one at a time.
            db.batch("SELECT pg_advisory_xact_lock(7305260049)")?;
        }
        match db.sqlite() {
            Some(conn) => {
                conn.execute_batch(SYSTEM_TABLES)?;
                super::changes::upgrade(conn)?;
                conn.execute_batch(super::files::TABLE)?;
                super::webhooks::create_or_upgrade(conn)?;
            }
            None => {
                db.batch(super::pg::bootstrap::SYSTEM_TABLES)?;
                db.batch(super::pg::functions::FUNCTIONS)?;
            }
        }
        let count = db
            .row("SELECT COUNT(*) FROM _collections", &[], |r| r.int(0))?
            .unwrap_or(0);
        let known_sql = format!(
            "SELECT EXISTS (SELECT 1 FROM _collections WHERE id = ?1 OR {})",
            d.eq_nocase("name", "?2")
        );
        if count > 0 {
            // Data directories from before a system collection existed
            // (Cairn's access-control collections) gain it now.
            let now = datetime::now();
            for c in system::system_collections(&now) {
                let known = db
                    .row(&known_sql, &[Val::Text(&c.id), Val::Text(&c.name)], |r| {
                        r.bool(0)
                    })?
                    .unwrap_or(false);
                if !known {
                    ddl::create_table(db, &c)?;
                    collections::insert(db, &c)?;
                }
            }
        }
        if let Some(conn) = db.sqlite() {
            scrub_changes(conn)?;
        }
        if count == 0 {
            let now = datetime::now();
            for c in system::system_collections(&now) {
                ddl::create_table(db, &c)?;
                collections::insert(db, &c)?;
            }
            let settings = super::settings::defaults().to_string();
            db.exec(
                &d.insert_ignore(
                    "_params",
                    "id, value, created, updated",
                    "'settings', ?1, ?2, ?2",
                ),
                &[Val::Text(&settings), Val::Text(&now)],
            )?;
        }
        Ok(())
    })();
    match res {
        Ok(()) => db.batch("COMMIT"),
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Removes token keys and API key digests from change-log rows written
/// before the log stopped storing them (once per data directory; password
/// hashes were never stored).
fn scrub_changes(conn: &Connection) -> Result<(), StoreError> {
    let first = conn.execute(
        "INSERT OR IGNORE INTO _params (id, value, created, updated)
         VALUES ('changesScrubbed', 'true', ?1, ?1)",
        params![datetime::now()],
    )?;
    if first == 0 {
        return Ok(());
    }
    conn.execute_batch(
        "UPDATE _changes SET snapshot = json_remove(snapshot, '$.tokenKey')
          WHERE collection_id IN (SELECT id FROM _collections WHERE type = 'auth')
            AND json_type(snapshot, '$.tokenKey') IS NOT NULL;
         UPDATE _changes SET snapshot = json_remove(snapshot, '$.keyHash')
          WHERE collection_name = '_apiKeys'
            AND json_type(snapshot, '$.keyHash') IS NOT NULL;",
    )?;
    Ok(())
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

    #[test]
    fn secrets_logged_by_older_versions_are_scrubbed_once() {
        let conn = Connection::open_in_memory().expect("sqlite");
        bootstrap(&conn).expect("first start");
        // Rows as an older version wrote them.
        conn.execute_batch(
            "DELETE FROM _params WHERE id = 'changesScrubbed';
             INSERT INTO _changes (collection_id, collection_name, record_id, action, created, snapshot)
             VALUES ('_pb_users_auth_', 'users', 'u1', 'create', '', '{\"id\":\"u1\",\"tokenKey\":\"secret1\"}'),
                    ('x', '_apiKeys', 'k1', 'create', '', '{\"id\":\"k1\",\"keyHash\":\"abc\"}'),
                    ('pbc_other', 'notes', 'n1', 'create', '', '{\"id\":\"n1\",\"tokenKey\":\"mine\"}');",
        )
        .expect("old rows");
        bootstrap(&conn).expect("upgrade");
        let snaps: Vec<String> = conn
            .prepare("SELECT snapshot FROM _changes ORDER BY seq")
            .and_then(|mut st| {
                st.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("rows");
        assert_eq!(
            snaps,
            [
                r#"{"id":"u1"}"#,
                r#"{"id":"k1"}"#,
                r#"{"id":"n1","tokenKey":"mine"}"#
            ]
        );
    }
}
