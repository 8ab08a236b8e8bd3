//! Collection use-cases: validate a submitted definition, then turn the
//! change into DDL inside one write job (so a failure leaves schema and data
//! exactly as before).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

mod auth_options;
mod definition;
mod list;
mod tx;

pub use list::list;

pub use tx::{delete_in, import_in, save_in};

use definition::{err, merge_and_validate, new_collection, view_query_error};

use super::Error;
use crate::schema::validate::FieldError;
use crate::schema::{Collection, CollectionKind, datetime, system};
use crate::store::{Store, collections as store_coll, ddl};

/// Every expression rule must parse and name real fields; errors are keyed
/// by the rule (`listRule`, ...) as PocketBase reports them.
fn check_rules(schema: &crate::store::Schema, c: &Collection, fail: &str) -> Result<(), Error> {
    let mut errors = Map::new();
    for (key, access) in crate::schema::collection::RULE_KEYS
        .iter()
        .zip(c.rules.iter())
    {
        if let crate::schema::Access::Rule(text) = access
            && let Err(msg) = crate::service::rules::validate_rule(schema, c, text)
        {
            errors.insert((*key).into(), err("validation_invalid_rule", &msg));
        }
    }
    // Cairn's field rules, keyed like PocketBase's nested field errors.
    let mut fields = Map::new();
    for (i, f) in c.fields.iter().enumerate() {
        let mut fe = Map::new();
        for (key, rule) in [("readRule", &f.read_rule), ("writeRule", &f.write_rule)] {
            if let Some(text) = rule
                && let Err(msg) = crate::service::rules::validate_rule(schema, c, text)
            {
                fe.insert(key.into(), err("validation_invalid_rule", &msg));
            }
        }
        if !fe.is_empty() {
            fields.insert(i.to_string(), Value::Object(fe));
        }
    }
    if !fields.is_empty() {
        errors.insert("fields".into(), Value::Object(fields));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(fail, errors))
    }
}

/// Infers a view collection's fields from its query (inside the write job:
/// it needs the database) and checks its rules against them.
fn build_view(
    conn: &crate::store::Conn,
    schema: &crate::store::Schema,
    c: &mut Collection,
    fail: &str,
) -> Result<(), Error> {
    let q = crate::store::views::query_of(&c.options);
    let parsed = crate::schema::view_query::parse(&q).map_err(|m| {
        let mut d = Map::new();
        d.insert("viewQuery".into(), view_query_error(&m));
        d.insert(
            "fields".into(),
            err("validation_required", "Cannot be blank."),
        );
        Error::invalid(fail, d)
    })?;
    let fields = crate::store::views::infer_fields(conn, schema, &parsed).map_err(|e| {
        let mut d = Map::new();
        d.insert("viewQuery".into(), view_query_error(&e.message));
        d.insert(
            "fields".into(),
            if e.missing_id {
                err(
                    "validation_missing_primary_key",
                    "Missing or invalid \"id\" PK field.",
                )
            } else {
                err("validation_required", "Cannot be blank.")
            },
        );
        Error::invalid(fail, d)
    })?;
    c.fields = fields;
    check_rules(schema, c, fail)
}

/// Creates a collection and its table.
pub async fn create(store: &Store, input: Value) -> Result<Value, Error> {
    let schema = store.schema();
    let c = plan_create(&schema, input)?;
    let c = store
        .write(move |ctx| {
            let c = run_create(ctx.conn, &schema, c)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(c)
        })
        .await?;
    Ok(c.to_json())
}

/// Validates a new collection's definition (no database access).
fn plan_create(schema: &crate::store::Schema, input: Value) -> Result<Collection, Error> {
    const FAIL: &str = "Failed to create collection.";
    let Value::Object(input) = input else {
        return Err(Error::bad(
            "Failed to load the collection type data due to invalid formatting.",
        ));
    };
    let kind_name = input.get("type").and_then(Value::as_str).unwrap_or("base");
    let Some(kind) = CollectionKind::parse(kind_name) else {
        let mut d = Map::new();
        d.insert(
            "type".into(),
            err("validation_in_invalid", "Must be a valid value."),
        );
        return Err(Error::invalid(FAIL, d));
    };
    let exists = |id: &str| schema.get(id).is_some_and(|c| c.id == id);
    let mut c = new_collection(kind, &input, &exists, schema.dialect)?;
    if kind != CollectionKind::View {
        check_rules(schema, &c, FAIL)?;
    }
    let now = datetime::now();
    c.created = now.clone();
    c.updated = now;
    Ok(c)
}

