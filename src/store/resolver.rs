//! The filter language's names, resolved against collections: fields,
//! relation chains, back-relations, `@collection` joins and `@request` values.
//!
//! Every identifier emitted here is a validated field or collection name,
//! quoted; everything from the request becomes a bound parameter.

use serde_json::Value;

use super::Schema;
use super::dialect::Dialect;
use crate::filter::ast::{Ident, Modifier, RequestInfo};
use crate::filter::compile::{CompileError, Param, Params, Resolver, Source};
use crate::schema::names::quote_ident;
use crate::schema::value;
use crate::schema::{Collection, CollectionKind, Field, FieldKind};

/// Resolves names for expressions evaluated against one collection's rows.
pub struct RecordResolver<'a> {
    pub schema: &'a Schema,
    pub main: &'a Collection,
    pub req: &'a RequestInfo,
    /// Rules may use hidden fields; a non-superuser's `filter` may not.
    pub allow_hidden: bool,
    /// `@collection.NAME[:alias]` joins shared by `?` conditions:
    /// (name, alias) -> (join alias, FROM item).
    pub shared: Vec<((String, String), String, String)>,
    /// Fields of the main collection with read rules that a non-superuser
    /// may still filter by (their rule holds for this request).
    pub open_fields: &'a [String],
    /// The SQL the expression is compiled for.
    pub dialect: Dialect,
    /// What `@old` stands for (only webhook filters have it).
    pub old: Old<'a>,
}

/// What `@old` means: Cairn's webhook filters can compare a record with
/// the record before the change (`status != @old.status`).
#[derive(Debug, Clone, Copy, Default)]
pub enum Old<'a> {
    /// API rules and `filter` parameters: `@old` does not compile.
    #[default]
    Unavailable,
    /// A change with no record before it known (a create; a replayed
    /// update whose previous snapshot was trimmed): every field is null.
    Missing,
    /// The stored record before the change.
    Record(&'a serde_json::Map<String, Value>),
}

impl<'a> RecordResolver<'a> {
    pub fn new(
        schema: &'a Schema,
        main: &'a Collection,
        req: &'a RequestInfo,
        allow_hidden: bool,
    ) -> Self {
        Self {
            schema,
            main,
            req,
            allow_hidden,
            shared: Vec::new(),
            open_fields: &[],
            dialect: schema.dialect,
            old: Old::Unavailable,
        }
    }

    fn collection_ref(&self, ident: &Ident) -> Result<&'a Collection, CompileError> {
        let name = ident
            .parts
            .get(1)
            .ok_or_else(|| bad("missing collection name"))?;
        let c = self
            .schema
            .get(name)
            .filter(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| bad(format!("unknown collection {name:?}")))?;
        self.schema_collection(&c.id)
    }
}

fn bad(msg: impl Into<String>) -> CompileError {
    CompileError(msg.into())
}

/// Is `parts[at]` the last part and one of `names`?
fn last_is(parts: &[String], at: usize, names: &[&str]) -> bool {
    at + 1 == parts.len() && parts.get(at).is_some_and(|p| names.contains(&p.as_str()))
}

/// A walk through relations: tables joined so far, their join conditions,
/// and the expression for the current value.
struct Walk {
    from: Vec<String>,
    conds: Vec<String>,
    many: bool,
}

impl<'a> RecordResolver<'a> {
    fn check_visible(&self, c: &Collection, f: &Field) -> Result<(), CompileError> {
        if matches!(f.kind, FieldKind::Password(_)) || (f.system && f.name == "tokenKey") {
            return Err(bad(format!("unknown field {:?}", f.name)));
        }
        let open = c.id == self.main.id && self.open_fields.contains(&f.name);
        if f.read_rule.is_some() && !self.allow_hidden && !open {
            return Err(bad(format!(
                "field {:?} of {} has a read rule",
                f.name, c.name
            )));
        }
        if f.hidden && !self.allow_hidden {
            return Err(bad(format!(
                "field {:?} of {} is not filterable",
                f.name, c.name
            )));
        }
        Ok(())
    }

