//! Record use-cases: create, view, update, delete and list.
//!
//! Coercion, modifiers and validation run inside the writer job, against the
//! stored record, so concurrent `views+` updates never lose an increment and
//! a record is validated exactly as it will be written.

use std::collections::HashSet;
use std::sync::Arc;

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use super::{Actor, Error};
use crate::schema::value::{self, FieldError, Modifier};
use crate::schema::{Access, Collection, CollectionKind, FieldKind, RuleKind, datetime, names};
use crate::store::records::{self, Action, Row_, SortKey};
use crate::store::{Schema, Store, StoreError};

/// Largest page size; bigger requests are capped silently.
pub const MAX_PER_PAGE: i64 = 1000;
/// Page size when none (or a non-positive one) is given.
pub const DEFAULT_PER_PAGE: i64 = 30;
/// Deepest cascade-delete chain followed.
pub const MAX_CASCADE_DEPTH: usize = 32;

/// The outcome of checking an API rule before running the action.
enum Gate {
    Allow,
    /// An expression rule this actor does not satisfy.
    Deny,
}

fn gate(c: &Collection, kind: RuleKind, actor: &Actor) -> Result<Gate, Error> {
    if actor.is_superuser() {
        return Ok(Gate::Allow);
    }
    match c.rule(kind) {
        Access::Superusers => Err(Error::superusers_only()),
        Access::Anyone => Ok(Gate::Allow),
        // Expression rules are evaluated by the rule engine; until a rule is
        // satisfied it denies, which is the safe reading.
        Access::Rule(_) => Ok(Gate::Deny),
    }
}

/// The record as a client may see it.
pub fn to_public(c: &Collection, rec: &Row_, actor: &Actor) -> Value {
    let mut m = Map::with_capacity(rec.len() + 2);
    m.insert("collectionId".into(), c.id.clone().into());
    m.insert("collectionName".into(), c.name.clone().into());
    let superuser = actor.is_superuser();
    let id = rec.get("id").and_then(Value::as_str).unwrap_or_default();
    let owner = actor
        .identity()
        .is_some_and(|i| i.collection.id == c.id && i.id() == id);
    for f in &c.fields {
        if f.system && f.hidden && (f.name == "password" || f.name == "tokenKey") {
            continue;
        }
        if f.hidden && !superuser {
            continue;
        }
        if c.is_auth() && f.system && f.name == "email" && !superuser && !owner {
            let visible = rec
                .get("emailVisibility")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !visible {
                continue;
            }
        }
        let v = match f.kind {
            FieldKind::Password(_) => Value::String(String::new()),
            _ => rec
                .get(&f.name)
                .cloned()
                .unwrap_or_else(|| f.kind.zero_value()),
        };
        m.insert(f.name.clone(), v);
    }
    if superuser && c.is_auth() && c.name == crate::schema::system::SUPERUSERS {
        m.insert("verified".into(), true.into());
    }
    Value::Object(m)
}

/// The submitted body, already decoded from JSON or multipart.
pub type Input = Map<String, Value>;

/// Plain passwords from the body, hashed before the write job.
#[derive(Default)]
pub struct Hashed(Vec<(String, String, String)>);

/// Hashes every password field present in the body (argon2 is slow, so this
/// happens before the job reaches the writer thread).
pub async fn hash_passwords(c: &Collection, input: &Input) -> Result<Hashed, Error> {
    let mut out = Vec::new();
    for f in &c.fields {
        if let FieldKind::Password(_) = f.kind
            && let Some(v) = input.get(&f.name)
        {
            let plain = value::coerce(f, v).as_str().unwrap_or_default().to_owned();
            if !plain.is_empty() {
                let hash = super::auth::hash_password(plain.clone()).await?;
                out.push((f.name.clone(), plain, hash));
            }
        }
    }
    Ok(Hashed(out))
}

fn field_error(errors: &mut Map<String, Value>, name: &str, e: FieldError) {
    errors.entry(name.to_owned()).or_insert_with(|| e.to_json());
}