/// Creates the table and the `_collections` row (inside a write job).
fn run_create(
    conn: &crate::store::Conn,
    schema: &crate::store::Schema,
    mut c: Collection,
) -> Result<Collection, Error> {
    const FAIL: &str = "Failed to create collection.";
    if c.kind == CollectionKind::View {
        build_view(conn, schema, &mut c, FAIL)?;
    }
    check_unique(conn, &c, None)?;
    ddl::create_table(conn, &c).map_err(|e| index_failure(e, FAIL))?;
    store_coll::insert(conn, &c)?;
    Ok(c)
}

fn check_unique(
    conn: &crate::store::Conn,
    c: &Collection,
    own_id: Option<&str>,
) -> Result<(), Error> {
    let fail = if own_id.is_some() {
        "Failed to update collection."
    } else {
        "Failed to create collection."
    };
    let mut errors = Map::new();
    if let Some(other) = store_coll::find(conn, &c.name)?
        && Some(other.id.as_str()) != own_id
    {
        errors.insert(
            "name".into(),
            err(
                "validation_collection_name_exists",
                "Collection name must be unique (case insensitive).",
            ),
        );
    }
    if own_id.is_none() && errors.is_empty() && store_coll::find(conn, &c.id)?.is_some() {
        errors.insert(
            "id".into(),
            err(
                "validation_invalid_or_existing_id",
                "The model id is invalid or already exists.",
            ),
        );
    }
    let mut index_errors = Map::new();
    for (i, d) in ddl::index_defs(c).iter().enumerate() {
        if let Some(table) = store_coll::index_owner(conn, &d.name)? {
            let mine = own_id.is_some_and(|id| {
                store_coll::find(conn, id)
                    .ok()
                    .flatten()
                    .is_some_and(|old| old.name.eq_ignore_ascii_case(&table))
            });
            if !mine {
                index_errors.insert(
                    i.to_string(),
                    FieldError::new(
                        "validation_existing_index_name",
                        format!("The index name is already used in {table} collection."),
                    )
                    .with_params(json!({"usedTableName": table}))
                    .to_json(),
                );
            }
        }
    }
    if !index_errors.is_empty() {
        errors.insert("indexes".into(), Value::Object(index_errors));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(fail, errors))
    }
}

/// Maps a failed CREATE INDEX (e.g. duplicates under a new UNIQUE index) to
/// PocketBase's `indexes.N` error; other failures stay internal.
fn index_failure(e: crate::store::StoreError, fail: &str) -> Error {
    if let Some(why) = e.dependency() {
        return view_dependency(fail, &why);
    }
    let crate::store::StoreError::Index { pos, name, detail } = e else {
        return Error::from(e);
    };
    let mut idx = Map::new();
    idx.insert(
        pos.to_string(),
        err(
            "validation_invalid_index_expression",
            &format!("Failed to create index {name} - {detail}."),
        ),
    );
    let mut d = Map::new();
    d.insert("indexes".into(), Value::Object(idx));
    Error::invalid(fail, d)
}

/// PostgreSQL keeps views working by refusing to drop what they read (SQLite
/// would leave the view broken): the change is refused with its reason.
fn view_dependency(fail: &str, why: &str) -> Error {
    let mut d = Map::new();
    d.insert(
        "fields".into(),
        err(
            "validation_view_dependency",
            &format!("{why} (a view reads it)"),
        ),
    );
    Error::invalid(fail, d)
}

/// Updates a collection; the table is rebuilt only when fields or the name change.
pub async fn update(
    store: &Store,
    existing: Arc<Collection>,
    input: Value,
) -> Result<Value, Error> {
    let schema = store.schema();
    let c = plan_update(&schema, &existing, input)?;
    let c = store
        .write(move |ctx| {
            let c = run_update(ctx.conn, &schema, &existing.id, c)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(c)
        })
        .await?;
    crate::service::files::cleanup::poke();
    Ok(c.to_json())
}

