//! `expand`: related records embedded under `expand`, as PocketBase does it.
//!
//! One query per (path, level) for the whole page, not one per record.
//! Related records are read with the target collection's view rule for the
//! requester; those it may not see are dropped silently.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::to_public_row;
use crate::filter::ast::RequestInfo;
use crate::filter::compile::Param;
use crate::schema::value;
use crate::schema::{Access, Collection, FieldKind};
use crate::service::{Actor, Error, rules};
use crate::store::records::{self, Where};
use crate::store::relations;
use crate::store::{Schema, Store};

/// Deepest expand path followed (`a.b.c.d.e.f`).
pub const MAX_EXPAND_DEPTH: usize = 6;
/// Most related records loaded for one path of one page.
pub const MAX_EXPANDED: i64 = 10_000;

/// Parsed `expand=a.b,c`: each name with its nested paths.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExpandTree(pub BTreeMap<String, ExpandTree>);

impl ExpandTree {
    pub fn parse(s: &str) -> Self {
        let mut root = ExpandTree::default();
        for path in s
            .split(',')
            .map(|p| p.trim().trim_matches('.'))
            .filter(|p| !p.is_empty())
        {
            let mut node = &mut root;
            for part in path.split('.').map(str::trim).take(MAX_EXPAND_DEPTH) {
                if part.is_empty() {
                    break;
                }
                node = node.0.entry(part.to_owned()).or_default();
            }
        }
        root
    }