/// Applies the body to `rec`: plain keys set, modifier keys adjust.
fn apply_input(c: &Collection, rec: &mut Row_, input: &Input, superuser: bool) {
    // Plain assignments first, then modifiers (PocketBase's order).
    for pass in 0..2 {
        for (key, v) in input {
            let (name, modifier) = value::split_modifier(key);
            if (pass == 0) != modifier.is_none() {
                continue;
            }
            let Some(f) = c.field(name) else { continue };
            if f.hidden && !superuser {
                continue;
            }
            if f.name == "id" || matches!(f.kind, FieldKind::Autodate(_) | FieldKind::Password(_)) {
                continue;
            }
            if f.system && f.name == "tokenKey" {
                continue;
            }
            let new = match modifier {
                None => value::coerce(f, v),
                Some(m) => {
                    let cur = rec
                        .get(&f.name)
                        .cloned()
                        .unwrap_or_else(|| f.kind.zero_value());
                    match value::apply_modifier(f, &cur, m, v) {
                        Some(x) => x,
                        None => continue,
                    }
                }
            };
            rec.insert(f.name.clone(), new);
        }
    }
}

fn validate_record(
    conn: &Connection,
    schema: &Schema,
    c: &Collection,
    rec: &Row_,
    hashed: &Hashed,
    check_passwords: bool,
) -> Result<Map<String, Value>, StoreError> {
    let mut errors = Map::new();
    for f in &c.fields {
        if f.name == "id" {
            continue;
        }
        let v = rec.get(&f.name).cloned().unwrap_or(Value::Null);
        if let FieldKind::Password(_) = f.kind {
            let plain = hashed.0.iter().find(|(n, _, _)| n == &f.name);
            match plain {
                Some((_, p, _)) => {
                    if let Err(e) = value::validate(f, &Value::String(p.clone())) {
                        field_error(&mut errors, &f.name, e);
                    }
                }
                None if check_passwords && f.kind.required() => {
                    field_error(&mut errors, &f.name, FieldError::required())
                }
                None => {}
            }
            continue;
        }
        if let Err(e) = value::validate(f, &v) {
            field_error(&mut errors, &f.name, e);
            continue;
        }
        if let FieldKind::Relation(o) = &f.kind {
            let ids = value::to_list(&v);
            if !ids.is_empty() {
                let ok = match schema.get(&o.collection_id) {
                    Some(target) => records::count_existing(conn, &target, &ids)? == ids.len(),
                    None => false,
                };
                if !ok {
                    field_error(
                        &mut errors,
                        &f.name,
                        FieldError::new(
                            "validation_missing_rel_records",
                            "Failed to find all relation records with the provided ids.",
                        ),
                    );
                }
            }
        }
    }
    Ok(errors)
}

fn not_unique(e: &StoreError, fail: &str) -> Option<Error> {
    let cols = records::unique_violation(e)?;
    let mut data = Map::new();
    for col in cols {
        data.insert(
            col,
            FieldError::new("validation_not_unique", "Value must be unique.").to_json(),
        );
    }
    Some(Error::invalid(fail, data))
}

fn store_err(e: StoreError, fail: &str) -> Error {
    not_unique(&e, fail).unwrap_or_else(|| Error::from(e))
}

