//! Coercion of submitted field values, PocketBase-style.
//!
//! `coerce` never fails: it turns whatever JSON a client sent into the
//! canonical stored shape of the field (numeric strings become numbers, `null`
//! becomes `""`, and so on). Modifiers (`n+`, `+tags`, `tags-`) are applied
//! here too. Validation of the canonical value lives in `validate.rs`.

use serde_json::{Value, json};

use super::datetime;
use super::field::{Field, FieldKind};

/// A JSON number PocketBase-style: integral floats print without `.0`.
pub fn number(f: f64) -> Value {
    let negative_zero = f == 0.0 && f.is_sign_negative();
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 && !negative_zero {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::from(0))
    }
}

fn scalar_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Text coercion: scalars print, everything else is blank.
pub fn coerce_text(v: &Value) -> String {
    scalar_to_string(v)
}

/// Numbers: numeric strings parse, everything else is 0; NaN/Inf are kept so
/// validation can reject them.
pub fn to_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        // Overflow ("1e400") is 0 like any unparsable text; spelled-out
        // infinities and NaN stay so validation can reject them.
        Value::String(s) => match s.parse::<f64>() {
            Ok(f) if f.is_infinite() && !s.to_ascii_lowercase().contains("inf") => 0.0,
            Ok(f) => f,
            Err(_) => 0.0,
        },
        _ => 0.0,
    }
}

fn to_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True"),
        _ => false,
    }
}

