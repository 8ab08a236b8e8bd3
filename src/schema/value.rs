//! Coercion and validation of submitted field values, PocketBase-style.
//!
//! `coerce` never fails: it turns whatever JSON a client sent into the
//! canonical stored shape of the field (numeric strings become numbers, `null`
//! becomes `""`, and so on). `validate` then checks the canonical value
//! against the field's options and returns PocketBase's error code, message
//! and params. Checks that need the database (relations exist, uniqueness)
//! live in the store.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::{Map, Value, json};

use super::datetime;
use super::field::{Field, FieldKind};

/// Text fields without an explicit `max` accept this many characters.
pub const DEFAULT_TEXT_MAX: i64 = 5000;
/// Editor fields without an explicit `maxSize` accept this many bytes.
pub const DEFAULT_EDITOR_MAX_SIZE: i64 = 5 << 20;
/// JSON fields without an explicit `maxSize` accept this many bytes.
pub const DEFAULT_JSON_MAX_SIZE: i64 = 1 << 20;
/// Password fields without an explicit `max` accept this many characters.
pub const DEFAULT_PASSWORD_MAX: i64 = 71;

/// One field's validation failure in PocketBase's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
    pub params: Option<Value>,
}

impl FieldError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            params: None,
        }
    }
    pub fn with_params(mut self, params: Value) -> Self {
        self.params = Some(params);
        self
    }
    pub fn required() -> Self {
        Self::new("validation_required", "Cannot be blank.")
    }
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), self.code.into());
        m.insert("message".into(), self.message.clone().into());
        if let Some(p) = &self.params {
            m.insert("params".into(), p.clone());
        }
        Value::Object(m)
    }
}

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

fn cached_regex(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache.lock().ok()?;
    if map.len() > 1024 {
        map.clear();
    }
    map.entry(pattern.to_owned())
        .or_insert_with(|| Regex::new(pattern).ok())
        .clone()
}

/// Compiles a pattern; `false` if it is not a valid regular expression.
pub fn is_valid_pattern(pattern: &str) -> bool {
    cached_regex(pattern).is_some()
}

fn matches_pattern(pattern: &str, s: &str) -> bool {
    cached_regex(pattern).is_some_and(|r| r.is_match(s))
}

/// Is this an email address (ozzo-validation's loose check)?
pub fn is_email(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
            .expect("static email regex")
    });
    s.len() <= 254 && re.is_match(s)
}

/// The host of a URL as `is_url` accepts it, if valid.
pub fn url_host(s: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?(?:[^\s@/]+@)?(localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]{1,63}|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?(?:[/?#]\S*)?$")
            .expect("static url regex")
    });
    re.captures(s).map(|c| c[1].to_lowercase())
}

fn domain_allowed(domain: &str, only: &[String], except: &[String]) -> bool {
    let d = domain.to_lowercase();
    if !only.is_empty() {
        return only.iter().any(|x| x.to_lowercase() == d);
    }
    !except.iter().any(|x| x.to_lowercase() == d)
}

fn go_time(s: &str) -> (String, String) {
    // PocketBase prints Go's time format in messages and RFC 3339 in params.
    match datetime::parse(s) {
        Some(t) => {
            let iso = t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let msg = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            (msg, iso)
        }
        None => (s.to_owned(), s.to_owned()),
    }
}

