//! Building and checking a record before it is written: body keys and
//! modifiers, field validation, relation existence, password pairs.

use crate::store::Conn;
use serde_json::{Map, Value, json};

use super::{Hashed, Input};
use crate::schema::validate::{self, FieldError};
use crate::schema::value;
use crate::schema::{Collection, FieldKind};
use crate::service::Error;
use crate::store::records::{self, Row_};
use crate::store::{Schema, StoreError};

pub(super) fn field_error(errors: &mut Map<String, Value>, name: &str, e: FieldError) {
    errors.entry(name.to_owned()).or_insert_with(|| e.to_json());
}

/// Applies the body to `rec`: plain keys set, modifier keys adjust.
pub(super) fn apply_input(c: &Collection, rec: &mut Row_, input: &Input, superuser: bool) {
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

pub(super) fn validate_record(
    conn: &Conn,
    schema: &Schema,
    c: &Collection,
    rec: &Row_,
    hashed: &Hashed,
    old: Option<&Row_>,
) -> Result<Map<String, Value>, StoreError> {
    // A create (no `old`) must set every required password.
    let check_passwords = old.is_none();
    let mut errors = Map::new();
    for f in &c.fields {
        if f.name == "id" {
            continue;
        }
        let v = rec.get(&f.name).cloned().unwrap_or(Value::Null);
        if let FieldKind::Password(_) = f.kind {
            let plain = hashed.0.iter().find(|(n, _, _)| n == &f.name);
            match plain {
                Some((_, p, _)) if p.is_empty() => {}
                Some((_, p, _)) => {
                    if let Err(e) = validate::validate(f, &Value::String(p.clone())) {
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
        if let Err(e) = validate::validate(f, &v) {
            field_error(&mut errors, &f.name, e);
            continue;
        }
        if let FieldKind::Relation(o) = &f.kind {
            // Ids an update leaves as they were are not looked up again:
            // deleting a record removes it from every relation pointing at
            // it (`delete.rs`), so they still exist.
            let unchanged = old.is_some_and(|prev| prev.get(&f.name).unwrap_or(&Value::Null) == &v);
            let ids = value::to_list(&v);
            if !ids.is_empty() && !unchanged {
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

pub(super) fn not_unique(e: &StoreError, fail: &str) -> Option<Error> {
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

pub(super) fn store_err(e: StoreError, fail: &str) -> Error {
    not_unique(&e, fail).unwrap_or_else(|| Error::from(e))
}

/// The `password` / `passwordConfirm` pair of auth collections. PocketBase
/// reports these alone, before any other field.
pub(super) fn check_passwords(
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
        Some("") => {}
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
pub(super) fn new_files(
    c: &Collection,
    rec: &Row_,
    old: &Row_,
    staged: &crate::service::files::Staged,
    errors: &mut Map<String, Value>,
) {
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
            .filter(|n| !existing.contains(n) && !staged.names_for(&f.name).any(|s| s == n))
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

pub(super) fn auth_create_rules(
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
