//! Table and index DDL generated from collection definitions.
//!
//! Identifiers come from validated `\w+` names and are quoted; no other text
//! reaches these statements.

use super::StoreError;
use super::dialect::Dialect;
use super::sql::Db;
use crate::schema::index::{self, IndexDef};
use crate::schema::names::quote_ident;
use crate::schema::{Collection, CollectionKind, FieldKind};

fn column_defs(c: &Collection, d: Dialect) -> Vec<String> {
    let mut cols: Vec<String> = c
        .fields
        .iter()
        .map(|f| format!("{} {}", d.ident(&f.name), d.column_def(f)))
        .collect();
    cols.extend(d.rowid_column().map(str::to_owned));
    cols
}

/// `CREATE TABLE` for a base or auth collection's table named `table`.
pub fn create_table_sql(c: &Collection, table: &str, d: Dialect) -> String {
    format!(
        "CREATE TABLE {} ({})",
        d.ident(table),
        column_defs(c, d).join(", ")
    )
}

/// Parsed index definitions of a collection (invalid ones are skipped; the
/// service validated them before they were stored).
pub fn index_defs(c: &Collection) -> Vec<IndexDef> {
    let has = |n: &str| c.field(n).is_some();
    c.indexes
        .iter()
        .filter_map(|s| index::parse(s, &has).ok())
        .collect()
}

/// `CREATE INDEX` for one checked definition. On PostgreSQL, SQLite's
/// `COLLATE NOCASE` becomes an index on `lower(col)` (what `eq_nocase`
/// compares), and `BINARY` the byte order of `COLLATE "C"`.
fn index_sql(def: &IndexDef, table: &str, d: Dialect) -> String {
    if d == Dialect::Sqlite {
        return def.to_sql(table);
    }
    def.to_sql_with(table, |c| {
        let col = quote_ident(&c.name);
        match c.collate.as_deref() {
            Some("NOCASE") => format!("lower({col})"),
            Some("BINARY") => format!("{col} COLLATE \"C\""),
            _ => col,
        }
    })
}

/// Creates the collection's table and indexes.
pub fn create_table(db: &dyn Db, c: &Collection) -> Result<(), StoreError> {
    let d = db.dialect();
    if c.kind == CollectionKind::View {
        let q = super::views::query_of(&c.options);
        let parsed = crate::schema::view_query::parse(&q).map_err(StoreError::Corrupt)?;
        return super::views::create_view(db, &c.name, &parsed)
            .map_err(|e| StoreError::Corrupt(e.message));
    }
    db.batch(&create_table_sql(c, &c.name, d))?;
    create_indexes(db, c)
}

/// Creates every index of `c`, plus Cairn's own indexes: on each autodate
/// field set on create only (`created`: lists sorted by it are the most
/// common query, and without an index each one sorts the whole table) and on
/// each single relation (`owner = @request.auth.id` rules, cascades and
/// back-relations look records up by it). Fields that change on every
/// update are left alone, so updates stay cheap.
pub fn create_indexes(db: &dyn Db, c: &Collection) -> Result<(), StoreError> {
    let dialect = db.dialect();
    for (pos, d) in index_defs(c).into_iter().enumerate() {
        if let Err(e) = db.batch(&index_sql(&d, &c.name, dialect)) {
            return Err(StoreError::Index {
                pos,
                name: d.name,
                detail: describe(&e),
            });
        }
    }
    if dialect == Dialect::Postgres {
        // SQLite's rowid is the table's own b-tree key; PostgreSQL's
        // `_rowid` needs an index, or every list in insertion order (the
        // default sort) reads and sorts the whole table.
        db.batch(&format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (\"_rowid\")",
            quote_ident(&auto_index_name(c, "_rowid")),
            quote_ident(&c.name)
        ))?;
    }
    for f in &c.fields {
        let auto = match &f.kind {
            FieldKind::Autodate(o) => o.on_create && !o.on_update,
            // Single relations: owner rules, cascades, relation clean-up and
            // back-relation expands all look records up by them.
            FieldKind::Relation(_) => !f.kind.is_multiple(),
            _ => false,
        };
        if auto {
            db.batch(&format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                quote_ident(&auto_index_name(c, &f.name)),
                quote_ident(&c.name),
                quote_ident(&f.name)
            ))?;
        }
    }
    Ok(())
}

/// SQLite's error in PocketBase's wording (`constraint failed: ... (2067)`);
/// PostgreSQL's message as the server gave it.
fn describe(e: &StoreError) -> String {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, Some(msg))) => {
            let kind = if f.code == rusqlite::ErrorCode::ConstraintViolation {
                "constraint failed"
            } else {
                "SQL logic error"
            };
            format!("{kind}: {msg} ({})", f.extended_code)
        }
        StoreError::Sqlite(other) => other.to_string(),
        StoreError::Postgres(e) => e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
        other => other.to_string(),
    }
}

/// Name of Cairn's internal index on an autodate field.
fn auto_index_name(c: &Collection, field: &str) -> String {
    format!("_cairn_{}_{field}", c.id)
}

/// Drops every index of `c` that exists.
pub fn drop_indexes(db: &dyn Db, c: &Collection) -> Result<(), StoreError> {
    for d in index_defs(c) {
        db.batch(&format!("DROP INDEX IF EXISTS {}", quote_ident(&d.name)))?;
    }
    for f in &c.fields {
        db.batch(&format!(
            "DROP INDEX IF EXISTS {}",
            quote_ident(&auto_index_name(c, &f.name))
        ))?;
    }
    Ok(())
}