/// Creates a record.
pub async fn create(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    input: Input,
) -> Result<Value, Error> {
    const FAIL: &str = "Failed to create record.";
    if c.kind == CollectionKind::View {
        return Err(Error::bad(FAIL));
    }
    if let Gate::Deny = gate(&c, RuleKind::Create, actor)? {
        return Err(Error::bad(FAIL));
    }
    let hashed = hash_passwords(&c, &input).await?;
    let schema = store.schema();
    let superuser = actor.is_superuser();
    let coll = Arc::clone(&c);
    let rec = store
        .write(move |ctx| {
            let c = coll;
            let now = datetime::now();
            let mut rec = Row_::new();
            for f in &c.fields {
                rec.insert(f.name.clone(), f.kind.zero_value());
            }
            apply_input(&c, &mut rec, &input, superuser);
            let mut errors = Map::new();
            if c.is_auth() {
                check_passwords(&input, &hashed, true, &mut errors);
                if !errors.is_empty() {
                    return Err(Error::invalid(FAIL, errors));
                }
            }
            new_files(&c, &rec, &Row_::new(), &mut errors);
            // The id: submitted (validated as text) or generated.
            let id_field = c.field("id");
            let id = match input.get("id").map(value::coerce_text) {
                Some(s) if !s.is_empty() => {
                    if let Some(f) = id_field
                        && let Err(e) = value::validate(f, &Value::String(s.clone()))
                    {
                        field_error(&mut errors, "id", e);
                    }
                    s
                }
                _ => names::new_record_id(),
            };
            rec.insert("id".into(), id.clone().into());
            for f in &c.fields {
                match &f.kind {
                    FieldKind::Autodate(o) if o.on_create => {
                        rec.insert(f.name.clone(), now.clone().into());
                    }
                    FieldKind::Text(o) if !o.autogenerate_pattern.is_empty() && f.name != "id" => {
                        let empty = rec
                            .get(&f.name)
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty);
                        if empty && let Some(v) = value::autogenerate(&o.autogenerate_pattern) {
                            rec.insert(f.name.clone(), v.into());
                        }
                    }
                    _ => {}
                }
            }
            if c.is_auth() {
                auth_create_rules(&c, &mut rec, &input, superuser, &mut errors);
            }
            for (name, _, hash) in &hashed.0 {
                rec.insert(name.clone(), hash.clone().into());
            }
            for (k, v) in validate_record(ctx.conn, &schema, &c, &rec, &hashed, true)? {
                errors.entry(k).or_insert(v);
            }
            if !errors.is_empty() {
                return Err(Error::invalid(FAIL, errors));
            }
            records::insert(ctx.conn, &c, &rec).map_err(|e| store_err(e, FAIL))?;
            records::append_change(ctx, &c, &id, Action::Create, &rec)?;
            Ok(rec)
        })
        .await?;
    Ok(to_public(&c, &rec, actor))
}

/// The `password` / `passwordConfirm` pair of auth collections. PocketBase
/// reports these alone, before any other field.
fn check_passwords(
    input: &Input,
    hashed: &Hashed,
    creating: bool,
    errors: &mut Map<String, Value>,
) {
    let confirm = input
        .get("passwordConfirm")
        .map(value::coerce_text)
        .unwrap_or_default();
    let plain = hashed
        .0
        .iter()
        .find(|(n, _, _)| n == "password")
        .map(|(_, p, _)| p.as_str());
    match plain {
        None if creating => {
            errors.insert("password".into(), FieldError::required().to_json());
            if confirm.is_empty() {
                errors.insert("passwordConfirm".into(), FieldError::required().to_json());
            }
        }
        None => {}
        Some(_) if confirm.is_empty() => {
            errors.insert("passwordConfirm".into(), FieldError::required().to_json());
        }
        Some(p) if p != confirm => {
            errors.insert(
                "passwordConfirm".into(),
                FieldError::new("validation_values_mismatch", "Values don't match.").to_json(),
            );
        }
        Some(_) => {}
    }
}

/// File fields take new files only as uploads: a plain string that is not
/// already one of the record's files is rejected.
fn new_files(c: &Collection, rec: &Row_, old: &Row_, errors: &mut Map<String, Value>) {
    for f in &c.fields {
        if !matches!(f.kind, FieldKind::File(_)) {
            continue;
        }
        let existing = old.get(&f.name).map(value::to_list).unwrap_or_default();
        let invalid: Vec<String> = rec
            .get(&f.name)
            .map(value::to_list)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| !existing.contains(n))
            .collect();
        if !invalid.is_empty() {
            errors.insert(
                f.name.clone(),
                FieldError::new(
                    "validation_invalid_file",
                    format!("Invalid new files: [{}].", invalid.join(" ")),
                )
                .with_params(json!({ "invalidFiles": invalid }))
                .to_json(),
            );
        }
    }
}

fn auth_create_rules(
    c: &Collection,
    rec: &mut Row_,
    input: &Input,
    superuser: bool,
    errors: &mut Map<String, Value>,
) {
    if !superuser {
        let wants_verified = input
            .get("verified")
            .and_then(|v| c.field("verified").map(|f| value::coerce(f, v)))
            == Some(Value::Bool(true));
        if wants_verified {
            errors.insert(
                "verified".into(),
                FieldError::new("validation_values_mismatch", "Values don't match.").to_json(),
            );
        }
        rec.insert("verified".into(), false.into());
    }
    if c.name == crate::schema::system::SUPERUSERS {
        rec.insert("verified".into(), true.into());
    }
}