    /// Drops paths PocketBase would not expand: unknown names, non-relations,
    /// targets the caller may never view (`viewRule` null). A name that was
    /// only a prefix of longer paths goes too when all of those fail.
    pub fn prune(&mut self, schema: &Schema, c: &Collection, actor: &Actor) {
        self.0.retain(|name, sub| {
            let Some(target) = relation_target(schema, c, name, actor) else {
                return false;
            };
            if sub.is_empty() {
                return true;
            }
            sub.prune(schema, &target, actor);
            !sub.is_empty()
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The collection a name on `c` leads to, if it is an expandable relation
/// (field or `COLL_via_FIELD`) whose target the caller may view at all.
fn relation_target(
    schema: &Schema,
    c: &Collection,
    name: &str,
    actor: &Actor,
) -> Option<std::sync::Arc<Collection>> {
    let target = if let Some(f) = c.field(name) {
        let FieldKind::Relation(o) = &f.kind else {
            return None;
        };
        if f.hidden && !actor.is_superuser() {
            return None;
        }
        schema.get(&o.collection_id)?
    } else {
        let (coll, field) = name.split_once("_via_")?;
        let other = schema
            .get(coll)
            .filter(|o| o.name.eq_ignore_ascii_case(coll))?;
        other
            .field(field)
            .filter(|f| matches!(&f.kind, FieldKind::Relation(o) if o.collection_id == c.id))?;
        other
    };
    let viewable = actor.is_superuser()
        || !matches!(
            target.rule(crate::schema::RuleKind::View),
            Access::Superusers
        );
    viewable.then_some(target)
}

/// What the caller may read from a collection.
fn view_filter(schema: &Schema, c: &Collection, actor: &Actor, req: &RequestInfo) -> Option<Where> {
    if actor.is_superuser() {
        return Some(Where::default());
    }
    match c.rule(crate::schema::RuleKind::View) {
        Access::Superusers => None,
        Access::Anyone => Some(Where::default()),
        Access::Rule(text) => Some(rules::rule(schema, c, text, req, 1)),
    }
}

/// Loads records of `c` matching `cond` (a condition using `?{first}`
/// with `param`) that the caller may view, as public JSON.
fn load(
    store: &Store,
    schema: &Schema,
    c: &Collection,
    cond: impl Fn(usize) -> String,
    param: Param,
    actor: &Actor,
    req: &RequestInfo,
) -> Result<Vec<Map<String, Value>>, Error> {
    let Some(mut w) = view_filter(schema, c, actor, req) else {
        return Ok(vec![]);
    };
    let extra = cond(w.params.len() + 1);
    w.sql = if w.sql.is_empty() {
        extra
    } else {
        format!("({}) AND ({extra})", w.sql)
    };
    w.params.push(param);
    let rows = store.read(|conn| records::select_where(conn, c, &w, MAX_EXPANDED))?;
    // The rows are exactly the collection's fields: stripped in place, not
    // copied value by value (a page of 20 expanded owners spent ~4% of its
    // instructions copying them).
    let mut public: Vec<Value> = rows
        .into_iter()
        .map(|r| to_public_row(c, r, actor))
        .collect();
    super::field_rules::FieldReads::prepare(store, schema, c, actor, req)?.hide(
        store,
        c,
        &mut public,
    )?;
    Ok(public
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect())
}

fn id_of(m: &Map<String, Value>) -> String {
    m.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn set_expand(item: &mut Map<String, Value>, name: &str, v: Value) {
    let e = item
        .entry("expand")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(e) = e {
        e.insert(name.to_owned(), v);
    }
}

/// Expands `tree` on records of `c` (public JSON objects), in place.
pub fn expand(
    store: &Store,
    schema: &Schema,
    c: &Collection,
    items: &mut [Map<String, Value>],
    tree: &ExpandTree,
    actor: &Actor,
    req: &RequestInfo,
) -> Result<(), Error> {
    if items.is_empty() || tree.is_empty() {
        return Ok(());
    }
    // PocketBase adds `expand: {}` at every level that had valid paths, even
    // when nothing resolves.
    for it in items.iter_mut() {
        it.entry("expand")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    for (name, sub) in &tree.0 {
        if let Some(f) = c.field(name) {
            let FieldKind::Relation(o) = &f.kind else {
                continue;
            };
            if f.hidden && !actor.is_superuser() {
                continue;
            }
            let Some(target) = schema.get(&o.collection_id) else {
                continue;
            };
            let mut ids: Vec<String> = Vec::new();
            for it in items.iter() {
                for id in value::to_list(it.get(name).unwrap_or(&Value::Null)) {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            if ids.is_empty() {
                continue;
            }
            let mut related = load(
                store,
                schema,
                &target,
                |n| relations::id_in(&target, n, schema.dialect),
                Param::Text(serde_json::to_string(&ids).unwrap_or_default()),
                actor,
                req,
            )?;
            expand(store, schema, &target, &mut related, sub, actor, req)?;
            let by_id: HashMap<String, Map<String, Value>> =
                related.into_iter().map(|m| (id_of(&m), m)).collect();
            let multi = f.kind.is_multiple();
            for it in items.iter_mut() {
                let wanted = value::to_list(it.get(name).unwrap_or(&Value::Null));
                let found: Vec<Value> = wanted
                    .iter()
                    .filter_map(|id| by_id.get(id).cloned().map(Value::Object))
                    .collect();
                if multi {
                    if !found.is_empty() {
                        set_expand(it, name, Value::Array(found));
                    }
                } else if let Some(v) = found.into_iter().next() {
                    set_expand(it, name, v);
                }
            }
        } else if let Some((coll, field)) = name.split_once("_via_") {
            let Some(other) = schema
                .get(coll)
                .filter(|o| o.name.eq_ignore_ascii_case(coll))
            else {
                continue;
            };
            let Some(rel) = other
                .field(field)
                .filter(|f| matches!(&f.kind, FieldKind::Relation(o) if o.collection_id == c.id))
            else {
                continue;
            };
            let ids: Vec<String> = items.iter().map(id_of).collect();
            let mut related = load(
                store,
                schema,
                &other,
                |n| relations::refers_to_any(&other, rel, n, schema.dialect),
                Param::Text(serde_json::to_string(&ids).unwrap_or_default()),
                actor,
                req,
            )?;
            expand(store, schema, &other, &mut related, sub, actor, req)?;
            for it in items.iter_mut() {
                let id = id_of(it);
                let found: Vec<Value> = related
                    .iter()
                    .filter(|r| {
                        value::to_list(r.get(&rel.name).unwrap_or(&Value::Null)).contains(&id)
                    })
                    .cloned()
                    .map(Value::Object)
                    .collect();
                if !found.is_empty() {
                    set_expand(it, name, Value::Array(found));
                }
            }
        }
    }
    Ok(())
}
