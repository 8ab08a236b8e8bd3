//! Collection use-cases: validate a submitted definition, then turn the
//! change into DDL inside one write job (so a failure leaves schema and data
//! exactly as before).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Error;
use crate::schema::collection::{RULE_KEYS, is_common_key};
use crate::schema::names::{CollectionName, FieldName, NameError, new_collection_id};
use crate::schema::value::FieldError;
use crate::schema::{
    Access, Collection, CollectionKind, Field, datetime, field_check, index, system,
};
use crate::store::{Store, collections as store_coll, ddl};

/// Field names a collection may not use (they clash with API keywords).
const RESERVED_FIELD_NAMES: &[&str] = &["expand", "collectionId", "collectionName"];

fn err(code: &'static str, msg: &str) -> Value {
    FieldError::new(code, msg).to_json()
}

fn name_error(e: NameError) -> Value {
    match e {
        NameError::Blank => err("validation_required", "Cannot be blank."),
        NameError::TooLong(max) => FieldError::new(
            "validation_length_out_of_range",
            format!("The length must be between 1 and {max}."),
        )
        .with_params(json!({"max": max, "min": 1}))
        .to_json(),
        NameError::InvalidFormat => err("validation_match_invalid", "Must be in a valid format."),
    }
}

/// Parses the submitted `fields`: an exact repeat of a name replaces the
/// earlier definition (keeping its id, as PocketBase does), and system fields
/// the input left out are kept (`id` first, the others after the input's).
fn parse_fields(base: &Collection, list: &[Value]) -> Result<Vec<Field>, Error> {
    let mut parsed: Vec<Field> = Vec::with_capacity(list.len() + 6);
    for v in list {
        let mut f = Field::from_json(v).map_err(|_| {
            Error::bad("Failed to load the submitted data due to invalid formatting.")
        })?;
        let explicit_id = v
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        match parsed.iter_mut().find(|p| p.name == f.name) {
            Some(prev) if !explicit_id => {
                f.id = prev.id.clone();
                *prev = f;
            }
            _ => parsed.push(f),
        }
    }
    for sf in base.fields.iter().filter(|f| f.system) {
        if parsed.iter().any(|f| f.id == sf.id) {
            continue;
        }
        if sf.name == "id" {
            parsed.insert(0, sf.clone());
        } else {
            parsed.push(sf.clone());
        }
    }
    Ok(parsed)
}