/// Rebuilds `old`'s table with `new`'s shape, carrying data over by field id
/// (so renamed fields keep their values). Runs inside the caller's
/// transaction, so a failure leaves schema and data as they were.
pub fn rebuild_table(db: &dyn Db, old: &Collection, new: &Collection) -> Result<(), StoreError> {
    let Some(conn) = db.sqlite() else {
        return alter_table(db, old, new);
    };
    drop_indexes(conn, old)?;
    let tmp = format!("_tmp_{}", new.name);
    conn.execute_batch(&create_table_sql(new, &tmp, Dialect::Sqlite))?;
    let mut dst = Vec::new();
    let mut src = Vec::new();
    for f in &new.fields {
        if let Some(of) = old.fields.iter().find(|o| o.id == f.id) {
            if of.kind.type_name() == f.kind.type_name()
                && of.kind.is_multiple() == f.kind.is_multiple()
            {
                dst.push(quote_ident(&f.name));
                src.push(quote_ident(&of.name));
            } else if of.kind.type_name() == f.kind.type_name() {
                // Single <-> multiple: convert between a value and a JSON array.
                dst.push(quote_ident(&f.name));
                let col = quote_ident(&of.name);
                src.push(if f.kind.is_multiple() {
                    format!("CASE WHEN {col} = '' THEN '[]' ELSE json_array({col}) END")
                } else {
                    format!("COALESCE(json_extract({col}, '$[#-1]'), '')")
                });
            }
        }
    }
    conn.execute_batch(&format!(
        "INSERT INTO {} ({}) SELECT {} FROM {}",
        quote_ident(&tmp),
        dst.join(", "),
        src.join(", "),
        quote_ident(&old.name)
    ))?;
    conn.execute_batch(&format!("DROP TABLE {}", quote_ident(&old.name)))?;
    conn.execute_batch(&format!(
        "ALTER TABLE {} RENAME TO {}",
        quote_ident(&tmp),
        quote_ident(&new.name)
    ))?;
    create_indexes(conn, new)
}

/// PostgreSQL's way to the same end as `rebuild_table`: ALTERs in the
/// caller's transaction (PostgreSQL's DDL is transactional), matching
/// fields by id, so renamed fields keep their values and the table's other
/// columns are not copied.
fn alter_table(db: &dyn Db, old: &Collection, new: &Collection) -> Result<(), StoreError> {
    let d = Dialect::Postgres;
    drop_indexes(db, old)?;
    if old.name != new.name {
        db.batch(&format!(
            "ALTER TABLE {} RENAME TO {}",
            d.ident(&old.name),
            d.ident(&new.name)
        ))?;
    }
    let table = d.ident(&new.name);
    // Columns go first, so a rename may take a dropped column's name. A
    // field id whose type changed is a new column.
    let kept = |of: &crate::schema::Field| {
        new.fields
            .iter()
            .any(|f| f.id == of.id && f.kind.type_name() == of.kind.type_name())
    };
    let drops: Vec<String> = (old.fields.iter().filter(|of| !kept(of)))
        .map(|of| format!("DROP COLUMN {}", d.ident(&of.name)))
        .collect();
    if !drops.is_empty() {
        db.batch(&format!("ALTER TABLE {table} {}", drops.join(", ")))?;
    }
    // Renames go through a temporary name each, so names may swap. RENAME
    // cannot share a statement with other actions.
    let renamed: Vec<(&str, &str, String)> = (new.fields.iter())
        .filter_map(|f| {
            let of = old.fields.iter().find(|o| o.id == f.id && kept(o))?;
            (of.name != f.name)
                .then(|| (of.name.as_str(), f.name.as_str(), format!("_old_{}", f.id)))
        })
        .collect();
    for (from, to) in renamed
        .iter()
        .map(|(from, _, tmp)| (*from, tmp.as_str()))
        .chain(renamed.iter().map(|(_, to, tmp)| (tmp.as_str(), *to)))
    {
        db.batch(&format!(
            "ALTER TABLE {table} RENAME COLUMN {} TO {}",
            d.ident(from),
            d.ident(to)
        ))?;
    }
    let mut steps = Vec::new();
    for f in &new.fields {
        let Some(of) = old.fields.iter().find(|o| o.id == f.id && kept(o)) else {
            steps.push(format!(
                "ADD COLUMN {} {}",
                d.ident(&f.name),
                d.column_def(f)
            ));
            continue;
        };
        if of.kind.is_multiple() != f.kind.is_multiple() {
            let col = d.ident(&f.name);
            let (ty, using, default) = if f.kind.is_multiple() {
                let using = format!(
                    "CASE WHEN {col} = '' THEN '[]'::jsonb ELSE jsonb_build_array({col}) END"
                );
                ("JSONB", using, "'[]'")
            } else {
                let using = format!("COALESCE({col} ->> -1, '')");
                ("TEXT COLLATE \"C\"", using, "''")
            };
            steps.push(format!("ALTER COLUMN {col} DROP DEFAULT"));
            steps.push(format!("ALTER COLUMN {col} TYPE {ty} USING {using}"));
            steps.push(format!("ALTER COLUMN {col} SET DEFAULT {default}"));
        }
    }
    if !steps.is_empty() {
        db.batch(&format!("ALTER TABLE {table} {}", steps.join(", ")))?;
    }
    create_indexes(db, new)
}

/// Drops the collection's table.
pub fn drop_table(db: &dyn Db, c: &Collection) -> Result<(), StoreError> {
    let what = if c.kind == CollectionKind::View {
        "VIEW"
    } else {
        "TABLE"
    };
    db.batch(&format!("DROP {what} IF EXISTS {}", quote_ident(&c.name)))
}