/// Merges and validates an update (no database access).
fn plan_update(
    schema: &crate::store::Schema,
    existing: &Collection,
    input: Value,
) -> Result<Collection, Error> {
    const FAIL: &str = "Failed to update collection.";
    let Value::Object(input) = input else {
        return Err(Error::bad(
            "Failed to load the collection type data due to invalid formatting.",
        ));
    };
    if let Some(t) = input.get("type").and_then(Value::as_str)
        && t != existing.kind.as_str()
    {
        let mut d = Map::new();
        d.insert(
            "type".into(),
            err(
                "validation_collection_type_change",
                "Collection type cannot be changed.",
            ),
        );
        return Err(Error::invalid(FAIL, d));
    }
    let exists = |id: &str| schema.get(id).is_some_and(|c| c.id == id);
    let mut c = merge_and_validate(existing, &input, false, &exists, schema.dialect)?;
    if c.kind != CollectionKind::View {
        check_rules(schema, &c, FAIL)?;
    }
    c.updated = datetime::now();
    Ok(c)
}

/// Applies an update's DDL and row (inside a write job).
fn run_update(
    conn: &crate::store::Conn,
    schema: &crate::store::Schema,
    old_id: &str,
    mut c: Collection,
) -> Result<Collection, Error> {
    const FAIL: &str = "Failed to update collection.";
    let old = store_coll::find_for_update(conn, old_id)?.ok_or_else(Error::missing_record)?;
    check_unique(conn, &c, Some(&old.id))?;
    if c.kind == CollectionKind::View {
        build_view(conn, schema, &mut c, FAIL)?;
        ddl::drop_table(conn, &old).map_err(|e| index_failure(e, FAIL))?;
        ddl::create_table(conn, &c)?;
    } else if old.fields != c.fields || old.name != c.name {
        crate::service::files::cleanup::forget_dropped_fields(conn, &old, &c)?;
        ddl::rebuild_table(conn, &old, &c).map_err(|e| index_failure(e, FAIL))?;
    } else if old.indexes != c.indexes {
        ddl::drop_indexes(conn, &old)?;
        ddl::create_indexes(conn, &c).map_err(|e| index_failure(e, FAIL))?;
    }
    store_coll::update(conn, &c)?;
    Ok(c)
}

/// Deletes a collection and its table; refused for system collections and
/// collections other collections still reference.
pub async fn delete(store: &Store, c: Arc<Collection>) -> Result<(), Error> {
    let schema = store.schema();
    plan_delete(&schema, &c)?;
    store
        .write(move |ctx| {
            run_delete(ctx.conn, &schema, &c)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(())
        })
        .await?;
    crate::service::files::cleanup::poke();
    Ok(())
}

/// Refuses deleting system collections and collections others reference.
fn plan_delete(schema: &crate::store::Schema, c: &Collection) -> Result<(), Error> {
    if c.system {
        return Err(Error::bad("Failed to delete collection."));
    }
    let referencing: Vec<String> = schema
        .collections
        .iter()
        .filter(|o| {
            o.id != c.id && o.kind != CollectionKind::View && o.relations_to(&c.id).next().is_some()
        })
        .map(|o| o.name.clone())
        .collect();
    if !referencing.is_empty() {
        return Err(Error::bad(&format!(
            "Failed to delete collection probably due to existing reference in {}.",
            referencing.join(", ")
        )));
    }
    Ok(())
}

/// Drops the table and the row (inside a write job).
fn run_delete(
    conn: &crate::store::Conn,
    schema: &crate::store::Schema,
    c: &Collection,
) -> Result<(), Error> {
    crate::service::files::cleanup::forget_collection(conn, c)?;
    if let Err(e) = ddl::drop_table(conn, c) {
        return Err(match e.dependency() {
            Some(_) => Error::bad("Failed to delete collection."),
            None => e.into(),
        });
    }
    // A view still reading this table would break: refuse.
    if !crate::store::views::all_views_valid(conn, schema, &c.id) {
        return Err(Error::bad("Failed to delete collection."));
    }
    store_coll::delete(conn, &c.id)?;
    Ok(())
}

/// `PUT /api/collections/import`: creates or replaces many collections at once.
pub async fn import(store: &Store, input: Value) -> Result<(), Error> {
    let schema = store.schema();
    let plan = plan_import(&schema, input)?;
    store
        .write(move |ctx| {
            run_import(ctx.conn, plan)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(())
        })
        .await?;
    crate::service::files::cleanup::poke();
    Ok(())
}

/// What an import would do, without doing it (the dashboard's diff
/// preview): the collections it would delete, and each collection it would
/// save with the one it replaces (`None`: created). Validation errors are
/// the import's own.
#[allow(clippy::type_complexity)]
pub fn import_plan(
    store: &Store,
    input: Value,
) -> Result<
    (
        Vec<Arc<Collection>>,
        Vec<(Option<Arc<Collection>>, Collection)>,
    ),
    Error,
