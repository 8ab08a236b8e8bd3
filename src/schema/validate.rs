//! Validation of canonical field values: PocketBase's error codes, messages
//! and params. Checks that need the database (relations exist, uniqueness)
//! live in the store and services.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::{Map, Value, json};

use super::datetime;
use super::field::{Field, FieldKind};
use super::value::{number, to_list};

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

/// The answer for an empty value: an error only when the field is required.
fn blank(required: bool) -> Result<(), FieldError> {
    if required {
        Err(FieldError::required())
    } else {
        Ok(())
    }
}

/// Select and relation values: no more than `maxSelect` (0 means 1).
fn at_most(count: usize, max_select: i64) -> Result<(), FieldError> {
    let max = max_select.max(1);
    if count as i64 > max {
        return Err(FieldError::new(
            "validation_too_many_values",
            format!("Select no more than {max}."),
        )
        .with_params(json!({"maxSelect": max})));
    }
    Ok(())
}

/// Validates a canonical value. Password fields are validated on the plain
/// text before hashing.
pub fn validate(field: &Field, v: &Value) -> Result<(), FieldError> {
    let required = field.kind.required();
    match &field.kind {
        FieldKind::Text(o) => {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return blank(required);
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
                return blank(required);
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
                return blank(required);
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
                return blank(required);
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
                return blank(required);
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
                return blank(required);
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
                return blank(required);
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
                return blank(required);
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
            at_most(items.len(), o.max_select)
        }
        FieldKind::Relation(o) => {
            let items = to_list(v);
            if items.is_empty() {
                return blank(required);
            }
            if o.min_select > 0 && (items.len() as i64) < o.min_select {
                return Err(FieldError::new(
                    "validation_not_enough_values",
                    format!("Select at least {}.", o.min_select),
                )
                .with_params(json!({"minSelect": o.min_select})));
            }
            at_most(items.len(), o.max_select)
        }
        FieldKind::File(o) => {
            let items = to_list(v);
            if items.is_empty() {
                return blank(required);
            }
            let max = o.max_select.max(1);
            if items.len() as i64 > max {
                return Err(FieldError::new(
                    "validation_too_many_files",
                    format!("The maximum allowed files is {max}."),
                )
                .with_params(json!({"maxSelect": max})));
            }
            Ok(())
        }
        FieldKind::Json(o) => {
            let empty = match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            };
            if empty {
                return blank(required);
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
                return blank(required);
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