    /// Resolves `parts` starting at collection `c` whose current row is
    /// `alias` (a quoted table name or join alias).
    fn walk(
        &self,
        c: &'a Collection,
        alias: String,
        parts: &[String],
        modifier: Option<Modifier>,
        mut walk: Walk,
        p: &mut Params,
    ) -> Result<Source, CompileError> {
        let mut c = c;
        let mut alias = alias;
        let mut i = 0;
        loop {
            let name = parts
                .get(i)
                .ok_or_else(|| bad("incomplete field reference"))?;
            let last = i + 1 == parts.len();
            // Back-relation: COLL_via_FIELD.
            if let Some((coll, field)) = name.split_once("_via_")
                && c.field(name).is_none()
            {
                let other = self
                    .schema
                    .get(coll)
                    .filter(|o| o.name.eq_ignore_ascii_case(coll))
                    .ok_or_else(|| bad(format!("unknown collection {coll:?}")))?;
                let rel = other
                    .field(field)
                    .filter(
                        |f| matches!(&f.kind, FieldKind::Relation(o) if o.collection_id == c.id),
                    )
                    .ok_or_else(|| bad(format!("unknown back-relation {name:?}")))?;
                if last && modifier == Some(Modifier::Length) {
                    return Err(bad("back-relation :length is not supported"));
                }
                let j = p.alias()?;
                let col = format!("{j}.{}", quote_ident(&rel.name));
                walk.from
                    .push(format!("{} AS {j}", quote_ident(&other.name)));
                walk.conds.push(if rel.kind.is_multiple() {
                    let each = p.dialect.json_each(&col, None, None);
                    format!("EXISTS (SELECT 1 FROM {each} WHERE value = {alias}.\"id\")")
                } else {
                    format!("{col} = {alias}.\"id\"")
                });
                walk.many = true;
                // The other collection is stored in the schema snapshot, which
                // outlives this resolver.
                c = self.schema_collection(&other.id)?;
                alias = j;
                if last {
                    return Ok(self.finish(walk, format!("{alias}.\"id\"")));
                }
                i += 1;
                continue;
            }
            let f = c
                .field(name)
                .ok_or_else(|| bad(format!("unknown field {name:?}")))?;
            self.check_visible(c, f)?;
            let mut col = format!("{alias}.{}", quote_ident(&f.name));
            if c.is_auth() && f.system && f.name == "email" && !self.allow_hidden {
                // Others only match addresses their owners made visible: on
                // the main row the whole comparison requires visibility;
                // through relations the hidden address reads as NULL.
                if walk.from.is_empty() {
                    p.guards.push(format!("{alias}.\"emailVisibility\""));
                } else {
                    col = format!("(CASE WHEN {alias}.\"emailVisibility\" THEN {col} END)");
                }
            }
            if last {
                // A view's JSON columns may hold any value (expressions).
                let json = matches!(f.kind, FieldKind::Json(_)) && c.kind != CollectionKind::View;
                return self.leaf(f, json, col, modifier, walk, p);
            }
            match &f.kind {
                FieldKind::GeoPoint(_) if last_is(parts, i + 1, &["lon", "lat"]) => {
                    let key = if parts[i + 1] == "lon" { "lon" } else { "lat" };
                    return Ok(self.finish(walk, p.dialect.json_key(&col, key)));
                }
                FieldKind::Json(_) => {
                    let mut path = String::from("$");
                    for part in &parts[i + 1..] {
                        if part.bytes().all(|b| b.is_ascii_digit()) {
                            path.push_str(&format!("[{part}]"));
                        } else {
                            path.push('.');
                            path.push_str(&format!("\"{}\"", part.replace('"', "")));
                        }
                    }
                    let ph = p.json_path(path);
                    let d = p.dialect;
                    let expr = match modifier {
                        Some(Modifier::Lower) => format!("LOWER({})", d.json_extract(&col, &ph)),
                        Some(Modifier::Length) => d.json_array_length(&col, Some(&ph)),
                        Some(Modifier::Each) => {
                            let e = p.alias()?;
                            walk.from.push(d.json_each(&col, Some(&ph), Some(&e)));
                            walk.many = true;
                            return Ok(self.finish(walk, format!("{e}.value")));
                        }
                        None => d.json_extract(&col, &ph),
                        Some(m) => {
                            return Err(bad(format!(":{} is not supported here", m.as_str())));
                        }
                    };
                    return Ok(self.finish(walk, expr));
                }
                FieldKind::Relation(o) => {
                    let target = self.schema_collection(&o.collection_id)?;
                    let j = p.alias()?;
                    walk.from
                        .push(format!("{} AS {j}", quote_ident(&target.name)));
                    if f.kind.is_multiple() {
                        let each = p.dialect.json_each(&col, None, None);
                        walk.conds
                            .push(format!("{j}.\"id\" IN (SELECT value FROM {each})"));
                        walk.many = true;
                    } else {
                        walk.conds.push(format!("{j}.\"id\" = {col}"));
                    }
                    c = target;
                    alias = j;
                    i += 1;
                }
                _ => return Err(bad(format!("field {name:?} has no sub-fields"))),
            }
        }
    }

