//! Scoped superusers (DASHBOARD.md item 34): a superuser limited to the
//! records of chosen collections, in the dashboard and on `/api/*` alike.
//!
//! The model is the smallest that fits: a `_superuserScopes` record binds
//! one superuser to a list of collection names. No record means a full
//! superuser (nothing changes for existing installs); a record means the
//! superuser may only list, view, create, update and delete records (and
//! read their files) of those collections, as a superuser (rules do not
//! apply to them there), and nothing else: no schema, settings, logs,
//! backups, SQL, crons, webhooks, realtime or batch. What is allowed is an
//! allow-list of request shapes checked once per request (the identity
//! layer for `/api/*`, the session extractor for `/_/`), so a route added
//! later is refused to scoped superusers until it is listed here.
//!
//! Superuser reads are not filtered by rules, so a filter, sort or expand
//! that walks a relation out of the scope (`author.email`, `@collection.x`,
//! `expand=author`) would read outside it; such queries are refused too.
//!
//! A name that stops matching (the collection was renamed or deleted)
//! simply grants nothing: the scope fails closed.

use serde_json::Value;

use super::field_err;
use crate::schema::Collection;
use crate::schema::field::FieldKind;
use crate::schema::system::SUPERUSERS;
use crate::service::Error;
use crate::store::records::{self, Row_};
use crate::store::{Schema, Store};

/// Cairn's superuser scopes collection.
pub const SCOPES: &str = "_superuserScopes";

/// What a scoped superuser may reach: records of these collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub collections: Vec<String>,
}

/// The scope of a superuser, `None` for a full superuser.
pub fn of(store: &Store, superuser_id: &str) -> Result<Option<Scope>, Error> {
    let Some(c) = store.schema().get(SCOPES) else {
        return Ok(None);
    };
    let row = store.read(|conn| records::find_by(conn, &c, "superuser", superuser_id))?;
    Ok(row.map(|r| Scope {
        collections: names(r.get("collections")),
    }))
}