/// Applies a submitted JSON body onto a base definition (scaffold or the
/// stored collection) and validates everything that needs no write access.
/// `exists` answers whether a collection id exists (for relation targets).
fn merge_and_validate(
    base: &Collection,
    input: &Map<String, Value>,
    creating: bool,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Collection, Error> {
    let fail = if creating {
        "Failed to create collection."
    } else {
        "Failed to update collection."
    };
    let mut c = base.clone();
    let mut errors = Map::new();
    if let Some(v) = input.get("name") {
        c.name = v.as_str().unwrap_or_default().to_owned();
    }
    if let Err(e) = CollectionName::parse(&c.name) {
        errors.insert("name".into(), name_error(e));
    }
    if !creating && base.system && c.name != base.name {
        errors.insert(
            "name".into(),
            err(
                "validation_collection_system_name_change",
                "System collection name cannot be changed.",
            ),
        );
    }
    if creating
        && let Some(id) = input
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    {
        if CollectionName::parse(id).is_err() {
            errors.insert(
                "id".into(),
                err("validation_match_invalid", "Must be in a valid format."),
            );
        } else if exists(id) {
            errors.insert(
                "id".into(),
                err(
                    "validation_invalid_or_existing_id",
                    "The model id is invalid or already exists.",
                ),
            );
        }
    }
    for (i, k) in RULE_KEYS.iter().enumerate() {
        if let Some(v) = input.get(*k) {
            match Access::from_json(Some(v)) {
                Some(a) => c.rules[i] = a,
                None => {
                    errors.insert((*k).into(), err("validation_invalid_rule", "Invalid rule."));
                }
            }
        }
    }
    for (k, v) in input {
        if is_common_key(k) || !base.options.contains_key(k) {
            continue;
        }
        let mut merged = base.options.get(k).cloned().unwrap_or(Value::Null);
        crate::store::settings::merge(&mut merged, v);
        c.options.insert(k.clone(), merged);
    }
    if let Some(fields) = input.get("fields") {
        let Some(list) = fields.as_array() else {
            return Err(Error::bad(
                "Failed to load the submitted data due to invalid formatting.",
            ));
        };
        c.fields = parse_fields(base, list)?;
    }
    let own_id = c.id.clone();
    let exists_or_self = |id: &str| id == own_id || exists(id);
    let mut field_errors = Map::new();
    let mut seen = HashSet::new();
    for (i, f) in c.fields.iter().enumerate() {
        if let Some(old) = base.fields.iter().find(|o| o.id == f.id)
            && old.kind.type_name() != f.kind.type_name()
        {
            field_errors.insert(
                i.to_string(),
                err(
                    "validation_field_type_change",
                    "Field type cannot be changed.",
                ),
            );
            continue;
        }
        let mut fe = field_check::check(f, &exists_or_self);
        if let Err(e) = FieldName::parse(&f.name) {
            fe.insert("name".into(), name_error(e));
        } else if RESERVED_FIELD_NAMES.contains(&f.name.as_str()) {
            fe.insert(
                "name".into(),
                err("validation_not_in_invalid", "Must not be in list."),
            );
        } else if !seen.insert(f.name.to_lowercase()) {
            fe.insert(
                "name".into(),
                FieldError::new(
                    "validation_duplicated_field_name",
                    format!("Duplicated or invalid field name {}.", f.name),
                )
                .with_params(json!({"fieldName": f.name}))
                .to_json(),
            );
        }
        if let Some(old) = base.fields.iter().find(|o| o.id == f.id)
            && old.system
            && old.name != f.name
        {
            fe.insert(
                "name".into(),
                err(
                    "validation_system_field_change",
                    "System field name cannot be changed.",
                ),
            );
        }
        if !fe.is_empty() {
            field_errors.insert(i.to_string(), Value::Object(fe));
        }
    }
    if !field_errors.is_empty() {
        errors.insert("fields".into(), Value::Object(field_errors));
    }
    if let Some(v) = input.get("indexes") {
        c.indexes = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    if !creating && c.name != base.name {
        c.indexes = c
            .indexes
            .iter()
            .map(|s| retarget_index(s, &base.name, &c.name))
            .collect();
    }
    let mut index_errors = Map::new();
    let mut index_names = HashSet::new();
    for (i, s) in c.indexes.iter().enumerate() {
        let has = |n: &str| c.field(n).is_some();
        let e = match index::parse(s, &has) {
            Ok(d) if !index_names.insert(d.name.to_lowercase()) => Some(err(
                "validation_duplicated_index_name",
                "The index name already exists.",
            )),
            Ok(_) => None,
            Err(index::IndexError::Syntax) => Some(err(
                "validation_invalid_index_expression",
                "Invalid CREATE INDEX expression.",
            )),
            Err(index::IndexError::UnknownColumn(col)) => Some(err(
                "validation_invalid_index_expression",
                &format!(
                    "Failed to create index {} - no such column: {col}.",
                    index_name_of(s)
                ),
            )),
        };
        if let Some(e) = e {
            index_errors.insert(i.to_string(), e);
        }
    }
    if !index_errors.is_empty() {
        errors.insert("indexes".into(), Value::Object(index_errors));
    }
    if c.kind == CollectionKind::View {
        errors.insert(
            "type".into(),
            err(
                "validation_in_invalid",
                "View collections are not supported yet.",
            ),
        );
    }
    if !errors.is_empty() {
        return Err(Error::invalid(fail, errors));
    }
    Ok(c)
}

/// The index name in a `CREATE INDEX` string, for messages.
fn index_name_of(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("INDEX"))
        .and_then(|i| {
            let mut j = i + 1;
            if words.get(j).is_some_and(|w| w.eq_ignore_ascii_case("IF")) {
                j += 3;
            }
            words.get(j)
        })
        .map(|w| w.trim_matches(['`', '"', '[', ']']).to_owned())
        .unwrap_or_default()
}

/// Points an index string at a renamed table (`ON old` -> `ON new`).
fn retarget_index(sql: &str, old: &str, new: &str) -> String {
    let pattern = format!(r#"(?i)\bON\s+[`"\[]?{}[`"\]]?(\s*\()"#, regex::escape(old));
    match regex::Regex::new(&pattern) {
        Ok(re) => re
            .replace(sql, |caps: &regex::Captures<'_>| {
                format!("ON `{new}`{}", &caps[1])
            })
            .into_owned(),
        Err(_) => sql.to_owned(),
    }
}

fn scaffold_for(kind: CollectionKind) -> Result<Collection, Error> {
    let c = match kind {
        CollectionKind::Auth => system::auth_scaffold(),
        _ => system::base_scaffold(),
    };
    c.ok_or_else(|| Error::Internal("missing scaffold".into()))
}

/// A new collection from the scaffold of its kind plus the input, validated,
/// with its id (given or derived like PocketBase's) and secrets.
fn new_collection(
    kind: CollectionKind,
    input: &Map<String, Value>,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Collection, Error> {
    let mut base = scaffold_for(kind)?;
    base.kind = kind;
    let name = input
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    base.id = match input.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => new_collection_id(kind.as_str(), name),
    };
    let mut c = merge_and_validate(&base, input, true, exists)?;
    c.system = false;
    if c.is_auth() {
        ensure_auth_indexes(&mut c);
        system::ensure_token_secrets(&mut c);
    }
    Ok(c)
}

/// Auth collections always carry unique indexes on `tokenKey` and `email`.
fn ensure_auth_indexes(c: &mut Collection) {
    let has = |c: &Collection, col: &str| {
        ddl::index_defs(c)
            .iter()
            .any(|d| d.unique && d.columns.len() == 1 && d.columns[0].name == col)
    };
    // Scaffold indexes name no table; give them this collection's.
    c.indexes.retain(|s| !s.contains("ON ``"));
    if !has(c, "tokenKey") {
        c.indexes.push(format!(
            "CREATE UNIQUE INDEX `idx_tokenKey_{}` ON `{}` (`tokenKey`)",
            c.id, c.name
        ));
    }
    if !has(c, "email") {
        c.indexes.push(format!(
            "CREATE UNIQUE INDEX `idx_email_{}` ON `{}` (`email`) WHERE `email` != ''",
            c.id, c.name
        ));
    }
}

/// Creates a collection and its table.
pub async fn create(store: &Store, input: Value) -> Result<Value, Error> {
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
    let schema = store.schema();
    let exists = |id: &str| schema.get(id).is_some_and(|c| c.id == id);
    let mut c = new_collection(kind, &input, &exists)?;
    let now = datetime::now();
    c.created = now.clone();
    c.updated = now;
    let c = store
        .write(move |ctx| {
            check_unique(ctx.conn, &c, None)?;
            ddl::create_table(ctx.conn, &c).map_err(|e| index_failure(e, FAIL))?;
            store_coll::insert(ctx.conn, &c)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(c)
        })
        .await?;
    Ok(c.to_json())
}

fn check_unique(
    conn: &rusqlite::Connection,
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

/// Updates a collection; the table is rebuilt only when fields or the name change.
pub async fn update(
    store: &Store,
    existing: Arc<Collection>,
    input: Value,
) -> Result<Value, Error> {
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
    let schema = store.schema();
    let exists = |id: &str| schema.get(id).is_some_and(|c| c.id == id);
    let mut c = merge_and_validate(&existing, &input, false, &exists)?;
    c.updated = datetime::now();
    let old = Arc::clone(&existing);
    let c = store
        .write(move |ctx| {
            let old = store_coll::find(ctx.conn, &old.id)?.ok_or_else(Error::missing_record)?;
            check_unique(ctx.conn, &c, Some(&old.id))?;
            if old.fields != c.fields || old.name != c.name {
                ddl::rebuild_table(ctx.conn, &old, &c).map_err(|e| index_failure(e, FAIL))?;
            } else if old.indexes != c.indexes {
                ddl::drop_indexes(ctx.conn, &old)?;
                ddl::create_indexes(ctx.conn, &c).map_err(|e| index_failure(e, FAIL))?;
            }
            store_coll::update(ctx.conn, &c)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(c)
        })
        .await?;
    Ok(c.to_json())
}

/// Deletes a collection and its table; refused for system collections and
/// collections other collections still reference.
pub async fn delete(store: &Store, c: Arc<Collection>) -> Result<(), Error> {
    if c.system {
        return Err(Error::bad("Failed to delete collection."));
    }
    let referencing: Vec<String> = store
        .schema()
        .collections
        .iter()
        .filter(|o| o.id != c.id && o.relations_to(&c.id).next().is_some())
        .map(|o| o.name.clone())
        .collect();
    if !referencing.is_empty() {
        return Err(Error::bad(&format!(
            "Failed to delete collection probably due to existing reference in {}.",
            referencing.join(", ")
        )));
    }
    store
        .write(move |ctx| {
            ddl::drop_table(ctx.conn, &c)?;
            store_coll::delete(ctx.conn, &c.id)?;
            ctx.schema_changed = true;
            Ok(())
        })
        .await
}

/// `PUT /api/collections/import`: creates or replaces many collections at once.
pub async fn import(store: &Store, input: Value) -> Result<(), Error> {
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
    let schema = store.schema();
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
            Some(e) => merge_and_validate(e, obj, false, &exists),
            None => {
                let kind = obj
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(CollectionKind::parse)
                    .unwrap_or(CollectionKind::Base);
                // Its own id is not "existing" for the id check.
                let mut plain = obj.clone();
                plain.remove("id");
                new_collection(kind, &plain, &exists).map(|mut c| {
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
    store
        .write(move |ctx| {
            for c in &to_delete {
                ddl::drop_table(ctx.conn, c)?;
                store_coll::delete(ctx.conn, &c.id)?;
            }
            for (old, c) in &planned {
                match old {
                    Some(old) => {
                        let old = store_coll::find(ctx.conn, &old.id)?
                            .ok_or_else(Error::missing_record)?;
                        if old.fields != c.fields || old.name != c.name {
                            ddl::rebuild_table(ctx.conn, &old, c)
                                .map_err(|e| index_failure(e, FAIL))?;
                        } else if old.indexes != c.indexes {
                            ddl::drop_indexes(ctx.conn, &old)?;
                            ddl::create_indexes(ctx.conn, c).map_err(|e| index_failure(e, FAIL))?;
                        }
                        store_coll::update(ctx.conn, c)?;
                    }
                    None => {
                        check_unique(ctx.conn, c, None)?;
                        ddl::create_table(ctx.conn, c).map_err(|e| index_failure(e, FAIL))?;
                        store_coll::insert(ctx.conn, c)?;
                    }
                }
            }
            ctx.schema_changed = true;
            Ok(())
        })
        .await
}

/// Lists collections in the paged envelope (system ones first).
pub fn list(store: &Store, page: i64, per_page: i64, skip_total: bool) -> Value {
    let schema = store.schema();
    let page = page.max(1);
    let per_page = if per_page <= 0 {
        30
    } else {
        per_page.min(1000)
    };
    let total = schema.collections.len() as i64;
    let items: Vec<Value> = schema
        .collections
        .iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(|c| c.to_json())
        .collect();
    let (total_items, total_pages) = if skip_total {
        (-1, -1)
    } else {
        (total, (total + per_page - 1) / per_page)
    };
    json!({
        "page": page,
        "perPage": per_page,
        "totalItems": total_items,
        "totalPages": total_pages,
        "items": items,
    })
}