/// Reads one record.
pub fn view(store: &Store, c: &Collection, actor: &Actor, id: &str) -> Result<Value, Error> {
    if let Gate::Deny = gate(c, RuleKind::View, actor)? {
        return Err(Error::missing_record());
    }
    let rec = store
        .read(|conn| records::get(conn, c, id))?
        .ok_or_else(Error::missing_record)?;
    Ok(to_public(c, &rec, actor))
}

/// Updates a record.
pub async fn update(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    id: String,
    input: Input,
) -> Result<Value, Error> {
    const FAIL: &str = "Failed to update record.";
    if let Gate::Deny = gate(&c, RuleKind::Update, actor)? {
        return Err(Error::missing_record());
    }
    let hashed = hash_passwords(&c, &input).await?;
    let schema = store.schema();
    let superuser = actor.is_superuser();
    let coll = Arc::clone(&c);
    let rec = store
        .write(move |ctx| {
            let c = coll;
            let mut rec = records::get(ctx.conn, &c, &id)?.ok_or_else(Error::missing_record)?;
            let mut errors = Map::new();
            if let Some(new_id) = input.get("id").map(value::coerce_text)
                && !new_id.is_empty()
                && new_id != id
            {
                errors.insert(
                    "id".into(),
                    FieldError::new(
                        "validation_pk_change",
                        "The record primary key cannot be changed.",
                    )
                    .to_json(),
                );
                return Err(Error::invalid(FAIL, errors));
            }
            let old = rec.clone();
            apply_input(&c, &mut rec, &input, superuser);
            new_files(&c, &rec, &old, &mut errors);
            let now = datetime::now();
            for f in &c.fields {
                if let FieldKind::Autodate(o) = &f.kind
                    && o.on_update
                {
                    rec.insert(f.name.clone(), now.clone().into());
                }
            }
            if c.is_auth() && hashed.0.iter().any(|(n, _, _)| n == "password") {
                check_passwords(&input, &hashed, false, &mut errors);
                rec.insert("tokenKey".into(), names::random_secret(50).into());
            }
            for (name, _, hash) in &hashed.0 {
                rec.insert(name.clone(), hash.clone().into());
            }
            for (k, v) in validate_record(ctx.conn, &schema, &c, &rec, &hashed, false)? {
                errors.entry(k).or_insert(v);
            }
            if !errors.is_empty() {
                return Err(Error::invalid(FAIL, errors));
            }
            records::update(ctx.conn, &c, &id, &rec).map_err(|e| store_err(e, FAIL))?;
            records::append_change(ctx, &c, &id, Action::Update, &rec)?;
            Ok(rec)
        })
        .await?;
    Ok(to_public(&c, &rec, actor))
}

/// Deletes a record, cascading or pulling references as the relations say.
pub async fn delete(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    id: String,
) -> Result<(), Error> {
    if let Gate::Deny = gate(&c, RuleKind::Delete, actor)? {
        return Err(Error::missing_record());
    }
    if c.kind == CollectionKind::View {
        return Err(Error::bad("Failed to delete record."));
    }
    let schema = store.schema();
    store
        .write(move |ctx| {
            let mut seen = HashSet::new();
            delete_in_tx(ctx, &schema, &c, &id, 0, &mut seen)
        })
        .await
}