    fn schema_collection(&self, id: &str) -> Result<&'a Collection, CompileError> {
        self.schema
            .collections
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.as_ref())
            .ok_or_else(|| bad("unknown related collection"))
    }

    /// The last field of a path, with its modifier.
    fn leaf(
        &self,
        f: &Field,
        json: bool,
        col: String,
        modifier: Option<Modifier>,
        mut walk: Walk,
        p: &mut Params,
    ) -> Result<Source, CompileError> {
        let multi = f.kind.is_multiple();
        let expr = match modifier {
            // Like PocketBase, a JSON field is compared by its value: the
            // string "a" equals 'a', `[]` is not empty.
            None if json => {
                let root = p.json_path("$".into());
                p.dialect.json_extract(&col, &root)
            }
            None => col,
            Some(Modifier::Lower) => format!("LOWER({col})"),
            Some(Modifier::Length) if multi => p.dialect.json_array_length(&col, None),
            Some(Modifier::Each) if multi || matches!(f.kind, FieldKind::Json(_)) => {
                let e = p.alias()?;
                walk.from.push(p.dialect.json_each(&col, None, Some(&e)));
                walk.many = true;
                format!("{e}.value")
            }
            Some(m) => {
                return Err(bad(format!(
                    ":{} is not supported for field {:?}",
                    m.as_str(),
                    f.name
                )));
            }
        };
        Ok(self.finish(walk, expr))
    }

    fn finish(&self, walk: Walk, expr: String) -> Source {
        if walk.from.is_empty() {
            return Source::Scalar(expr);
        }
        let where_ = if walk.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", walk.conds.join(" AND "))
        };
        let from = walk.from.join(", ");
        if walk.many {
            Source::Many(format!("SELECT {expr} AS v FROM {from}{where_}"))
        } else {
            Source::Scalar(format!("(SELECT {expr} FROM {from}{where_} LIMIT 1)"))
        }
    }

    fn request(&self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
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
    fn old(&self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
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

impl Resolver for RecordResolver<'_> {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn policy(&self, name: &str) -> Result<std::sync::Arc<crate::filter::Expr>, CompileError> {
        self.schema
            .policies
            .get(name)
            .cloned()
            .ok_or_else(|| bad(format!("unknown policy {name:?}")))
    }

    fn resolve_any(&mut self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
        if ident.parts.first().map(String::as_str) != Some("@collection") {
            return self.resolve(ident, p);
        }
        let c = self.collection_ref(ident)?;
        let key = (c.name.clone(), ident.alias.clone().unwrap_or_default());
        let alias = match self.shared.iter().find(|(k, _, _)| *k == key) {
            Some((_, a, _)) => a.clone(),
            None => {
                let a = p.alias()?;
                self.shared
                    .push((key, a.clone(), format!("{} AS {a}", quote_ident(&c.name))));
                a
            }
        };
        let walk = Walk {
            from: vec![],
            conds: vec![],
            many: false,
        };
        self.walk(c, alias, &ident.parts[2..], ident.modifier, walk, p)
    }

    fn shared_joins(&self) -> Vec<String> {
        self.shared
            .iter()
            .map(|(_, _, from)| from.clone())
            .collect()
    }

    fn resolve(&mut self, ident: &Ident, p: &mut Params) -> Result<Source, CompileError> {
        let first = ident.parts.first().map(String::as_str).unwrap_or_default();
        match first {
            "@request" => self.request(ident, p),
            "@old" => self.old(ident, p),
            "@collection" => {
                let c = self.collection_ref(ident)?;
                let j = p.alias()?;
                let walk = Walk {
                    from: vec![format!("{} AS {j}", quote_ident(&c.name))],
                    conds: vec![],
                    many: true,
                };
                self.walk(c, j, &ident.parts[2..], ident.modifier, walk, p)
            }
            _ => {
                let walk = Walk {
                    from: vec![],
                    conds: vec![],
                    many: false,
                };
                self.walk(
                    self.main,
                    quote_ident(&self.main.name),
                    &ident.parts,
                    ident.modifier,
                    walk,
                    p,
                )
            }
        }
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;
