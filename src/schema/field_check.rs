//! Validation of field *definitions* (their options), as PocketBase reports
//! it under `data.fields.N.<option>`.

use regex::Regex;
use serde_json::{Map, Value, json};

use super::field::{DomainOptions, Field, FieldKind};
use super::validate::FieldError;

fn min_ge(threshold: i64) -> Value {
    FieldError::new(
        "validation_min_greater_equal_than_required",
        format!("Must be no less than {threshold}."),
    )
    .with_params(json!({"threshold": threshold}))
    .to_json()
}

fn required() -> Value {
    FieldError::required().to_json()
}

fn is_domain(d: &str) -> bool {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$").ok()
    })
    .as_ref()
    .is_some_and(|r| r.is_match(d))
}

fn domains(o: &DomainOptions, errors: &mut Map<String, Value>) {
    if !o.only_domains.is_empty() && !o.except_domains.is_empty() {
        let blank = FieldError::new("validation_empty", "Must be blank.").to_json();
        errors.insert("onlyDomains".into(), blank.clone());
        errors.insert("exceptDomains".into(), blank);
        return;
    }
    for (key, list) in [
        ("onlyDomains", &o.only_domains),
        ("exceptDomains", &o.except_domains),
    ] {
        let mut bad = Map::new();
        for (i, d) in list.iter().enumerate() {
            if !is_domain(d) {
                bad.insert(
                    i.to_string(),
                    FieldError::new("validation_is_domain", "Must be a valid domain.").to_json(),
                );
            }
        }
        if !bad.is_empty() {
            errors.insert(key.into(), Value::Object(bad));
        }
    }
}

/// Checks one field's options; `collection_exists` answers for relation
/// targets (by id only, like PocketBase).
pub fn check(f: &Field, collection_exists: &dyn Fn(&str) -> bool) -> Map<String, Value> {
    let mut e = Map::new();
    match &f.kind {
        FieldKind::Text(o) => {
            if o.min < 0 {
                e.insert("min".into(), min_ge(0));
            } else if o.max != 0 && o.max < o.min {
                e.insert("max".into(), min_ge(o.min));
            }
            if !o.pattern.is_empty() && !super::validate::is_valid_pattern(&o.pattern) {
                e.insert(
                    "pattern".into(),
                    FieldError::new("validation_invalid_regex", "Invalid regular expression.")
                        .to_json(),
                );
            }
        }
        FieldKind::Password(o) => {
            if o.min < 0 {
                e.insert("min".into(), min_ge(0));
            } else if o.max != 0 && o.max < o.min {
                e.insert("max".into(), min_ge(o.min));
            }
            // bcrypt's range, as PocketBase checks it; 0 = the default cost.
            if o.cost != 0 && o.cost < 4 {
                e.insert("cost".into(), min_ge(4));
            } else if o.cost > 31 {
                e.insert(
                    "cost".into(),
                    FieldError::new(
                        "validation_max_less_equal_than_required",
                        "Must be no greater than 31.",
                    )
                    .with_params(json!({ "threshold": 31 }))
                    .to_json(),
                );
            }
        }
        FieldKind::Number(o) => {
            if let (Some(min), Some(max)) = (o.min, o.max)
                && max < min
            {
                let m = super::value::number(min);
                e.insert(
                    "max".into(),
                    FieldError::new(
                        "validation_min_number_constraint",
                        format!("Must be greater or equal than {m}."),
                    )
                    .with_params(json!({ "min": m }))
                    .to_json(),
                );
            }
        }
        FieldKind::Select(o) => {
            if o.values.is_empty() {
                e.insert("values".into(), required());
            } else if o.max_select > o.values.len() as i64 {
                let n = o.values.len();
                e.insert(
                    "maxSelect".into(),
                    FieldError::new(
                        "validation_max_less_equal_than_required",
                        format!("Must be no greater than {n}."),
                    )
                    .with_params(json!({ "threshold": n }))
                    .to_json(),
                );
            }
        }
        FieldKind::Relation(o) => {
            if o.collection_id.is_empty() {
                e.insert("collectionId".into(), required());
            } else if !collection_exists(&o.collection_id) {
                e.insert(
                    "collectionId".into(),
                    FieldError::new(
                        "validation_field_relation_missing_collection",
                        "The relation collection doesn't exist.",
                    )
                    .to_json(),
                );
            }
            if o.min_select < 0 {
                e.insert("minSelect".into(), min_ge(0));
            } else if o.min_select > 0 && o.max_select < o.min_select {
                e.insert("maxSelect".into(), min_ge(o.min_select));
            }
        }
        FieldKind::Autodate(o) => {
            if !o.on_create && !o.on_update {
                let msg = FieldError::new(
                    "validation_required",
                    "Either onCreate or onUpdate must be enabled.",
                )
                .to_json();
                e.insert("onCreate".into(), msg.clone());
                e.insert("onUpdate".into(), msg);
            }
        }
        FieldKind::Email(o) | FieldKind::Url(o) => domains(o, &mut e),
        FieldKind::Json(o) => {
            if o.max_size < 0 {
                e.insert("maxSize".into(), min_ge(0));
            }
        }
        FieldKind::Editor(o) => {
            if o.max_size < 0 {
                e.insert("maxSize".into(), min_ge(0));
            }
        }
        FieldKind::File(o) => {
            if o.max_size < 0 {
                e.insert("maxSize".into(), min_ge(0));
            }
            let mut bad = Map::new();
            for (i, t) in o.thumbs.iter().enumerate() {
                if !is_thumb(t) {
                    bad.insert(
                        i.to_string(),
                        FieldError::new("validation_match_invalid", "Must be in a valid format.")
                            .to_json(),
                    );
                }
            }
            if !bad.is_empty() {
                e.insert("thumbs".into(), Value::Object(bad));
            }
        }
        FieldKind::Bool(_) | FieldKind::Date(_) | FieldKind::GeoPoint(_) => {}
    }
    e
}

/// `WxH`, optionally followed by `t`, `b` or `f`.
fn is_thumb(t: &str) -> bool {
    let t = t.strip_suffix(['t', 'b', 'f']).unwrap_or(t);
    let Some((w, h)) = t.split_once('x') else {
        return false;
    };
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    num(w) && num(h) && (w != "0" || h != "0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::field::*;

    #[test]
    fn thumbs() {
        for ok in ["100x100", "0x50", "10x20t", "10x0f"] {
            assert!(is_thumb(ok), "{ok}");
        }
        for bad in ["abc", "0x0", "10x", "x10", "10x10z"] {
            assert!(!is_thumb(bad), "{bad}");
        }
    }

    #[test]
    fn select_needs_values() {
        let f = Field::new("s", FieldKind::Select(SelectOptions::default()));
        assert!(check(&f, &|_| true).contains_key("values"));
    }
}