/// Deletes one record and handles references to it (inside a write job).
pub fn delete_in_tx(
    ctx: &mut crate::store::WriteCtx<'_>,
    schema: &Schema,
    c: &Collection,
    id: &str,
    depth: usize,
    seen: &mut HashSet<(String, String)>,
) -> Result<(), Error> {
    if !seen.insert((c.id.clone(), id.to_owned())) {
        return Ok(());
    }
    if depth > MAX_CASCADE_DEPTH {
        return Err(Error::bad("Failed to delete record."));
    }
    let rec = records::get(ctx.conn, c, id)?.ok_or_else(Error::missing_record)?;
    for other in &schema.collections {
        if other.kind == CollectionKind::View {
            continue;
        }
        for (field, opts) in other.relations_to(&c.id) {
            for mut r in records::referencing(ctx.conn, other, field, id)? {
                let rid = r
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if other.id == c.id && rid == id {
                    continue;
                }
                let cur = r.get(&field.name).cloned().unwrap_or(Value::Null);
                let pulled = value::apply_modifier(field, &cur, Modifier::Remove, &json!([id]))
                    .unwrap_or_else(|| field.kind.zero_value());
                // Cascade only when the reference would be left empty; a
                // multi relation that keeps other ids just loses this one.
                if opts.cascade_delete && value::to_list(&pulled).is_empty() {
                    delete_in_tx(ctx, schema, other, &rid, depth + 1, seen)?;
                    continue;
                }
                if opts.required && value::to_list(&pulled).is_empty() {
                    return Err(Error::bad(
                        "Failed to delete record. Make sure that the record is not part of a required relation reference.",
                    ));
                }
                r.insert(field.name.clone(), pulled);
                let now = datetime::now();
                for f in &other.fields {
                    if let FieldKind::Autodate(o) = &f.kind
                        && o.on_update
                    {
                        r.insert(f.name.clone(), now.clone().into());
                    }
                }
                records::update(ctx.conn, other, &rid, &r)?;
                records::append_change(ctx, other, &rid, Action::Update, &r)?;
            }
        }
    }
    records::delete(ctx.conn, c, id)?;
    records::append_change(ctx, c, id, Action::Delete, &rec)?;
    Ok(())
}

/// Parsed list parameters.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub page: i64,
    pub per_page: i64,
    pub sort: String,
    pub skip_total: bool,
}

/// Parses `sort=-a,b` against the collection; unknown fields are an error.
pub fn parse_sort(c: &Collection, sort: &str, actor: &Actor) -> Result<Vec<SortKey>, Error> {
    let mut keys = Vec::new();
    if sort.trim().is_empty() {
        return Ok(keys);
    }
    for part in sort.split(',').map(str::trim) {
        let (desc, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if name == "@random" || name == "@rowid" {
            keys.push(SortKey {
                field: name.to_owned(),
                desc,
            });
            continue;
        }
        let ok = c.field(name).is_some_and(|f| {
            !matches!(f.kind, FieldKind::Password(_)) && (!f.hidden || actor.is_superuser())
        });
        if !ok {
            return Err(Error::bad(
                "Something went wrong while processing your request.",
            ));
        }
        keys.push(SortKey {
            field: name.to_owned(),
            desc,
        });
    }
    Ok(keys)
}

/// Lists a page of records in PocketBase's envelope.
pub fn list(store: &Store, c: &Collection, actor: &Actor, q: &ListQuery) -> Result<Value, Error> {
    let page = q.page.max(1);
    let per_page = if q.per_page <= 0 {
        DEFAULT_PER_PAGE
    } else {
        q.per_page.min(MAX_PER_PAGE)
    };
    let deny = matches!(gate(c, RuleKind::List, actor)?, Gate::Deny);
    let sort = parse_sort(c, &q.sort, actor)?;
    let (rows, total) = if deny || c.kind == CollectionKind::View {
        (vec![], if q.skip_total { -1 } else { 0 })
    } else {
        store.read(|conn| {
            records::list(
                conn,
                c,
                &sort,
                per_page,
                (page - 1) * per_page,
                !q.skip_total,
            )
        })?
    };
    let items: Vec<Value> = rows.iter().map(|r| to_public(c, r, actor)).collect();
    let total_pages = if total < 0 {
        -1
    } else {
        (total + per_page - 1) / per_page
    };
    Ok(json!({
        "page": page,
        "perPage": per_page,
        "totalItems": total,
        "totalPages": total_pages,
        "items": items,
    }))
}

/// Deletes every record of a collection, one by one, so relations and the
/// change log stay correct.
pub async fn truncate(store: &Store, c: Arc<Collection>) -> Result<(), Error> {
    let schema = store.schema();
    store
        .write(move |ctx| {
            let mut seen = HashSet::new();
            for id in records::all_ids(ctx.conn, &c)? {
                if seen.contains(&(c.id.clone(), id.clone())) {
                    continue;
                }
                delete_in_tx(ctx, &schema, &c, &id, 0, &mut seen)?;
            }
            Ok(())
        })
        .await
}