/// List values: arrays, JSON-array strings, or a single scalar; deduped, no blanks.
pub fn to_list(v: &Value) -> Vec<String> {
    let items: Vec<String> = match v {
        Value::Array(a) => a.iter().map(scalar_to_string).collect(),
        Value::String(s) if s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Vec<Value>>(s) {
                Ok(a) => a.iter().map(scalar_to_string).collect(),
                Err(_) => vec![s.clone()],
            }
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => vec![scalar_to_string(v)],
        _ => vec![],
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for s in items {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn list_value(kind: &FieldKind, items: Vec<String>) -> Value {
    if kind.is_multiple() {
        Value::Array(items.into_iter().map(Value::String).collect())
    } else {
        Value::String(items.into_iter().last().unwrap_or_default())
    }
}

/// Turns submitted JSON into the field's canonical value.
pub fn coerce(field: &Field, v: &Value) -> Value {
    match &field.kind {
        FieldKind::Text(_) | FieldKind::Editor(_) | FieldKind::Password(_) => {
            Value::String(scalar_to_string(v))
        }
        FieldKind::Email(_) | FieldKind::Url(_) => Value::String(scalar_to_string(v)),
        FieldKind::Number(_) => {
            let f = to_number(v);
            if f.is_finite() {
                number(f)
            } else {
                // Kept as a marker string so validation reports it.
                Value::String("NaN".into())
            }
        }
        FieldKind::Bool(_) => Value::Bool(to_bool(v)),
        FieldKind::Date(_) | FieldKind::Autodate(_) => Value::String(match v {
            Value::String(s) => datetime::normalize(s).unwrap_or_default(),
            _ => String::new(),
        }),
        FieldKind::Select(_) | FieldKind::Relation(_) | FieldKind::File(_) => {
            list_value(&field.kind, to_list(v))
        }
        FieldKind::Json(_) => match v {
            Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
            other => other.clone(),
        },
        FieldKind::GeoPoint(_) => {
            let (lon, lat) = match v {
                Value::Object(o) => (
                    o.get("lon").and_then(Value::as_f64),
                    o.get("lat").and_then(Value::as_f64),
                ),
                Value::String(s) => match serde_json::from_str::<Value>(s) {
                    Ok(Value::Object(o)) => (
                        o.get("lon").and_then(Value::as_f64),
                        o.get("lat").and_then(Value::as_f64),
                    ),
                    _ => (None, None),
                },
                _ => (None, None),
            };
            json!({"lon": number(lon.unwrap_or(0.0)), "lat": number(lat.unwrap_or(0.0))})
        }
    }
}

/// Applies a `field+` / `+field` / `field-` modifier to the current value.
/// Returns `None` when the field type ignores modifiers (text and friends).
pub fn apply_modifier(field: &Field, current: &Value, op: Modifier, arg: &Value) -> Option<Value> {
    match &field.kind {
        FieldKind::Number(_) => {
            let cur = to_number(current);
            let delta = to_number(arg);
            match op {
                Modifier::Append => Some(number(cur + delta)),
                Modifier::Remove => Some(number(cur - delta)),
                // PocketBase has no "prepend" for numbers: the key is ignored.
                Modifier::Prepend => None,
            }
        }
        FieldKind::Select(_) | FieldKind::Relation(_) | FieldKind::File(_) => {
            let mut cur = to_list(current);
            let args = to_list(arg);
            match op {
                Modifier::Append => cur.extend(args),
                Modifier::Prepend => {
                    let mut n = args;
                    n.extend(cur);
                    cur = n;
                }
                Modifier::Remove => cur.retain(|x| !args.contains(x)),
            }
            let mut dedup: Vec<String> = Vec::with_capacity(cur.len());
            for s in cur {
                if !dedup.contains(&s) {
                    dedup.push(s);
                }
            }
            // Multi fields keep every item so maxSelect can reject overflow.
            Some(if field.kind.is_multiple() {
                Value::Array(dedup.into_iter().map(Value::String).collect())
            } else {
                Value::String(dedup.into_iter().last().unwrap_or_default())
            })
        }
        _ => None,
    }
}

/// The three body-key modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Append,
    Prepend,
    Remove,
}

/// Splits `name+`, `+name`, `name-` into the name and the modifier.
pub fn split_modifier(key: &str) -> (&str, Option<Modifier>) {
    if let Some(n) = key.strip_suffix('+') {
        (n, Some(Modifier::Append))
    } else if let Some(n) = key.strip_prefix('+') {
        (n, Some(Modifier::Prepend))
    } else if let Some(n) = key.strip_suffix('-') {
        (n, Some(Modifier::Remove))
    } else {
        (key, None)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::field::*;
    use crate::schema::validate::validate;

    fn f(kind: FieldKind) -> Field {
        Field::new("x", kind)
    }

    #[test]
    fn numbers_coerce_like_pocketbase() {
        let n = f(FieldKind::Number(NumberOptions::default()));
        let cases = [
            (json!("123"), json!(123)),
            (json!("12.5"), json!(12.5)),
            (json!("abc"), json!(0)),
            (json!(true), json!(1)),
            (json!(null), json!(0)),
            (json!([1]), json!(0)),
            (json!("1e3"), json!(1000)),
            (json!(" 7 "), json!(0)),
        ];
        for (input, want) in cases {
            assert_eq!(coerce(&n, &input), want, "{input}");
        }
        assert_eq!(
            validate(&n, &coerce(&n, &json!("NaN"))).unwrap_err().code,
            "validation_not_a_number"
        );
    }

    #[test]
    fn selects_coerce_like_pocketbase() {
        let single = f(FieldKind::Select(SelectOptions {
            values: vec!["a".into(), "b".into()],
            max_select: 1,
            ..Default::default()
        }));
        assert_eq!(coerce(&single, &json!(["a", "b"])), json!("b"));
        assert_eq!(coerce(&single, &json!(null)), json!(""));
        let multi = f(FieldKind::Select(SelectOptions {
            values: vec!["a".into(), "b".into(), "c".into()],
            max_select: 3,
            ..Default::default()
        }));
        assert_eq!(coerce(&multi, &json!(["c", "a", "c"])), json!(["c", "a"]));
        assert_eq!(coerce(&multi, &json!("[\"a\",\"b\"]")), json!(["a", "b"]));
        let err = validate(&multi, &json!(["a", "d"])).unwrap_err();
        assert_eq!(err.code, "validation_invalid_value");
    }

    #[test]
    fn bools_and_text() {
        let b = f(FieldKind::Bool(BoolOptions::default()));
        for (i, want) in [
            (json!("t"), true),
            (json!("yes"), false),
            (json!(2), true),
            (json!("2"), false),
        ] {
            assert_eq!(coerce(&b, &i), json!(want), "{i}");
        }
        let t = f(FieldKind::Text(TextOptions::default()));
        assert_eq!(coerce(&t, &json!(12.5)), json!("12.5"));
        assert_eq!(coerce(&t, &json!(["a"])), json!(""));
    }

    #[test]
    fn modifiers() {
        let n = f(FieldKind::Number(NumberOptions::default()));
        assert_eq!(
            apply_modifier(&n, &json!(5), Modifier::Remove, &json!("2")),
            Some(json!(3))
        );
        let tags = f(FieldKind::Select(SelectOptions {
            max_select: 3,
            ..Default::default()
        }));
        assert_eq!(
            apply_modifier(&tags, &json!(["a"]), Modifier::Prepend, &json!("b")),
            Some(json!(["b", "a"]))
        );
        assert_eq!(split_modifier("+x"), ("x", Some(Modifier::Prepend)));
        let t = f(FieldKind::Text(TextOptions::default()));
        assert_eq!(
            apply_modifier(&t, &json!("a"), Modifier::Append, &json!("b")),
            None
        );
    }
}
