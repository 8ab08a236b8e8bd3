//! Deleting records: cascades, relation clean-up and truncate.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{gate, passes};
use crate::filter::ast::RequestInfo;
use crate::schema::value::{self, Modifier};
use crate::schema::{Collection, CollectionKind, FieldKind, RuleKind, datetime};
use crate::service::{Actor, Error};
use crate::store::records::{self, Action};
use crate::store::{Schema, Store, WriteCtx};

/// Deepest cascade-delete chain followed.
pub const MAX_CASCADE_DEPTH: usize = 32;

/// A record deletion, prepared outside the writer and run inside a job.
#[derive(Clone)]
pub struct DeleteOp {
    c: Arc<Collection>,
    schema: Arc<Schema>,
    gate: super::Gate,
    id: String,
}

impl DeleteOp {
    pub fn prepare(
        store: &Store,
        c: Arc<Collection>,
        actor: &Actor,
        req: &RequestInfo,
        id: String,
    ) -> Result<Self, Error> {
        if c.kind == CollectionKind::View {
            return Err(Error::bad("Unsupported collection type."));
        }
        let schema = store.schema();
        let gate = gate(&schema, &c, RuleKind::Delete, actor, req)?;
        Ok(Self {
            c,
            schema,
            gate,
            id,
        })
    }

    /// Runs inside a write job.
    pub fn run(self, ctx: &mut WriteCtx<'_>) -> Result<(), Error> {
        let Self {
            c,
            schema,
            gate,
            id,
        } = self;
        if records::get(ctx.conn, &c, &id)?.is_none() || !passes(ctx.conn, &c, &id, &gate)? {
            return Err(Error::missing_record());
        }
        let mut seen = HashSet::new();
        delete_in_tx(ctx, &schema, &c, &id, 0, &mut seen)
    }
}

/// Deletes a record, cascading or pulling references as the relations say.
pub async fn delete(
    store: &Store,
    c: Arc<Collection>,
    actor: &Actor,
    req: &RequestInfo,
    id: String,
) -> Result<(), Error> {
    let op = DeleteOp::prepare(store, c, actor, req, id)?;
    store.write_op(op, DeleteOp::run).await?;
    crate::service::files::cleanup::poke();
    Ok(())
}

/// Deletes one record and handles references to it (inside a write job).
pub fn delete_in_tx(
    ctx: &mut crate::store::WriteCtx<'_>,
    schema: &Schema,
    c: &Collection,
    id: &str,
    depth: usize,
    seen: &mut HashSet<(String, String)>,
) -> Result<(), Error> {
    if !seen.insert((c.id.clone(), id.to_owned())) {
        return Ok(());
    }
    if depth > MAX_CASCADE_DEPTH {
        return Err(Error::bad("Failed to delete record."));
    }
    let rec = records::get(ctx.conn, c, id)?.ok_or_else(Error::missing_record)?;
    crate::service::access::before_delete(ctx.conn, schema, c, &rec)?;
    for other in &schema.collections {
        if other.kind == CollectionKind::View {
            continue;
        }
        for (field, opts) in other.relations_to(&c.id) {
            for mut r in records::referencing(ctx.conn, other, field, id)? {
                let rid = r
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if other.id == c.id && rid == id {
                    continue;
                }
                let old = r.clone();
                let cur = r.get(&field.name).cloned().unwrap_or(Value::Null);
                let pulled = value::apply_modifier(field, &cur, Modifier::Remove, &json!([id]))
                    .unwrap_or_else(|| field.kind.zero_value());
                // Cascade only when the reference would be left empty; a
                // multi relation that keeps other ids just loses this one.
                if opts.cascade_delete && value::to_list(&pulled).is_empty() {
                    delete_in_tx(ctx, schema, other, &rid, depth + 1, seen)?;
                    continue;
                }
                if opts.required && value::to_list(&pulled).is_empty() {
                    return Err(Error::bad(
                        "Failed to delete record. Make sure that the record is not part of a required relation reference.",
                    ));
                }
                r.insert(field.name.clone(), pulled);
                let now = datetime::now();
                for f in &other.fields {
                    if let FieldKind::Autodate(o) = &f.kind
                        && o.on_update
                    {
                        r.insert(f.name.clone(), now.clone().into());
                    }
                }
                records::update(ctx.conn, other, &rid, &r)?;
                records::append_update(ctx, other, &rid, &old, &r)?;
            }
        }
    }
    if c.is_auth() {
        crate::service::auth::sys::forget_record(ctx, schema, &c.id, id)?;
    }
    crate::service::files::cleanup::forget_record(ctx.conn, c, id, &rec)?;
    records::delete(ctx.conn, c, id)?;
    records::append_change(ctx, c, id, Action::Delete, &rec)?;
    Ok(())
}

/// Deletes every record of a collection, one by one, so relations and the
/// change log stay correct.
pub async fn truncate(store: &Store, c: Arc<Collection>) -> Result<(), Error> {
    let schema = store.schema();
    store
        .write(move |ctx| {
            let mut seen = HashSet::new();
            for id in records::all_ids(ctx.conn, &c)? {
                if seen.contains(&(c.id.clone(), id.clone())) {
                    continue;
                }
                delete_in_tx(ctx, &schema, &c, &id, 0, &mut seen)?;
            }
            Ok::<_, Error>(())
        })
        .await?;
    crate::service::files::cleanup::poke();
    Ok(())
}
