//! Collection definitions: merge a submitted body onto a base (scaffold or
//! stored collection) and validate it the way PocketBase reports errors.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::schema::collection::{RULE_KEYS, is_common_key};
use crate::schema::names::{CollectionName, FieldName, NameError, new_collection_id};
use crate::schema::validate::FieldError;
use crate::schema::{Access, Collection, CollectionKind, Field, field_check, index, system};
use crate::service::Error;
use crate::store::ddl;
use crate::store::dialect::Dialect;

/// Field names a collection may not use (they clash with API keywords).
const RESERVED_FIELD_NAMES: &[&str] = &["expand", "collectionId", "collectionName"];

pub(super) fn err(code: &'static str, msg: &str) -> Value {
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

/// A name the store keeps whole (docs/scaling.md: PostgreSQL refuses names
/// over 63 bytes rather than cut them, as two cut names could become one).
fn fits(d: Dialect, name: &str) -> Result<(), NameError> {
    match d.max_identifier() {
        Some(max) if name.len() > max => Err(NameError::TooLong(max)),
        _ => Ok(()),
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
pub(super) fn merge_and_validate(
    base: &Collection,
    input: &Map<String, Value>,
    creating: bool,
    exists: &dyn Fn(&str) -> bool,
    d: Dialect,
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
    if let Err(e) = CollectionName::parse(&c.name).and_then(|_| fits(d, &c.name)) {
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
    // A view's fields come from its query, never from the client.
    if let Some(fields) = input
        .get("fields")
        .filter(|_| c.kind != CollectionKind::View)
    {
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
        if let Err(e) = FieldName::parse(&f.name).and_then(|_| fits(d, &f.name)) {
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
    if c.kind == CollectionKind::View {
        // Checked in `view_checks`; nothing to parse.
        return finish_view(c, errors, fail);
    }
    let mut index_errors = Map::new();
    let mut index_names = HashSet::new();
    for (i, s) in c.indexes.iter().enumerate() {
        let has = |n: &str| c.field(n).is_some();
        let e = match index::parse(s, &has) {
            Ok(def) if !index_names.insert(def.name.to_lowercase()) => Some(err(
                "validation_duplicated_index_name",
                "The index name already exists.",
            )),
            Ok(def) => fits(d, &def.name).err().map(name_error),
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
    super::auth_options::keep_secrets(base, &mut c);
    super::auth_options::validate(&mut c, &mut errors);
    if !errors.is_empty() {
        return Err(Error::invalid(fail, errors));
    }
    Ok(c)
}

fn finish_view(
    c: Collection,
    mut errors: Map<String, Value>,
    fail: &str,
) -> Result<Collection, Error> {
    view_checks(&c, &mut errors);
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(Error::invalid(fail, errors))
    }
}

/// What PocketBase requires of a view definition (without the database):
/// no write rules, no indexes, a query that parses as one SELECT.
fn view_checks(c: &Collection, errors: &mut Map<String, Value>) {
    for (key, kind) in [
        ("createRule", crate::schema::RuleKind::Create),
        ("updateRule", crate::schema::RuleKind::Update),
        ("deleteRule", crate::schema::RuleKind::Delete),
    ] {
        if !matches!(c.rule(kind), Access::Superusers) {
            errors.insert(key.into(), err("validation_nil", "Must be blank."));
        }
    }
    if !c.indexes.is_empty() {
        errors.insert(
            "indexes".into(),
            err(
                "validation_indexes_not_supported",
                "View collections don't support indexes.",
            ),
        );
    }
    let q = crate::store::views::query_of(&c.options);
    if q.trim().is_empty() {
        errors.insert(
            "viewQuery".into(),
            err("validation_required", "Cannot be blank."),
        );
        errors.insert(
            "fields".into(),
            err("validation_required", "Cannot be blank."),
        );
    } else if let Err(msg) = crate::schema::view_query::parse(&q) {
        errors.insert("viewQuery".into(), view_query_error(&msg));
        errors.insert(
            "fields".into(),
            err("validation_required", "Cannot be blank."),
        );
    }
}

/// `validation_invalid_view_query` with PocketBase's message.
pub(super) fn view_query_error(msg: &str) -> Value {
    let msg = msg.trim_end_matches('.');
    err(
        "validation_invalid_view_query",
        &format!("Invalid query - {msg}."),
    )
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
        CollectionKind::View => system::view_scaffold(),
        CollectionKind::Base => system::base_scaffold(),
    };
    c.ok_or_else(|| Error::Internal("missing scaffold".into()))
}

/// A new collection from the scaffold of its kind plus the input, validated,
/// with its id (given or derived like PocketBase's) and secrets.
pub(super) fn new_collection(
    kind: CollectionKind,
    input: &Map<String, Value>,
    exists: &dyn Fn(&str) -> bool,
    d: Dialect,
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
    let mut c = merge_and_validate(&base, input, true, exists, d)?;
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