> {
    let plan = plan_import(&store.schema(), input)?;
    Ok((plan.delete, plan.save))
}

/// What an import will do: collections to drop, and collections to create
/// (no old one) or replace.
struct ImportPlan {
    delete: Vec<Arc<Collection>>,
    save: Vec<(Option<Arc<Collection>>, Collection)>,
}

/// Validates an import body (no database access).
fn plan_import(schema: &crate::store::Schema, input: Value) -> Result<ImportPlan, Error> {
    const FAIL: &str = "Failed to import collections.";
    let list = match input.get("collections") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(Error::bad(
                "An error occurred while loading the submitted data.",
            ));
        }
    };
    if list.is_empty() {
        let mut d = Map::new();
        d.insert(
            "collections".into(),
            err("validation_required", "Cannot be blank."),
        );
        return Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            d,
        ));
    }
    let delete_missing = input
        .get("deleteMissing")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // Collections in the same import may reference each other.
    let incoming: HashSet<String> = list
        .iter()
        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let exists = |id: &str| incoming.contains(id) || schema.get(id).is_some_and(|c| c.id == id);
    let mut planned: Vec<(Option<Arc<Collection>>, Collection)> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(Error::bad(FAIL));
        };
        let existing = obj
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| schema.get(id))
            .or_else(|| {
                obj.get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| schema.get(n))
            });
        let result = match &existing {
            Some(e) => merge_and_validate(e, obj, false, &exists, schema.dialect),
            None => {
                let kind = obj
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(CollectionKind::parse)
                    .unwrap_or(CollectionKind::Base);
                // Its own id is not "existing" for the id check.
                let mut plain = obj.clone();
                plain.remove("id");
                new_collection(kind, &plain, &exists, schema.dialect).map(|mut c| {
                    if let Some(id) = obj
                        .get("id")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                    {
                        c.id = id.to_owned();
                    }
                    c
                })
            }
        };
        let mut c = match result {
            Ok(c) => c,
            Err(Error::BadRequest(msg, data)) => {
                let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
                let mut d = Map::new();
                d.insert(
                    "collections".into(),
                    err(
                        "validation_collections_import_failure",
                        &format!(
                            "Data validations failed for collection {name:?} (item {i}): {msg} {}.",
                            Value::Object(data)
                        ),
                    ),
                );
                return Err(Error::invalid(FAIL, d));
            }
            Err(e) => return Err(e),
        };
        let now = datetime::now();
        if existing.is_none() {
            c.created = now.clone();
        }
        c.updated = now;
        system::ensure_token_secrets(&mut c);
        planned.push((existing, c));
    }
    let keep: HashSet<String> = planned.iter().map(|(_, c)| c.id.clone()).collect();
    let to_delete: Vec<Arc<Collection>> = if delete_missing {
        schema
            .collections
            .iter()
            .filter(|c| !c.system && !keep.contains(&c.id))
            .cloned()
            .collect()
    } else {
        vec![]
    };
    Ok(ImportPlan {
        delete: to_delete,
        save: planned,
    })
}

/// Applies an import plan (inside a write job).
fn run_import(conn: &crate::store::Conn, plan: ImportPlan) -> Result<(), Error> {
    const FAIL: &str = "Failed to import collections.";
    for c in &plan.delete {
        crate::service::files::cleanup::forget_collection(conn, c)?;
        ddl::drop_table(conn, c)?;
        store_coll::delete(conn, &c.id)?;
    }
    for (old, c) in &plan.save {
        match old {
            Some(old) => {
                let old = store_coll::find_for_update(conn, &old.id)?
                    .ok_or_else(Error::missing_record)?;
                if old.fields != c.fields || old.name != c.name {
                    crate::service::files::cleanup::forget_dropped_fields(conn, &old, c)?;
                    ddl::rebuild_table(conn, &old, c).map_err(|e| index_failure(e, FAIL))?;
                } else if old.indexes != c.indexes {
                    ddl::drop_indexes(conn, &old)?;
                    ddl::create_indexes(conn, c).map_err(|e| index_failure(e, FAIL))?;
                }
                store_coll::update(conn, c)?;
            }
            None => {
                check_unique(conn, c, None)?;
                ddl::create_table(conn, c).map_err(|e| index_failure(e, FAIL))?;
                store_coll::insert(conn, c)?;
            }
        }
    }
    Ok(())
}
