//! The `_collections` table: one row per collection with its JSON definition.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::StoreError;
use crate::schema::Collection;

/// Loads every collection, system ones first, then by creation.
pub fn load_all(conn: &Connection) -> Result<Vec<Collection>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT definition FROM _collections ORDER BY system DESC, rowid")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let text = row?;
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
pub fn load_policies(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_policies')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached("SELECT name, rule FROM _policies")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Loads one collection by id or name (inside a write transaction).
pub fn find(conn: &Connection, name_or_id: &str) -> Result<Option<Collection>, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT definition FROM _collections WHERE id = ?1 OR name = ?1 COLLATE NOCASE",
            params![name_or_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| Collection::from_stored(&v)))
}

pub fn insert(conn: &Connection, c: &Collection) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO _collections (id, name, type, system, definition, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![c.id, c.name, c.kind.as_str(), c.system, c.to_stored_json().to_string(), c.created, c.updated],
    )?;
    Ok(())
}

pub fn update(conn: &Connection, c: &Collection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE _collections SET name = ?2, type = ?3, system = ?4, definition = ?5, updated = ?6 WHERE id = ?1",
        params![c.id, c.name, c.kind.as_str(), c.system, c.to_stored_json().to_string(), c.updated],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM _collections WHERE id = ?1", params![id])?;
    Ok(())
}

/// Is an index name already used by another table?
pub fn index_owner(conn: &Connection, index: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?1 COLLATE NOCASE",
            params![index],
            |r| r.get(0),
        )
        .optional()?)
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
pub fn list_page(conn: &Connection, q: &ListPage<'_>) -> Result<(Vec<String>, i64), StoreError> {
    let table = if q.hidden.is_empty() {
        "_collections".to_owned()
    } else {
        let names: Vec<String> = q.hidden.iter().map(|n| format!("'{n}'")).collect();
        format!(
            "(SELECT rowid AS rowid, * FROM _collections WHERE name NOT IN ({})) AS _collections",
            names.join(",")
        )
    };
    let page = super::simple_list::Page {
        table: &table,
        select: "id",
        filter: q.filter,
        order: q.order,
        order_params: q.order_params,
        tiebreak: "system DESC, rowid",
        limit: q.limit,
        offset: q.offset,
        count: q.count,
    };
    super::simple_list::page(conn, &page, |r| r.get::<_, String>(0))
}
