//! `@request.*` and `@collection`-free names whose values are known when
//! a rule is compiled: the request's method, query, headers, body and the
//! signed-in record (Cairn's roles among them), split from `resolver.rs`.

use serde_json::Value;

use super::{Old, RecordResolver, Walk, bad};
use crate::filter::ast::{Ident, Modifier};
use crate::filter::compile::{CompileError, Param, Params, Source};
use crate::schema::names::quote_ident;
use crate::schema::value;
use crate::schema::{Collection, FieldKind};

impl<'a> RecordResolver<'a> {
    pub(super) fn request(&self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
        let parts = &ident.parts;
        let section = parts.get(1).map(String::as_str).unwrap_or_default();
        let key = parts.get(2).cloned().unwrap_or_default();
        let simple = |v: Option<&Value>| -> Result<Source, CompileError> {
            let v = v.cloned().unwrap_or(Value::Null);
            Ok(Source::Value(apply_value_modifier(v, ident.modifier)?))
        };
        match section {
            "method" if parts.len() == 2 => {
                Ok(Source::Value(Value::String(self.req.method.clone())))
            }
            "context" if parts.len() == 2 => {
                Ok(Source::Value(Value::String(self.req.context.clone())))
            }
            "query" if parts.len() == 3 => simple(self.req.query.get(&key)),
            "headers" if parts.len() == 3 => simple(self.req.headers.get(&key.to_lowercase())),
            "body" if parts.len() == 3 => self.body(&key, ident.modifier, p),
            "auth" if parts.len() >= 3 => {
                let Some(auth) = &self.req.auth else {
                    // A guest has no roles (an empty list, not null, so
                    // `:length = 0` holds for guests too).
                    if key == "roles" && parts.len() == 3 {
                        return roles_source(&[], ident.modifier);
                    }
                    return Ok(Source::Value(Value::Null));
                };
                match key.as_str() {
                    "collectionId" => return Ok(Source::Value(auth.collection_id.clone().into())),
                    "collectionName" => {
                        return Ok(Source::Value(auth.collection_name.clone().into()));
                    }
                    _ => {}
                }
                let c = self.schema_collection(&auth.collection_id)?;
                if key == "roles" && parts.len() == 3 && c.field("roles").is_none() {
                    return roles_source(&auth.roles, ident.modifier);
                }
                self.record_value(c, Some(&auth.record), &parts[2..], ident.modifier, p)
            }
            _ => Err(bad(format!("unknown request field {:?}", parts.join(".")))),
        }
    }

    /// Cairn's `@old.FIELD…` in webhook filters: the main collection's
    /// record before the change, known before the query runs.
    pub(super) fn old(&self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
        let record = match self.old {
            Old::Unavailable => return Err(bad("@old is only available in webhook filters")),
            Old::Missing => None,
            Old::Record(r) => Some(r),
        };
        if matches!(ident.modifier, Some(Modifier::Isset | Modifier::Changed)) {
            return Err(bad(":isset and :changed are for @request.body"));
        }
        self.record_value(self.main, record, &ident.parts[1..], ident.modifier, p)
    }

