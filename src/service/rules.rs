//! API rules and `filter` parameters: parse, check who may use what, and
//! compile against the collection with the caller's request values.

use serde_json::Map;

use super::{Actor, Error};
use crate::filter::ast::{AuthInfo, Expr, Operand, RequestInfo, RequestMap};
use crate::filter::compile::compile;
use crate::filter::parse;
use crate::schema::Collection;
use crate::store::Schema;
use crate::store::records::Where;
use crate::store::resolver::{Old, RecordResolver};

/// The request values rules may look at (`@request.*`).
pub fn request_info(
    store: &crate::store::Store,
    actor: &Actor,
    method: &str,
    query: impl Into<RequestMap>,
    headers: impl Into<RequestMap>,
) -> RequestInfo {
    RequestInfo {
        auth: actor.identity().map(|i| AuthInfo {
            collection_id: i.collection.id.clone(),
            collection_name: i.collection.name.clone(),
            record: i.record.clone(),
            roles: store.roles_of(&i.collection.id, i.id()),
        }),
        body: Map::new(),
        query: query.into(),
        headers: headers.into(),
        method: method.to_owned(),
        context: "default".into(),
    }
}

fn uses_request_data(e: &Expr) -> bool {
    fn operand(o: &Operand) -> bool {
        match o {
            Operand::Ident(id) => id
                .parts
                .first()
                .is_some_and(|p| p == "@request" || p == "@collection"),
            Operand::Func(f) => match f {
                crate::filter::ast::Func::Strftime(a)
                | crate::filter::ast::Func::GeoDistance(a) => a.iter().any(operand),
            },
            _ => false,
        }
    }
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => uses_request_data(a) || uses_request_data(b),
        Expr::Cmp { left, right, .. } => operand(left) || operand(right),
        // Policies are the admin's expressions; they may read request data.
        Expr::Policy(_) => false,
    }
}

/// PocketBase's plain-text check on a non-superuser's `filter` and `sort`:
/// any mention of `@collection.` or `@request.` is refused, even inside a
/// string literal.
pub fn check_request_data(actor: &Actor, texts: &[&str]) -> Result<(), Error> {
    if actor.is_superuser() {
        return Ok(());
    }
    if texts.iter().any(|t| t.contains("@collection.")) {
        return Err(Error::Forbidden(
            "Only superusers can filter by @collection.",
        ));
    }
    if texts.iter().any(|t| t.contains("@request.")) {
        return Err(Error::Forbidden("Only superusers can filter by @request."));
    }
    // Policies may read other collections and hidden fields; filtering by
    // one would let a client probe what they decide record by record.
    if texts.iter().any(|t| t.contains("@policy.")) {
        return Err(Error::Forbidden("Only superusers can filter by @policy."));
    }
    Ok(())
}

/// Compiles an API rule (trusted: hidden fields allowed). A rule that no
/// longer compiles (e.g. after a field was removed) denies.
pub fn rule(
    schema: &Schema,
    c: &Collection,
    text: &str,
    req: &RequestInfo,
    first_param: usize,
) -> Where {
    trusted(schema, c, text, req, first_param, Old::Unavailable)
}

/// Compiles a webhook endpoint's filter: trusted like a rule, no request
/// values, and `@old.*` is the record before the change. Denies when it
/// no longer compiles.
pub fn webhook_filter(schema: &Schema, c: &Collection, text: &str, old: Old<'_>) -> Where {
    trusted(schema, c, text, &RequestInfo::default(), 1, old)
}

fn trusted(
    schema: &Schema,
    c: &Collection,
    text: &str,
    req: &RequestInfo,
    first_param: usize,
    old: Old<'_>,
) -> Where {
    let compiled = crate::filter::parse_cached(text)
        .map_err(|e| e.to_string())
        .and_then(|expr| {
            let mut r = RecordResolver::new(schema, c, req, true);
            r.old = old;
            compile(&expr, &mut r, first_param).map_err(|e| e.to_string())
        });
    match compiled {
        Ok(c) => Where {
            sql: c.sql,
            params: c.params,
        },
        Err(e) => {
            tracing::warn!(collection = %c.name, error = %e, "rule does not compile; denying");
            Where {
                sql: "0".into(),
                params: vec![],
            }
        }
    }
}

/// Compiles a client's `filter` parameter. Non-superusers may not reach
/// request data or other collections, nor hidden fields.
pub fn filter(
    schema: &Schema,
    c: &Collection,
    text: &str,
    actor: &Actor,
    req: &RequestInfo,
    first_param: usize,
    open_fields: &[String],
) -> Result<Where, Error> {
    let expr = crate::filter::parse_cached(text)
        .map_err(|_| Error::bad("Something went wrong while processing your request."))?;
    let superuser = actor.is_superuser();
    if !superuser && uses_request_data(&expr) {
        return Err(Error::Forbidden("Only superusers can filter by @request."));
    }
    if !superuser && !expr.policies().is_empty() {
        return Err(Error::Forbidden("Only superusers can filter by @policy."));
    }
    let mut r = RecordResolver::new(schema, c, req, superuser);
    r.open_fields = open_fields;
    let compiled = compile(&expr, &mut r, first_param)
        .map_err(|_| Error::bad("Something went wrong while processing your request."))?;
    Ok(Where {
        sql: compiled.sql,
        params: compiled.params,
    })
}

/// Checks that a rule parses and resolves against a collection definition
/// (used when collections are saved); returns PocketBase's message.
pub fn validate_rule(schema: &Schema, c: &Collection, text: &str) -> Result<(), String> {
    validate(schema, c, text, Old::Unavailable)
}

/// [`validate_rule`] for a webhook filter, where `@old.*` may be used.
pub fn validate_webhook_filter(schema: &Schema, c: &Collection, text: &str) -> Result<(), String> {
    validate(schema, c, text, Old::Missing)
}

fn validate(schema: &Schema, c: &Collection, text: &str, old: Old<'_>) -> Result<(), String> {
    let expr = parse(text).map_err(|e| format!("Invalid rule. Raw error: {e}."))?;
    let req = RequestInfo::default();
    let mut r = RecordResolver::new(schema, c, &req, true);
    r.old = old;
    compile(&expr, &mut r, 1)
        .map(|_| ())
        .map_err(|e| format!("Invalid rule. Raw error: {e}."))
}
