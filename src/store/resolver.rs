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
use crate::filter::typed::{Ty, Typed};
use crate::schema::names::quote_ident;
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

impl Walk {
    /// The joined tables and the conditions joining them.
    fn joins(&self) -> (String, String) {
        let where_ = if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        };
        (self.from.join(", "), where_)
    }

    /// `expr` read through the joins, for one value per main row.
    fn scalar(&self, expr: &str) -> String {
        let (from, where_) = self.joins();
        format!("(SELECT {expr} FROM {from}{where_} LIMIT 1)")
    }
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
                // A view's columns may hold any value (expressions).
                let table = c.kind != CollectionKind::View;
                return self.leaf(f, table, col, modifier, walk, p);
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
                    let (expr, t) = match modifier {
                        Some(Modifier::Lower) => (
                            format!("LOWER({})", d.json_extract(&col, &ph)),
                            Typed::Col(Ty::Text),
                        ),
                        Some(Modifier::Length) => {
                            (d.json_array_length(&col, Some(&ph)), Typed::Col(Ty::Num))
                        }
                        Some(Modifier::Each) => {
                            let e = p.alias()?;
                            walk.from.push(d.json_each(&col, Some(&ph), Some(&e)));
                            walk.many = true;
                            return Ok(self.finish(walk, format!("{e}.value")));
                        }
                        None => (
                            d.json_extract(&col, &ph),
                            Typed::Json(d.json_value(&col, &ph)),
                        ),
                        Some(m) => {
                            return Err(bad(format!(":{} is not supported here", m.as_str())));
                        }
                    };
                    return Ok(self.finish_typed(walk, expr, t, p));
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

    /// The last field of a path, with its modifier. `table`: the field is
    /// a table's column, of the type its kind gives.
    fn leaf(
        &self,
        f: &Field,
        table: bool,
        col: String,
        modifier: Option<Modifier>,
        mut walk: Walk,
        p: &mut Params,
    ) -> Result<Source, CompileError> {
        let multi = f.kind.is_multiple();
        let kind_ty = match f.kind {
            FieldKind::Number(_) => Some(Ty::Num),
            FieldKind::Bool(_) => Some(Ty::Bool),
            FieldKind::Json(_) | FieldKind::GeoPoint(_) => None,
            _ if multi => None,
            _ => Some(Ty::Text),
        };
        let (expr, t) = match modifier {
            // Like PocketBase, a JSON field is compared by its value: the
            // string "a" equals 'a', `[]` is not empty.
            None if table && matches!(f.kind, FieldKind::Json(_)) => {
                let root = p.json_path("$".into());
                // The path is bound: the `jsonb` form must use it too.
                let t = Typed::Json(p.dialect.json_value(&col, &root));
                (p.dialect.json_extract(&col, &root), Some(t))
            }
            None => (col, kind_ty.filter(|_| table).map(Typed::Col)),
            Some(Modifier::Lower) => (format!("LOWER({col})"), Some(Typed::Col(Ty::Text))),
            Some(Modifier::Length) if multi => (
                p.dialect.json_array_length(&col, None),
                Some(Typed::Col(Ty::Num)),
            ),
            Some(Modifier::Each) if multi || matches!(f.kind, FieldKind::Json(_)) => {
                let e = p.alias()?;
                walk.from.push(p.dialect.json_each(&col, None, Some(&e)));
                walk.many = true;
                (format!("{e}.value"), None)
            }
            Some(m) => {
                return Err(bad(format!(
                    ":{} is not supported for field {:?}",
                    m.as_str(),
                    f.name
                )));
            }
        };
        Ok(match t {
            Some(t) => self.finish_typed(walk, expr, t, p),
            None => self.finish(walk, expr),
        })
    }

    fn finish(&self, walk: Walk, expr: String) -> Source {
        if walk.from.is_empty() {
            return Source::Scalar(expr);
        }
        if walk.many {
            let (from, where_) = walk.joins();
            Source::Many(format!("SELECT {expr} AS v FROM {from}{where_}"))
        } else {
            Source::Scalar(walk.scalar(&expr))
        }
    }

    /// [`Self::finish`], noting what the value is (a column of a type, a
    /// JSON value) for SQLite's comparison rules on PostgreSQL and for JSON
    /// nulls on both (`filter/typed.rs`).
    fn finish_typed(&self, walk: Walk, expr: String, t: Typed, p: &mut Params) -> Source {
        let json = matches!(t, Typed::Json(_));
        if walk.many || (p.dialect != Dialect::Postgres && !json) {
            return self.finish(walk, expr);
        }
        let t = match t {
            Typed::Json(j) if !walk.from.is_empty() => Typed::Json(walk.scalar(&j)),
            t => t,
        };
        let src = self.finish(walk, expr);
        if let Source::Scalar(sql) = &src {
            p.note(sql, t);
        }
        src
    }
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

#[path = "resolver_request.rs"]
mod request;

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;