/// Validates a canonical value. Password fields are validated on the plain
/// text before hashing.
pub fn validate(field: &Field, v: &Value) -> Result<(), FieldError> {
    let required = field.kind.required();
    match &field.kind {
        FieldKind::Text(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            let n = s.chars().count() as i64;
            if o.min > 0 && n < o.min {
                return Err(FieldError::new(
                    "validation_min_text_constraint",
                    format!("Must be at least {} character(s).", o.min),
                )
                .with_params(json!({"min": o.min})));
            }
            let max = if o.max > 0 { o.max } else { DEFAULT_TEXT_MAX };
            if n > max {
                return Err(FieldError::new(
                    "validation_max_text_constraint",
                    format!("Must be no more than {max} character(s)."),
                )
                .with_params(json!({"max": max})));
            }
            if !o.pattern.is_empty() && !matches_pattern(&o.pattern, s) {
                return Err(FieldError::new(
                    "validation_invalid_format",
                    "Invalid value format.",
                ));
            }
            Ok(())
        }
        FieldKind::Password(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            let n = s.chars().count() as i64;
            if o.min > 0 && n < o.min {
                return Err(FieldError::new(
                    "validation_min_text_constraint",
                    format!("Must be at least {} character(s).", o.min),
                ));
            }
            let max = if o.max > 0 {
                o.max
            } else {
                DEFAULT_PASSWORD_MAX
            };
            if n > max {
                return Err(FieldError::new(
                    "validation_max_text_constraint",
                    format!("Must be less than {max} character(s)."),
                ));
            }
            if !o.pattern.is_empty() && !matches_pattern(&o.pattern, s) {
                return Err(FieldError::new(
                    "validation_invalid_format",
                    "Invalid value format.",
                ));
            }
            Ok(())
        }
        FieldKind::Editor(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            let max = if o.max_size > 0 {
                o.max_size
            } else {
                DEFAULT_EDITOR_MAX_SIZE
            };
            if s.len() as i64 > max {
                return Err(FieldError::new(
                    "validation_content_size_limit",
                    format!("The maximum allowed content size is {max} bytes."),
                )
                .with_params(json!({"maxSize": max})));
            }
            Ok(())
        }
        FieldKind::Number(o) => {
            if v.as_str() == Some("NaN") {
                return Err(FieldError::new(
                    "validation_not_a_number",
                    "The submitted number is not properly formatted.",
                ));
            }
            let f = v.as_f64().unwrap_or(0.0);
            if f == 0.0 {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            if o.only_int && (f.fract() != 0.0 || f.abs() >= 9.0e15) {
                return Err(FieldError::new(
                    "validation_only_int_constraint",
                    "Decimal numbers are not allowed.",
                ));
            }
            if let Some(min) = o.min
                && f < min
            {
                return Err(FieldError::new(
                    "validation_min_number_constraint",
                    format!("Must be greater or equal than {}.", number(min)),
                )
                .with_params(json!({"min": number(min)})));
            }
            if let Some(max) = o.max
                && f > max
            {
                return Err(FieldError::new(
                    "validation_max_number_constraint",
                    format!("Must be less or equal than {}.", number(max)),
                )
                .with_params(json!({"max": number(max)})));
            }
            Ok(())
        }
        FieldKind::Bool(_) => {
            if required && v != &Value::Bool(true) {
                return Err(FieldError::required());
            }
            Ok(())
        }
        FieldKind::Email(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            if !is_email(s) {
                return Err(FieldError::new(
                    "validation_is_email",
                    "Must be a valid email address.",
                ));
            }
            let domain = s.rsplit('@').next().unwrap_or_default();
            if !domain_allowed(domain, &o.only_domains, &o.except_domains) {
                return Err(FieldError::new(
                    "validation_email_domain_not_allowed",
                    "Email domain is not allowed.",
                ));
            }
            Ok(())
        }
        FieldKind::Url(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            let Some(host) = url_host(s) else {
                return Err(FieldError::new(
                    "validation_invalid_url",
                    "Must be a valid url.",
                ));
            };
            if !domain_allowed(&host, &o.only_domains, &o.except_domains) {
                return Err(FieldError::new(
                    "validation_url_domain_not_allowed",
                    "Url domain is not allowed.",
                ));
            }
            Ok(())
        }
        FieldKind::Date(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            if let (Some(min), Some(t)) = (datetime::parse(&o.min), datetime::parse(s))
                && t < min
            {
                let (msg, iso) = go_time(&o.min);
                return Err(FieldError::new(
                    "validation_min_greater_equal_than_required",
                    format!("Must be no less than {msg}."),
                )
                .with_params(json!({"threshold": iso})));
            }
            if let (Some(max), Some(t)) = (datetime::parse(&o.max), datetime::parse(s))
                && t > max
            {
                let (msg, iso) = go_time(&o.max);
                return Err(FieldError::new(
                    "validation_max_less_equal_than_required",
                    format!("Must be no greater than {msg}."),
                )
                .with_params(json!({"threshold": iso})));
            }
            Ok(())
        }
        FieldKind::Autodate(_) => Ok(()),
        FieldKind::Select(o) => {
            let items = to_list(v);
            if items.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            for it in &items {
                if !o.values.contains(it) {
                    return Err(FieldError::new(
                        "validation_invalid_value",
                        format!("Invalid value {it}."),
                    )
                    .with_params(json!({"value": it})));
                }
            }
            let max = o.max_select.max(1);
            if items.len() as i64 > max {
                return Err(FieldError::new(
                    "validation_too_many_values",
                    format!("Select no more than {max}."),
                )
                .with_params(json!({"maxSelect": max})));
            }
            Ok(())
        }
        FieldKind::Relation(o) => {
            let items = to_list(v);
            if items.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            if o.min_select > 0 && (items.len() as i64) < o.min_select {
                return Err(FieldError::new(
                    "validation_not_enough_values",
                    format!("Select at least {}.", o.min_select),
                )
                .with_params(json!({"minSelect": o.min_select})));
            }
            let max = o.max_select.max(1);
            if items.len() as i64 > max {
                return Err(FieldError::new(
                    "validation_too_many_values",
                    format!("Select no more than {max}."),
                )
                .with_params(json!({"maxSelect": max})));
            }
            Ok(())
        }
        FieldKind::File(o) => {
            let items = to_list(v);
            if items.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            let max = o.max_select.max(1);
            if items.len() as i64 > max {
                return Err(FieldError::new(
                    "validation_too_many_files",
                    format!(
                        "The maximum number of allowed files is {max}, got {}.",
                        items.len()
                    ),
                )
                .with_params(json!({"maxSelect": max, "total": items.len()})));
            }
            Ok(())
        }
        FieldKind::Json(o) => {
            let blank = match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            };
            if blank {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            let max = if o.max_size > 0 {
                o.max_size
            } else {
                DEFAULT_JSON_MAX_SIZE
            };
            let size = serde_json::to_string(v).map(|s| s.len()).unwrap_or(0) as i64;
            if size > max {
                return Err(FieldError::new(
                    "validation_json_size_limit",
                    format!("The maximum allowed JSON size is {max} bytes."),
                )
                .with_params(json!({"maxSize": max})));
            }
            Ok(())
        }
        FieldKind::GeoPoint(_) => {
            let lon = v.get("lon").and_then(Value::as_f64).unwrap_or(0.0);
            let lat = v.get("lat").and_then(Value::as_f64).unwrap_or(0.0);
            if lon == 0.0 && lat == 0.0 {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(())
                };
            }
            if !(-180.0..=180.0).contains(&lon) {
                return Err(FieldError::new(
                    "validation_invalid_longitude",
                    "Longitude must be between -180 and 180 degrees.",
                ));
            }
            if !(-90.0..=90.0).contains(&lat) {
                return Err(FieldError::new(
                    "validation_invalid_latitude",
                    "Latitude must be between -90 and 90 degrees.",
                ));
            }
            Ok(())
        }
    }
}

