//! Listing records: paging, sort parsing and the envelope.

use serde_json::Value;

use super::{Gate, gate, to_public_row};
use crate::filter::ast::Operand;
use crate::filter::ast::RequestInfo;
use crate::filter::compile::{Params, Resolver, Source};
use crate::schema::{Collection, CollectionKind, FieldKind, RuleKind};
use crate::service::rules;
use crate::service::{Actor, Error};
use crate::store::Schema;
use crate::store::Store;
use crate::store::records::Where;
use crate::store::records::{self, SortKey};
use crate::store::resolver::RecordResolver;

/// Largest page size; bigger requests are capped silently.
pub const MAX_PER_PAGE: i64 = 1000;
/// Page size when none (or a non-positive one) is given.
pub const DEFAULT_PER_PAGE: i64 = 30;
/// Parsed list parameters.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub page: i64,
    pub per_page: i64,
    pub sort: String,
    pub filter: String,
    pub skip_total: bool,
    pub shape: super::Shape,
}

/// Parses `sort=-a,b` against the collection; unknown fields are an error.
pub fn parse_sort(
    schema: &Schema,
    c: &Collection,
    sort: &str,
    actor: &Actor,
    req: &RequestInfo,
    open_fields: &[String],
) -> Result<Vec<SortKey>, Error> {
    let mut keys = Vec::new();
    if sort.trim().is_empty() {
        return Ok(keys);
    }
    for part in sort.split(',').map(str::trim) {
        let (desc, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if name == "@random" || name == "@rowid" {
            keys.push(SortKey {
                field: name.to_owned(),
                desc,
                expr: None,
            });
            continue;
        }
        let json = c.kind != CollectionKind::View
            && c.field(name)
                .is_some_and(|f| matches!(f.kind, FieldKind::Json(_)));
        if json || name.contains(['.', ':']) {
            keys.push(SortKey {
                field: name.to_owned(),
                desc,
                expr: Some(relation_sort(schema, c, name, actor, req, open_fields)?),
            });
            continue;
        }
        let ok = c.field(name).is_some_and(|f| {
            !matches!(f.kind, FieldKind::Password(_))
                && (!f.hidden || actor.is_superuser())
                && (f.read_rule.is_none() || actor.is_superuser() || open_fields.contains(&f.name))
        });
        if !ok {
            return Err(Error::bad(
                "Something went wrong while processing your request.",
            ));
        }
        keys.push(SortKey {
            field: name.to_owned(),
            desc,
            expr: None,
        });
    }
    Ok(keys)
}

/// Sort by a field reached through single relations (`author.name`): one
/// scalar subquery per row; or by a JSON path (`meta.a`) or a modifier
/// (`tags:length`). Paths that need parameters or give several values are
/// rejected.
fn relation_sort(
    schema: &Schema,
    c: &Collection,
    name: &str,
    actor: &Actor,
    req: &RequestInfo,
    open_fields: &[String],
) -> Result<String, Error> {
    let bad = || Error::bad("Something went wrong while processing your request.");
    let expr = crate::filter::parse(&format!("{name} = null")).map_err(|_| bad())?;
    let crate::filter::Expr::Cmp {
        left: Operand::Ident(ident),
        ..
    } = expr
    else {
        return Err(bad());
    };
    if ident.parts.first().is_some_and(|p| p.starts_with('@')) {
        return Err(bad());
    }
    let mut r = RecordResolver::new(schema, c, req, actor.is_superuser());
    r.open_fields = open_fields;
    let mut params = Params::for_dialect(1, schema.dialect);
    params.inline_paths = true;
    match r.resolve(&ident, &mut params) {
        Ok(Source::Scalar(sql)) if params.values.is_empty() => {
            Ok(crate::filter::typed::sort_expr(&params, sql))
        }
        _ => Err(bad()),
    }
}

/// Lists a page of records in PocketBase's envelope.
pub fn list(
    store: &Store,
    c: &Collection,
    actor: &Actor,
    req: &RequestInfo,
    q: &ListQuery,
) -> Result<Value, Error> {
    let page = q.page.max(1);
    let per_page = if q.per_page <= 0 {
        DEFAULT_PER_PAGE
    } else {
        q.per_page.min(MAX_PER_PAGE)
    };
    rules::check_request_data(actor, &[&q.filter, &q.sort])?;
    let schema = store.schema();
    let reads = super::field_rules::FieldReads::prepare(store, &schema, c, actor, req)?;
    let mut parts = Vec::new();
    if let Gate::Rule(w) = gate(&schema, c, RuleKind::List, actor, req)? {
        parts.push(w);
    }
    if !q.filter.trim().is_empty() {
        let first = 1 + parts.iter().map(|w| w.params.len()).sum::<usize>();
        parts.push(rules::filter(
            &schema,
            c,
            &q.filter,
            actor,
            req,
            first,
            reads.open(),
        )?);
    }
    let filter = Where::all(parts);
    // Record-level field read rules are answered by the page query itself.
    let conditions = reads.conditions();
    let sort = parse_sort(&schema, c, &q.sort, actor, req, reads.open())?;
    let (rows, total) = {
        store
            .read(|conn| {
                records::list(
                    conn,
                    c,
                    &sort,
                    per_page,
                    (page - 1) * per_page,
                    !q.skip_total,
                    filter.as_ref(),
                    &conditions,
                )
            })
            .map_err(|e| {
                // A filter can still fail in SQLite (e.g. a bad strftime);
                // that is the client's input, not a server fault.
                if filter.is_some() {
                    tracing::debug!(error = %e, "filtered list failed");
                    Error::bad("Something went wrong while processing your request.")
                } else {
                    Error::from(e)
                }
            })?
    };
    let (mut items, marks): (Vec<Value>, Vec<Vec<bool>>) = rows
        .into_iter()
        .map(|(r, m)| (to_public_row(c, r, actor), m))
        .unzip();
    reads.hide_marked(&mut items, &marks);
    let items = q.shape.apply(store, c, items, actor, req)?;
    Ok(super::super::page_envelope(page, per_page, total, items))
}