    /// `FIELD[.sub…]` of a record whose values are known before the query
    /// runs (the caller's auth record, the record before a change): the
    /// value itself, or a walk on from a relation's ids. A missing record
    /// reads as nulls.
    fn record_value(
        &self,
        c: &'a Collection,
        record: Option<&serde_json::Map<String, Value>>,
        parts: &[String],
        modifier: Option<Modifier>,
        p: &mut Params,
    ) -> Result<Source, CompileError> {
        let key = parts.first().map(String::as_str).unwrap_or_default();
        let f = c
            .field(key)
            .ok_or_else(|| bad(format!("unknown field {key:?} of {}", c.name)))?;
        if matches!(f.kind, FieldKind::Password(_)) || f.name == "tokenKey" {
            return Err(bad(format!("unknown field {key:?} of {}", c.name)));
        }
        let v = record
            .and_then(|r| r.get(key))
            .cloned()
            .unwrap_or(Value::Null);
        if parts.len() == 1 && matches!(modifier, None | Some(Modifier::Each)) {
            // A multi-valued field: any-of / all-of like the record's own
            // multi-valued fields (no record: an empty list).
            match v {
                Value::Array(items) => return Ok(Source::Values(items)),
                Value::Null if f.kind.is_multiple() => return Ok(Source::Values(Vec::new())),
                _ => {}
            }
        }
        if parts.len() == 1 {
            return Ok(Source::Value(apply_value_modifier(v, modifier)?));
        }
        // Walk on from the record's relation value.
        let ph = p.bind(Param::from_json(&v));
        let FieldKind::Relation(o) = &f.kind else {
            return Err(bad(format!("field {key:?} has no sub-fields")));
        };
        let target = self.schema_collection(&o.collection_id)?;
        let j = p.alias()?;
        let mut walk = Walk {
            from: vec![format!("{} AS {j}", quote_ident(&target.name))],
            conds: vec![],
            many: f.kind.is_multiple(),
        };
        walk.conds.push(if f.kind.is_multiple() {
            let each = p.dialect.json_each(&ph, None, None);
            format!("{j}.\"id\" IN (SELECT value FROM {each})")
        } else {
            format!("{j}.\"id\" = {ph}")
        });
        self.walk(target, j, &parts[1..], modifier, walk, p)
    }

    fn body(
        &self,
        key: &str,
        modifier: Option<Modifier>,
        p: &mut Params,
    ) -> Result<Source, CompileError> {
        let raw = self.req.body.get(key);
        let field = self.main.field(key);
        let v = match (raw, field) {
            (Some(v), Some(f)) => value::coerce(f, v),
            (Some(v), None) => v.clone(),
            (None, _) => Value::Null,
        };
        match modifier {
            Some(Modifier::Isset) => Ok(Source::Value(Value::Bool(raw.is_some()))),
            Some(Modifier::Changed) => {
                let Some(f) = field else {
                    return Ok(Source::Value(Value::Bool(false)));
                };
                if raw.is_none() {
                    return Ok(Source::Value(Value::Bool(false)));
                }
                let ph = p.bind(Param::from_json(&v));
                let col = format!("{}.{}", quote_ident(&self.main.name), quote_ident(&f.name));
                Ok(Source::Scalar(format!(
                    "({ph} {} {col})",
                    p.dialect.is(true)
                )))
            }
            m => Ok(Source::Value(apply_value_modifier(v, m)?)),
        }
    }
}

/// Cairn's `@request.auth.roles`: the caller's role names as a
/// multi-valued operand (one bound JSON array).
fn roles_source(roles: &[String], modifier: Option<Modifier>) -> Result<Source, CompileError> {
    let list =
        |f: fn(&str) -> String| Source::Values(roles.iter().map(|r| Value::from(f(r))).collect());
    match modifier {
        Some(Modifier::Length) => Ok(Source::Value(Value::from(roles.len()))),
        Some(Modifier::Isset) => Ok(Source::Value(Value::Bool(true))),
        None | Some(Modifier::Each) => Ok(list(str::to_owned)),
        Some(Modifier::Lower) => Ok(list(str::to_lowercase)),
        Some(m) => Err(bad(format!(":{} is not supported here", m.as_str()))),
    }
}

fn apply_value_modifier(v: Value, m: Option<Modifier>) -> Result<Value, CompileError> {
    Ok(match m {
        None => v,
        Some(Modifier::Lower) => match v {
            Value::String(s) => Value::String(s.to_lowercase()),
            other => other,
        },
        Some(Modifier::Length) => Value::from(match &v {
            Value::Array(a) => a.len(),
            Value::Null => 0,
            Value::String(s) if s.is_empty() => 0,
            _ => 1,
        }),
        Some(Modifier::Isset) => Value::Bool(!v.is_null()),
        Some(m) => return Err(bad(format!(":{} is not supported here", m.as_str()))),
    })
}
