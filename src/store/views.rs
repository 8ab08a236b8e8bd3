//! View collections: the VIEW behind them and the fields inferred from its
//! result columns (by their origin table and column, which both engines
//! report for plain column references, and by the outer SELECT's
//! expressions). The query runs in the store's own SQL dialect.

use super::StoreError;
use super::sql::Db;
use serde_json::Value;

use super::Schema;
use crate::schema::field::{NumberOptions, RelationOptions};
use crate::schema::names::{quote_ident, random_id};
use crate::schema::view_query::{ColumnHint, ParsedView};
use crate::schema::{Field, FieldKind};

/// Why a view could not be created: PocketBase's message after
/// "Invalid query - ", and whether it is the missing `id` column.
#[derive(Debug)]
pub struct ViewError {
    pub message: String,
    pub missing_id: bool,
}

fn err(message: impl Into<String>) -> ViewError {
    ViewError {
        message: message.into(),
        missing_id: false,
    }
}

/// The engine's own message (PocketBase shows SQLite's after "Invalid
/// query - ").
fn engine_message(e: &StoreError) -> String {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(m))) => m.clone(),
        StoreError::Postgres(e) => e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
        other => other.to_string(),
    }
}

/// The view's query in the store's dialect.
pub fn sql_for(db: &dyn Db, view: &ParsedView) -> String {
    match db.dialect() {
        super::dialect::Dialect::Sqlite => view.sql.clone(),
        super::dialect::Dialect::Postgres => view.postgres_sql(),
    }
}

/// Infers the view's fields by preparing its query.
pub fn infer_fields(
    db: &dyn Db,
    schema: &Schema,
    view: &ParsedView,
) -> Result<Vec<Field>, ViewError> {
    let columns = db
        .column_origins(&sql_for(db, view))
        .map_err(|e| err(engine_message(&e)))?;
    let mut fields = Vec::new();
    let mut has_id = false;
    for col in columns {
        let name = col.name;
        let hint = view
            .hints
            .iter()
            .find(|(n, _)| *n == name.to_lowercase())
            .map(|(_, h)| h.clone())
            .unwrap_or(ColumnHint::Expr);
        if name == "id" {
            has_id = true;
            fields.push(view_id_field());
            continue;
        }
        // Where the value comes from: SQLite knows for real table columns;
        // for columns of other views, the SELECT's `alias.column` tells.
        let by_name = |t: &str, o: &str| {
            schema
                .collections
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(t))
                .map(|c| (c.clone(), o.to_owned()))
        };
        let source = match (col.table.as_deref(), col.origin.as_deref(), &hint) {
            (Some(t), Some(o), _) => by_name(t, o),
            (
                _,
                _,
                ColumnHint::Column {
                    table: Some(t),
                    column,
                },
            ) => by_name(t, column),
            _ => None,
        };
        let field = match hint {
            ColumnHint::Count => Field::new(
                &name,
                FieldKind::Number(NumberOptions {
                    only_int: true,
                    ..Default::default()
                }),
            ),
            ColumnHint::Total => Field::new(&name, FieldKind::Number(NumberOptions::default())),
            ColumnHint::CastNumber { only_int } => Field::new(
                &name,
                FieldKind::Number(NumberOptions {
                    only_int,
                    ..Default::default()
                }),
            ),
            ColumnHint::CastText => Field::new(&name, FieldKind::Text(Default::default())),
            ColumnHint::CastBool => Field::new(&name, FieldKind::Bool(Default::default())),
            ColumnHint::Column { .. } | ColumnHint::Expr => match source {
                Some((c, origin)) if origin == "id" => Field::new(
                    &name,
                    FieldKind::Relation(RelationOptions {
                        collection_id: c.id.clone(),
                        max_select: 1,
                        ..Default::default()
                    }),
                ),
                Some((c, origin)) => match c.field(&origin) {
                    Some(f) => {
                        let mut clone = f.clone();
                        clone.id = format!("_clone_{}", random_id(4));
                        clone.name = name.clone();
                        clone.system = false;
                        clone
                    }
                    None => json_field(&name),
                },
                None => json_field(&name),
            },
        };
        fields.push(field);
    }
    if !has_id {
        return Err(ViewError {
            message: "missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one)".into(),
            missing_id: true,
        });
    }
    Ok(fields)
}

/// A view's `id`: text, primary key, no generated values.
fn view_id_field() -> Field {
    let mut f = Field::new(
        "id",
        FieldKind::Text(crate::schema::field::TextOptions {
            required: true,
            primary_key: true,
            pattern: "^[a-z0-9]+$".into(),
            ..Default::default()
        }),
    );
    f.system = true;
    f
}

fn json_field(name: &str) -> Field {
    Field::new(
        name,
        FieldKind::Json(crate::schema::field::JsonOptions {
            max_size: 1,
            ..Default::default()
        }),
    )
}

/// (Re)creates the view `name` for a checked query.
pub fn create_view(db: &dyn Db, name: &str, view: &ParsedView) -> Result<(), ViewError> {
    db.batch(&format!(
        "DROP VIEW IF EXISTS {q}; CREATE VIEW {q} AS {}",
        sql_for(db, view),
        q = quote_ident(name)
    ))
    .map_err(|e| err(engine_message(&e)))
}

/// The stored query of a view collection.
pub fn query_of(options: &serde_json::Map<String, Value>) -> String {
    options
        .get("viewQuery")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Do all views still work (e.g. after a table they read was dropped)?
pub fn all_views_valid(db: &dyn Db, schema: &Schema, skip: &str) -> bool {
    let Some(conn) = db.sqlite() else {
        // PostgreSQL refuses to drop what a view depends on by itself.
        return true;
    };
    schema
        .collections
        .iter()
        .filter(|c| c.kind == crate::schema::CollectionKind::View && c.id != skip)
        .all(|c| {
            conn.prepare(&format!("SELECT * FROM {} LIMIT 0", quote_ident(&c.name)))
                .is_ok()
        })
}
