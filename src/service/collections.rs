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
use crate::schema::{Access, Collection, CollectionKind, Field, datetime, index, system};
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

/// Applies a submitted JSON body onto a base definition (scaffold or the
/// stored collection) and validates everything that needs no database.
fn merge_and_validate(
    base: &Collection,
    input: &Map<String, Value>,
    creating: bool,
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
    match CollectionName::parse(&c.name) {
        Ok(_) => {}
        Err(e) => {
            errors.insert("name".into(), name_error(e));
        }
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
        if is_common_key(k) || k == "id" {
            continue;
        }
        let known = base.options.contains_key(k);
        if known {
            let mut merged = base.options.get(k).cloned().unwrap_or(Value::Null);
            crate::store::settings::merge(&mut merged, v);
            c.options.insert(k.clone(), merged);
        }
    }
    if let Some(fields) = input.get("fields") {
        let Some(list) = fields.as_array() else {
            return Err(Error::bad(
                "Failed to load the submitted data due to invalid formatting.",
            ));
        };
        let mut parsed = Vec::with_capacity(list.len() + 1);
        for v in list {
            let f = Field::from_json(v).map_err(|_| {
                Error::bad("Failed to load the submitted data due to invalid formatting.")
            })?;
            parsed.push(f);
        }
        // System fields cannot be removed: keep any that the input left out.
        for (pos, sf) in base.fields.iter().enumerate().filter(|(_, f)| f.system) {
            if !parsed.iter().any(|f| f.id == sf.id) {
                parsed.insert(pos.min(parsed.len()), sf.clone());
            }
        }
        c.fields = parsed;
    }
    let mut field_errors = Map::new();
    let mut seen = HashSet::new();
    for (i, f) in c.fields.iter().enumerate() {
        let mut fe = Map::new();
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
                err(
                    "validation_duplicated_field_name",
                    "Duplicated or invalid field name.",
                ),
            );
        }
        if let Some(old) = base.fields.iter().find(|o| o.id == f.id) {
            if old.kind.type_name() != f.kind.type_name() {
                field_errors.insert(
                    i.to_string(),
                    err(
                        "validation_field_type_change",
                        "Field type cannot be changed.",
                    ),
                );
                continue;
            }
            if old.system && old.name != f.name {
                fe.insert(
                    "name".into(),
                    err(
                        "validation_system_field_change",
                        "System field name cannot be changed.",
                    ),
                );
            }
        }
        if let crate::schema::FieldKind::Text(o) = &f.kind
            && !o.pattern.is_empty()
            && !crate::schema::value::is_valid_pattern(&o.pattern)
        {
            fe.insert(
                "pattern".into(),
                err("validation_invalid_regex", "Invalid regular expression."),
            );
        }
        if let crate::schema::FieldKind::Select(o) = &f.kind
            && o.values.is_empty()
        {
            fe.insert(
                "values".into(),
                err("validation_required", "Cannot be blank."),
            );
        }
        if let crate::schema::FieldKind::Relation(o) = &f.kind
            && o.collection_id.is_empty()
        {
            fe.insert(
                "collectionId".into(),
                err("validation_required", "Cannot be blank."),
            );
        }
        if !fe.is_empty() {
            field_errors.insert(i.to_string(), Value::Object(fe));
        }
    }
    if c.field("id").is_none() {
        field_errors.insert(
            "0".into(),
            err(
                "validation_missing_primary_key",
                "Missing primary key field.",
            ),
        );
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
    let mut index_errors = Map::new();
    let mut index_names = HashSet::new();
    for (i, s) in c.indexes.iter().enumerate() {
        let has = |n: &str| c.field(n).is_some();
        match index::parse(s, &has) {
            Ok(d) => {
                if !index_names.insert(d.name.to_lowercase()) {
                    index_errors.insert(
                        i.to_string(),
                        err(
                            "validation_duplicated_index_name",
                            "The index name must be unique.",
                        ),
                    );
                }
            }
            Err(index::IndexError::Syntax) => {
                index_errors.insert(
                    i.to_string(),
                    err(
                        "validation_invalid_index_expression",
                        "Invalid CREATE INDEX expression.",
                    ),
                );
            }
            Err(index::IndexError::UnknownColumn(col)) => {
                index_errors.insert(
                    i.to_string(),
                    err(
                        "validation_invalid_index_expression",
                        &format!("Failed to create index - no such column: {col}."),
                    ),
                );
            }
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

fn scaffold_for(kind: CollectionKind) -> Result<Collection, Error> {
    let c = match kind {
        CollectionKind::Auth => system::auth_scaffold(),
        _ => system::base_scaffold(),
    };
    c.ok_or_else(|| Error::Internal("missing scaffold".into()))
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
    let mut base = scaffold_for(kind)?;
    base.kind = kind;
    let mut c = merge_and_validate(&base, &input, true)?;
    c.id = match input.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => new_collection_id(c.kind.as_str(), &c.name),
    };
    let now = datetime::now();
    c.created = now.clone();
    c.updated = now;
    c.system = false;
    if c.is_auth() {
        // The scaffold's indexes name no table; give them this collection's.
        c.indexes = c
            .indexes
            .iter()
            .map(|s| {
                s.replace("ON ``", &format!("ON `{}`", c.name))
                    .replace(&scaffold_suffix(s), &c.id)
            })
            .collect();
        system::ensure_token_secrets(&mut c);
    }
    let c = store
        .write(move |ctx| {
            check_unique(ctx.conn, &c, None)?;
            ddl::create_table(ctx.conn, &c).map_err(|e| index_failure(e, &c, FAIL))?;
            store_coll::insert(ctx.conn, &c)?;
            ctx.schema_changed = true;
            Ok::<_, Error>(c)
        })
        .await?;
    Ok(c.to_json())
}

fn scaffold_suffix(index: &str) -> String {
    // `idx_email_<suffix>`: the part after the second underscore.
    index
        .split('`')
        .nth(1)
        .and_then(|n| n.splitn(3, '_').nth(2))
        .map(str::to_owned)
        .unwrap_or_else(|| "\u{0}".into())
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
    if own_id.is_none() && store_coll::find(conn, &c.id)?.is_some() {
        errors.insert(
            "id".into(),
            err("validation_not_unique", "Value must be unique."),
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
fn index_failure(e: crate::store::StoreError, c: &Collection, fail: &str) -> Error {
    let msg = e.to_string();
    if msg.contains("UNIQUE constraint failed") || msg.contains("index") {
        let pos = ddl::index_defs(c)
            .iter()
            .position(|d| msg.contains(&d.name))
            .unwrap_or(c.indexes.len().saturating_sub(1));
        let mut idx = Map::new();
        idx.insert(
            pos.to_string(),
            err(
                "validation_invalid_index_expression",
                &format!(
                    "Failed to create index - {}.",
                    msg.trim_start_matches("sqlite: ")
                ),
            ),
        );
        let mut d = Map::new();
        d.insert("indexes".into(), Value::Object(idx));
        return Error::invalid(fail, d);
    }
    Error::from(e)
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
    let mut c = merge_and_validate(&existing, &input, false)?;
    c.updated = datetime::now();
    let old = Arc::clone(&existing);
    let c = store
        .write(move |ctx| {
            let old = store_coll::find(ctx.conn, &old.id)?.ok_or_else(Error::missing_record)?;
            check_unique(ctx.conn, &c, Some(&old.id))?;
            if old.fields != c.fields || old.name != c.name {
                ddl::rebuild_table(ctx.conn, &old, &c).map_err(|e| index_failure(e, &c, FAIL))?;
            } else if old.indexes != c.indexes {
                ddl::drop_indexes(ctx.conn, &old)?;
                ddl::create_indexes(ctx.conn, &c).map_err(|e| index_failure(e, &c, FAIL))?;
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
    let list = input
        .get("collections")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        let mut d = Map::new();
        d.insert(
            "collections".into(),
            err("validation_required", "Cannot be blank."),
        );
        return Err(Error::invalid(FAIL, d));
    }
    let delete_missing = input
        .get("deleteMissing")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let schema = store.schema();
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
            Some(e) => merge_and_validate(e, obj, false),
            None => {
                let kind = obj
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(CollectionKind::parse)
                    .unwrap_or(CollectionKind::Base);
                let mut base = scaffold_for(kind)?;
                base.kind = kind;
                merge_and_validate(&base, obj, true).map(|mut c| {
                    c.id = obj
                        .get("id")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .unwrap_or_else(|| new_collection_id(c.kind.as_str(), &c.name));
                    c
                })
            }
        };
        let mut c = match result {
            Ok(c) => c,
            Err(Error::BadRequest(_, data)) => {
                let mut d = Map::new();
                let mut at = Map::new();
                at.insert(i.to_string(), Value::Object(data));
                d.insert("collections".into(), Value::Object(at));
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
                                .map_err(|e| index_failure(e, c, FAIL))?;
                        } else if old.indexes != c.indexes {
                            ddl::drop_indexes(ctx.conn, &old)?;
                            ddl::create_indexes(ctx.conn, c)
                                .map_err(|e| index_failure(e, c, FAIL))?;
                        }
                        store_coll::update(ctx.conn, c)?;
                    }
                    None => {
                        check_unique(ctx.conn, c, None)?;
                        ddl::create_table(ctx.conn, c).map_err(|e| index_failure(e, c, FAIL))?;
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