fn names(v: Option<&Value>) -> Vec<String> {
    let v = match v {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a `_superuserScopes` record before it is stored: `collections`
/// is a non-empty list of ids or names of collections that are not system
/// collections, stored as names.
pub fn check_save(schema: &Schema, rec: &mut Row_, fail: &str) -> Result<(), Error> {
    let bad = |msg: &str| {
        Error::invalid(
            fail,
            field_err("collections", "validation_invalid_scope", msg),
        )
    };
    let raw = rec.get("collections");
    let parsed = match raw {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let Some(list) = parsed.as_array().filter(|a| !a.is_empty()) else {
        return Err(bad("Must be a non-empty list of collection names."));
    };
    let mut out = Vec::new();
    for item in list {
        let found = item.as_str().and_then(|n| schema.get(n));
        let Some(c) = found.filter(|c| !c.system) else {
            return Err(bad(
                "Every entry must name an existing collection that is not a system collection.",
            ));
        };
        if !out.contains(&c.name) {
            out.push(c.name.clone());
        }
    }
    let stored = Value::from(out.into_iter().map(Value::from).collect::<Vec<_>>());
    let stored = match raw {
        Some(Value::String(_)) => Value::String(stored.to_string()),
        _ => stored,
    };
    rec.insert("collections".into(), stored);
    Ok(())
}

/// The `/api/collections/_superusers/...` actions a scoped superuser keeps
/// (signing in and refreshing their own token; not impersonation).
const OWN_AUTH: [&str; 5] = [
    "auth-refresh",
    "auth-with-password",
    "auth-methods",
    "auth-with-otp",
    "request-otp",
];

/// The methods the records API answers on a list and on one record.
const LIST_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];
const ONE_METHODS: [&str; 4] = ["GET", "HEAD", "PATCH", "DELETE"];

impl Scope {
    /// Whether `name_or_id` is a collection of the scope (never a system
    /// collection, whatever the stored list says).
    pub fn collection(
        &self,
        schema: &Schema,
        name_or_id: &str,
    ) -> Option<std::sync::Arc<Collection>> {
        schema
            .get(name_or_id)
            .filter(|c| !c.system && self.collections.contains(&c.name))
    }

    /// Whether a request to `/api/*` (its path, method and raw query) is
    /// inside the scope.
    pub fn allows_api(&self, schema: &Schema, method: &str, path: &str, query: &str) -> bool {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        match segs.as_slice() {
            ["", "api", "health"] => true,
            ["", "api", "files", "token"] => method == "POST",
            ["", "api", "files", c, _, _] => {
                matches!(method, "GET" | "HEAD") && self.collection(schema, c).is_some()
            }
            ["", "api", "collections", SUPERUSERS, action] => OWN_AUTH.contains(action),
            ["", "api", "collections", c, "records"] => {
                LIST_METHODS.contains(&method) && self.records_query(schema, c, query)
            }
            ["", "api", "collections", c, "records", _] => {
                ONE_METHODS.contains(&method) && self.records_query(schema, c, query)
            }
            _ => false,
        }
    }

    /// Whether a dashboard route (its template from the route table, and
    /// the request's path and query) is inside the scope: the home page,
    /// the collections overview, signing out, their own account (password
    /// change), and the records pages of scoped collections (list, live
    /// updates, count, relation picker, export, CSV import, bulk delete, the
    /// record editor).
    pub fn allows_dashboard(
        &self,
        schema: &Schema,
        template: &str,
        path: &str,
        query: &str,
    ) -> bool {
        const RECORDS: [&str; 8] = [
            "/_/collections/{name}",
            "/_/collections/{name}/live",
            "/_/collections/{name}/count",
            "/_/collections/{name}/pick",
            "/_/collections/{name}/export",
            "/_/collections/{name}/import-csv",
            "/_/collections/{name}/records/delete",
            "/_/collections/{name}/records/{id}",
        ];
        match template {
            "/_/" | "/_/collections" | "/_/logout" | "/_/account" => true,
            t if RECORDS.contains(&t) => path
                .strip_prefix("/_/collections/")
                .and_then(|rest| rest.split('/').next())
                .map(|n| crate::urlencoded::pairs(format!("n={n}").as_bytes()))
                .and_then(|p| p.into_iter().next())
                .is_some_and(|(_, name)| self.records_query(schema, &name, query)),
            _ => false,
        }
    }

    /// A records request on `c`: the collection is in the scope, and its
    /// `filter`, `sort` and `expand` stay inside it.
    fn records_query(&self, schema: &Schema, c: &str, query: &str) -> bool {
        let Some(coll) = self.collection(schema, c) else {
            return false;
        };
        crate::urlencoded::pairs(query.as_bytes())
            .iter()
            .all(|(k, v)| match k.as_str() {
                "filter" | "sort" => self.expression_ok(schema, &coll, v),
                "expand" => v
                    .split(',')
                    .all(|p| self.path_ok(schema, &coll, p.trim(), true)),
                _ => true,
            })
    }

    /// Every identifier of a filter or sort expression stays in the scope.
    fn expression_ok(&self, schema: &Schema, coll: &Collection, expr: &str) -> bool {
        identifiers(expr).iter().all(|id| {
            if let Some(rest) = id.strip_prefix('@') {
                return !rest.starts_with("collection.");
            }
            self.path_ok(schema, coll, id, false)
        })
    }

    /// A dotted path from `coll`: every relation it walks (a relation
    /// field, or a `name_via_field` back-relation) leads into the scope.
    /// For `expand`, the last segment is a relation too.
    fn path_ok(&self, schema: &Schema, coll: &Collection, path: &str, expand: bool) -> bool {
        let segs: Vec<&str> = path.split('.').collect();
        let walked = if expand {
            segs.len()
        } else {
            segs.len().saturating_sub(1)
        };
        let mut current = std::sync::Arc::new(coll.clone());
        for seg in &segs[..walked] {
            let seg = seg.split(':').next().unwrap_or_default();
            let next = match current.field(seg).map(|f| &f.kind) {
                Some(FieldKind::Relation(o)) => self.collection(schema, &o.collection_id),
                Some(_) if !expand => return true, // a JSON path: no further relation
                _ => match seg.split_once("_via_") {
                    Some((name, _)) => self.collection(schema, name),
                    None => None,
                },
            };
            match next {
                Some(n) => current = n,
                None => return expand && seg.is_empty(),
            }
        }
        true
    }
}

/// The identifiers of a filter or sort expression (outside string
/// literals): runs of word characters, dots, colons and a leading `@`.
fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for ch in expr.chars() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        if ch == '"' || ch == '\'' {
            quote = Some(ch);
            continue;
        }
        if ch.is_alphanumeric() || matches!(ch, '_' | '.' | ':' | '@') {
            cur.push(ch);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.retain(|s| {
        (s.contains('.') || s.starts_with('@')) && !s.starts_with(|c: char| c.is_ascii_digit())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_skip_literals_and_plain_names() {
        assert_eq!(
            identifiers(r#"title ~ "a.b" && author.email = 'x.y' || @collection.c.n > 1"#),
            ["author.email", "@collection.c.n"]
        );
        assert_eq!(identifiers("-created,rel.name"), ["rel.name"]);
        assert!(identifiers("n > 1.5").is_empty());
    }
}