/// Generates a value for a text field's `autogeneratePattern` of the form
/// `[class]{n}` (the only shape PocketBase's defaults use).
pub fn autogenerate(pattern: &str) -> Option<String> {
    let inner = pattern.strip_prefix('[')?;
    let (class, rest) = inner.split_once(']')?;
    let n: usize = rest.strip_prefix('{')?.strip_suffix('}')?.parse().ok()?;
    let mut alphabet = Vec::new();
    let b = class.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if i + 2 < b.len() && b[i + 1] == b'-' {
            for c in b[i]..=b[i + 2] {
                alphabet.push(c);
            }
            i += 3;
        } else {
            alphabet.push(b[i]);
            i += 1;
        }
    }
    if alphabet.is_empty() || n == 0 || n > 1000 {
        return None;
    }
    use rand::RngExt;
    let mut rng = rand::rng();
    Some(
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::field::*;

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

    #[test]
    fn urls_and_emails() {
        for ok in [
            "https://example.com",
            "example.com",
            "ftp://x.y",
            "http://localhost",
        ] {
            assert!(url_host(ok).is_some(), "{ok}");
        }
        for bad in ["1", "true", "javascript:alert(1)", "12.5"] {
            assert!(url_host(bad).is_none(), "{bad}");
        }
        assert!(is_email("A@B.CO"));
        assert!(!is_email(" a@b.co"));
    }

    #[test]
    fn autogenerate_patterns() {
        let id = autogenerate("[a-z0-9]{15}").expect("pattern");
        assert_eq!(id.len(), 15);
        assert_eq!(autogenerate("[a-zA-Z0-9]{50}").map(|s| s.len()), Some(50));
        assert_eq!(autogenerate("nope"), None);
    }
}
