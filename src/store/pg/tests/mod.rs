//! The ported store functions give the same answers on both engines.
//!
//! Each test runs on an in-memory SQLite database and, when
//! `CAIRN_TEST_PG_URL` names a PostgreSQL server (`scripts/test` starts
//! one), on a fresh database there. Without the variable the PostgreSQL
//! half is skipped, except under `CI=true`, where it fails: a broken
//! install must not pass as "ran no test".

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::PgConn;
use crate::store::sql::Db;
use crate::store::{bootstrap, sessions};

mod basics;
mod feed;
mod outbox;
mod records;
mod scripts;
mod system;
mod writes;

/// A new, empty PostgreSQL database, or `None` when no server is configured.
pub(super) fn fresh_pg() -> Option<PgConn> {
    let url = fresh_pg_url()?;
    Some(PgConn::connect(&url).expect("connect to the test database"))
}

/// The URL of a new, empty PostgreSQL database, or `None` when no server
/// is configured.
pub(crate) fn fresh_pg_url() -> Option<String> {
    let Ok(url) = std::env::var("CAIRN_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CAIRN_TEST_PG_URL is not set under CI=true: the PostgreSQL tests must run"
        );
        eprintln!("CAIRN_TEST_PG_URL is not set: PostgreSQL half skipped");
        return None;
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "cairn_t_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let admin = PgConn::connect(&url).expect("connect to CAIRN_TEST_PG_URL");
    // One statement per call: a multi-statement batch is one transaction,
    // and CREATE DATABASE refuses to run inside one.
    admin
        .batch(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drop a leftover test database");
    admin
        .batch(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        ))
        .expect("create a test database");
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// Both engines, bootstrapped the same way.
pub(super) fn engines() -> Vec<Box<dyn Db>> {
    let mut out: Vec<Box<dyn Db>> = vec![Box::new(
        rusqlite::Connection::open_in_memory().expect("sqlite"),
    )];
    if let Some(pg) = fresh_pg() {
        out.push(Box::new(pg));
    }
    for db in &out {
        bootstrap::bootstrap(db.as_ref()).expect("bootstrap");
        sessions::ensure(db.as_ref()).expect("sessions");
    }
    out
}

/// A collection with a field of each kind the store treats differently.
pub(super) fn posts() -> crate::schema::Collection {
    crate::schema::Collection::from_stored(&json!({
        "id": "pbc_posts", "name": "posts", "type": "base", "system": false,
        "fields": [
            {"id": "text3208210256", "name": "id", "type": "text", "primaryKey": true},
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "flag", "type": "bool"},
            {"name": "meta", "type": "json"},
            {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
            {"name": "editors", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 5},
            {"name": "created", "type": "autodate", "onCreate": true}
        ],
        "indexes": ["CREATE UNIQUE INDEX idx_title ON posts (title)"],
        "listRule": null, "viewRule": null, "createRule": null,
        "updateRule": null, "deleteRule": null, "created": "", "updated": ""
    }))
    .expect("posts")
}
