//! What nodes sharing one PostgreSQL database tell each other through it.
//!
//! Each node caches the schema (collections, roles, policies), the
//! settings and the webhook endpoints in memory. A change through one node bumps a version row in
//! `_cluster` in the same transaction; every node reads the versions when
//! its change feed wakes (another node's commit notifies it, and a poll
//! runs every 250 ms: `pg/wake.rs`) and reloads what moved. SQLite has one
//! node and no such table.

use super::StoreError;
use super::sql::{Db, Val};

/// The cached things whose version rows exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    Schema,
    Settings,
    Webhooks,
}

impl Cached {
    fn name(self) -> &'static str {
        match self {
            Cached::Schema => "schema",
            Cached::Settings => "settings",
            Cached::Webhooks => "webhooks",
        }
    }
}

/// Marks `what` changed, in the writing transaction (PostgreSQL only).
pub fn bump(db: &dyn Db, what: Cached) -> Result<(), StoreError> {
    if db.postgres().is_some() {
        db.exec(
            "UPDATE _cluster SET version = version + 1 WHERE name = ?1",
            &[Val::Text(what.name())],
        )?;
    }
    Ok(())
}

/// The version of each cached thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    pub schema: i64,
    pub settings: i64,
    pub webhooks: i64,
}

/// The current versions.
pub fn versions(db: &dyn Db) -> Result<Versions, StoreError> {
    let mut out = Versions::default();
    db.each("SELECT name, version FROM _cluster", &[], &mut |r| {
        match r.text(0)?.as_str() {
            "schema" => out.schema = r.int(1)?,
            "settings" => out.settings = r.int(1)?,
            "webhooks" => out.webhooks = r.int(1)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}
