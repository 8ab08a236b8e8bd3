//! The `_collections` table: one row per collection with its JSON definition.

use serde_json::Value;

use super::StoreError;
use super::dialect::Dialect;
use super::sql::{Db, Val};
use crate::schema::Collection;

/// Loads every collection, system ones first, then by creation.
pub fn load_all(db: &dyn Db) -> Result<Vec<Collection>, StoreError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT definition FROM _collections ORDER BY system DESC, rowid",
        Dialect::Postgres => "SELECT definition FROM _collections ORDER BY system DESC, \"_rowid\"",
    };
    let rows = db.rows(sql, &[], |r| r.text(0))?;
    let mut out = Vec::new();
    for text in rows {
        let v: Value =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        out.push(
            Collection::from_stored(&v)
                .ok_or_else(|| StoreError::Corrupt("unreadable collection definition".into()))?,
        );
    }
    Ok(out)
}

/// Named policies (`_policies`: name, rule), if the table exists.
pub fn load_policies(db: &dyn Db) -> Result<Vec<(String, String)>, StoreError> {
    let exists = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_policies')"
        }
        Dialect::Postgres => {
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_policies')"
        }
    };
    if !db.row(exists, &[], |r| r.bool(0))?.unwrap_or(false) {
        return Ok(Vec::new());
    }
    db.rows("SELECT name, rule FROM _policies", &[], |r| {
        Ok((r.text(0)?, r.text(1)?))
    })
}

/// Loads one collection by id or name (inside a write transaction).
pub fn find(db: &dyn Db, name_or_id: &str) -> Result<Option<Collection>, StoreError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT definition FROM _collections WHERE id = ?1 OR name = ?1 COLLATE NOCASE"
        }
        Dialect::Postgres => {
            "SELECT definition FROM _collections WHERE id = ?1 OR lower(name) = lower(?1)"
        }
    };
    let text = db.row(sql, &[Val::Text(name_or_id)], |r| r.text(0))?;
    Ok(text
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| Collection::from_stored(&v)))
}

/// `find` by id for a change computed from the stored collection. On
/// PostgreSQL the row is locked first, so two changes of one collection
/// (through two nodes, or two writer sessions of one) run one after the
/// other and the second sees what the first committed: its DDL is computed
/// from the table as it is. SQLite's one writer runs one job at a time.
pub fn find_for_update(db: &dyn Db, id: &str) -> Result<Option<Collection>, StoreError> {
    if db.postgres().is_some() {
        db.first(
            "SELECT 1 FROM _collections WHERE id = ?1 FOR UPDATE",
            &[Val::Text(id)],
            &mut |_| Ok(()),
        )?;
    }
    find(db, id)
}

pub fn insert(db: &dyn Db, c: &Collection) -> Result<(), StoreError> {
    let def = c.to_stored_json().to_string();
    db.exec(
        "INSERT INTO _collections (id, name, type, system, definition, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[c.id.as_str().into(), c.name.as_str().into(), c.kind.as_str().into(), c.system.into(), Val::Text(&def), c.created.as_str().into(), c.updated.as_str().into()],
    )?;
    Ok(())
}

pub fn update(db: &dyn Db, c: &Collection) -> Result<(), StoreError> {
    let def = c.to_stored_json().to_string();
    db.exec(
        "UPDATE _collections SET name = ?2, type = ?3, system = ?4, definition = ?5, updated = ?6 WHERE id = ?1",
        &[c.id.as_str().into(), c.name.as_str().into(), c.kind.as_str().into(), c.system.into(), Val::Text(&def), c.updated.as_str().into()],
    )?;
    Ok(())
}

pub fn delete(db: &dyn Db, id: &str) -> Result<(), StoreError> {
    db.exec("DELETE FROM _collections WHERE id = ?1", &[Val::Text(id)])?;
    Ok(())
}

/// Is an index name already used by another table?
pub fn index_owner(db: &dyn Db, index: &str) -> Result<Option<String>, StoreError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?1 COLLATE NOCASE"
        }
        Dialect::Postgres => {
            "SELECT tablename FROM pg_indexes WHERE schemaname = current_schema() AND lower(indexname) = lower(?1)"
        }
    };
    db.row(sql, &[Val::Text(index)], |r| r.text(0))
}

/// One page of the collections list (`GET /api/collections`).
pub struct ListPage<'a> {
    /// Names left out of the rows (Cairn's unused system collections;
    /// static names, never user text).
    pub hidden: &'a [&'static str],
    pub filter: Option<&'a crate::filter::compile::Compiled>,
    pub order: &'a [String],
    pub order_params: &'a [crate::filter::compile::Param],
    pub limit: i64,
    pub offset: i64,
    pub count: bool,
}

/// The ids of a page of collections, and the total (-1 when not counted).
pub fn list_page(db: &dyn Db, q: &ListPage<'_>) -> Result<(Vec<String>, i64), StoreError> {
    let rowid = db.dialect().rowid();
    let table = if q.hidden.is_empty() {
        "_collections".to_owned()
    } else {
        let names: Vec<String> = q.hidden.iter().map(|n| format!("'{n}'")).collect();
        // SQLite's `*` leaves the rowid out; PostgreSQL's includes `_rowid`.
        let cols = match db.dialect() {
            Dialect::Sqlite => "rowid AS rowid, *",
            Dialect::Postgres => "*",
        };
        format!(
            "(SELECT {cols} FROM _collections WHERE name NOT IN ({})) AS _collections",
            names.join(",")
        )
    };
    let tiebreak = format!("system DESC, {rowid}");
    let page = super::simple_list::Page {
        table: &table,
        select: "id",
        filter: q.filter,
        order: q.order,
        order_params: q.order_params,
        tiebreak: &tiebreak,
        limit: q.limit,
        offset: q.offset,
        count: q.count,
    };
    super::simple_list::page(db, &page, |r| r.text(0))
}
