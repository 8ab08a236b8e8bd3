//! Collection changes inside an already open transaction, for migrations:
//! the same checks and DDL as the REST API, against the schema as the
//! transaction sees it (earlier changes of the same migration included).

use serde_json::Value;

use super::{
    plan_create, plan_delete, plan_import, plan_update, run_create, run_delete, run_import,
    run_update,
};
use crate::schema::Collection;
use crate::service::Error;
use crate::store::Schema;

fn schema_of(conn: &crate::store::Conn) -> Result<Schema, Error> {
    Ok(Schema::load(conn)?)
}

/// Creates the collection, or updates the one with the same id.
pub fn save_in(conn: &crate::store::Conn, input: Value) -> Result<Collection, Error> {
    let schema = schema_of(conn)?;
    let existing = input
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .and_then(|id| schema.get(id).filter(|c| c.id == id));
    match existing {
        Some(old) => {
            let c = plan_update(&schema, &old, input)?;
            run_update(conn, &schema, &old.id, c)
        }
        None => {
            let c = plan_create(&schema, input)?;
            run_create(conn, &schema, c)
        }
    }
}

/// Deletes a collection by id or name.
pub fn delete_in(conn: &crate::store::Conn, name_or_id: &str) -> Result<(), Error> {
    let schema = schema_of(conn)?;
    let c = schema.get(name_or_id).ok_or_else(Error::missing_record)?;
    plan_delete(&schema, &c)?;
    run_delete(conn, &schema, &c)
}

/// `importCollections`: `{collections, deleteMissing}`.
pub fn import_in(conn: &crate::store::Conn, input: Value) -> Result<(), Error> {
    let schema = schema_of(conn)?;
    let plan = plan_import(&schema, input)?;
    run_import(conn, plan)
}
