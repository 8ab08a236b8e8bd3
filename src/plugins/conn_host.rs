//! Host operations against one open write transaction (collections,
//! records, raw SQL): the `app` of migrations, and the `$app` of hook code
//! running inside a write job (`hooks::tx`). Writes go through the same
//! service operations as the API (validation, change log, webhook outbox).

use std::rc::Rc;
use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::{Map, Value, json};

use super::runtime::{Host, HostError};
use crate::filter::ast::RequestInfo;
use crate::schema::Collection;
use crate::service::{self, Actor, Error, Identity, records as rec_svc};
use crate::store::records::{self, Where};
use crate::store::{Conn, Schema, WriteCtx, collections as store_coll, hooks_db};

/// PocketBase's message for a lookup that found nothing.
pub const NO_ROWS: &str = "sql: no rows in result set";

/// A host answering the migration `app` over `conn`.
pub fn host(conn: Rc<Conn<'static>>) -> Host {
    Rc::new(move |op, args| {
        if let Some(r) = super::ops::common(op, &args) {
            return r;
        }
        // The migration run is already one transaction.
        if matches!(op, "tx.begin" | "tx.end") {
            return Ok(Value::Null);
        }
        let conn = &*conn;
        let schema = Arc::new(Schema::load(conn).map_err(to_host)?);
        let hook = outbox(conn)?;
        // Migration writes enter the webhook outbox like any other write;
        // no writer runs their deferred writes, so they run here.
        let mut ctx = WriteCtx::new(conn, Some(&hook));
        let out = dispatch(&mut ctx, &schema, op, args)?;
        ctx.run_deferred().map_err(to_host)?;
        Ok(out)
    })
}

/// Whether `op` changes `_collections` (the writer reloads its schema
/// cache after the commit).
pub fn changes_schema(op: &str) -> bool {
    matches!(
        op,
        "collections.save" | "collections.delete" | "collections.import"
    )
}

/// The operations `dispatch` answers on a write connection.
pub fn answers(op: &str) -> bool {
    changes_schema(op)
        || reads(op)
        || matches!(op, "records.save" | "records.delete" | "db.execute")
}

/// The read operations among them (outside a transaction they go to the
/// reader pool and answer at once).
pub fn reads(op: &str) -> bool {
    matches!(
        op,
        "collections.find"
            | "collections.all"
            | "records.find"
            | "records.filter"
            | "records.where"
            | "db.query"
    )
}

/// Answers `op` inside a write transaction (`ctx`), `schema` being the
/// collections as this transaction sees them.
pub fn dispatch(
    ctx: &mut WriteCtx<'_>,
    schema: &Arc<Schema>,
    op: &str,
    args: Value,
) -> Result<Value, HostError> {
    let conn = ctx.conn;
    match op {
        "collections.find" => {
            let key = args.as_str().unwrap_or_default();
            let c = store_coll::find(conn, key)
                .map_err(to_host)?
                .ok_or_else(|| HostError::new(404, NO_ROWS))?;
            Ok(c.to_json())
        }
        "collections.all" => {
            let types: Vec<String> = serde_json::from_value(args).unwrap_or_default();
            let all = store_coll::load_all(conn).map_err(to_host)?;
            Ok(Value::Array(
                all.iter()
                    .filter(|c| types.is_empty() || types.iter().any(|t| t == c.kind.as_str()))
                    .map(Collection::to_json)
                    .collect(),
            ))
        }
        "collections.save" => Ok(service::collections::save_in(conn, args)
            .map_err(svc)?
            .to_json()),
        "collections.delete" => {
            service::collections::delete_in(conn, args.as_str().unwrap_or_default())
                .map_err(svc)?;
            Ok(Value::Null)
        }
        "collections.import" => {
            service::collections::import_in(conn, args).map_err(svc)?;
            Ok(Value::Null)
        }
        "records.find" | "records.filter" | "records.where" | "db.query" => {
            read(conn, schema, op, &args)
        }
        "records.save" => save(ctx, schema, args),
        "records.delete" => {
            let c = collection_in(schema, &args)?;
            let id = args["id"].as_str().unwrap_or_default().to_owned();
            let mut seen = std::collections::HashSet::new();
            rec_svc::delete_in_tx(ctx, schema, &c, &id, 0, &mut seen).map_err(svc)?;
            Ok(Value::Null)
        }
        "db.execute" => {
            let n = execute(conn, &args)?;
            Ok(json!({"rowsAffected": n}))
        }
        _ => Err(HostError::new(
            400,
            format!("{op} is not available inside a transaction in Cairn"),
        )),
    }
}

/// Read-only operations, answered on any connection against `schema`.
pub fn read(conn: &Conn, schema: &Schema, op: &str, args: &Value) -> Result<Value, HostError> {
    match op {
        "records.find" => {
            let c = collection_in(schema, args)?;
            let id = args["id"].as_str().unwrap_or_default();
            let row = records::get(conn, &c, id)
                .map_err(to_host)?
                .ok_or_else(|| HostError::new(404, NO_ROWS))?;
            // Just read (exactly the collection's fields): stripped in
            // place, not copied value by value.
            Ok(rec_svc::to_public_row(&c, row, &system_actor(schema)))
        }
        "records.filter" => filter(conn, schema, args),
        "records.where" => {
            let c = collection_in(schema, args)?;
            let w = hooks_db::where_of(args["sql"].as_str().unwrap_or_default(), &args["params"]);
            let order = order_of(&c, &args["order"])?;
            let limit = args["limit"].as_i64().filter(|n| *n >= 0);
            let offset = args["offset"].as_i64().unwrap_or(0);
            let rows =
                hooks_db::select_records(conn, &c, &w, &order, limit, offset).map_err(sql_err)?;
            let actor = system_actor(schema);
            Ok(Value::Array(
                rows.into_iter()
                    .map(|r| rec_svc::to_public_row(&c, r, &actor))
                    .collect(),
            ))
        }
        "db.query" => hooks_db::query(
            conn,
            args["sql"].as_str().unwrap_or_default(),
            &args["params"],
        )
        .map(Value::Array)
        .map_err(sql_err),
        _ => Err(HostError::new(400, format!("unknown operation {op}"))),
    }
}

/// `[[field, descending], ...]`: fields of `c` only.
fn order_of(c: &Collection, order: &Value) -> Result<Vec<(String, bool)>, HostError> {
    let mut out = Vec::new();
    for term in order.as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = term[0].as_str().unwrap_or_default();
        if !c.fields.iter().any(|f| f.name == name) {
            return Err(HostError::new(
                400,
                format!("orderBy: {name:?} is not a field of {}", c.name),
            ));
        }
        out.push((name.to_owned(), term[1].as_bool().unwrap_or(false)));
    }
    Ok(out)
}

pub fn to_host(e: crate::store::StoreError) -> HostError {
    HostError::new(400, e.to_string())
}

/// A failure of a script's own SQL, with the database's message.
pub fn sql_err(e: crate::store::StoreError) -> HostError {
    HostError::new(400, hooks_db::message(&e))
}

/// `db.execute`: a script's own statement (`{sql, params}`).
pub fn execute(conn: &Conn, args: &Value) -> Result<usize, HostError> {
    hooks_db::execute(
        conn,
        args["sql"].as_str().unwrap_or_default(),
        &args["params"],
    )
    .map_err(sql_err)
}

/// A service error as PocketBase's `{status, message, data}`.
pub fn svc(e: Error) -> HostError {
    if let Error::Internal(m) = &e {
        return HostError::new(400, m.clone());
    }
    let (status, message, data) = e.parts();
    HostError {
        status,
        message,
        data: Value::Object(data),
    }
}

/// The collection named by `args.collection`.
pub fn collection_in(schema: &Schema, args: &Value) -> Result<Arc<Collection>, HostError> {
    let key = args["collection"].as_str().unwrap_or_default();
    schema.get(key).ok_or_else(|| HostError::new(404, NO_ROWS))
}

/// The actor migrations act as: a superuser that is no record.
pub fn system_actor(schema: &Schema) -> Actor {
    match schema.get(crate::schema::system::SUPERUSERS) {
        Some(c) => Actor::Superuser(Identity {
            collection: c,
            record: (Map::new()).into(),
        }),
        None => Actor::Guest,
    }
}

pub fn public(schema: &Schema, c: &Collection, row: &records::Row_) -> Value {
    rec_svc::to_public(c, row, &system_actor(schema))
}

/// `{:name}` placeholders become filter literals (quoted and escaped, so a
/// value can never change the expression's shape).
pub fn bind_filter(text: &str, params: &Value) -> String {
    hooks_db::PLACEHOLDER
        .replace_all(text, |c: &regex::Captures<'_>| match params.get(&c[1]) {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::String(s)) => quote(s),
            Some(Value::Null) | None => "null".to_owned(),
            Some(v) => quote(&v.to_string()),
        })
        .into_owned()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn filter(conn: &Conn, schema: &Schema, args: &Value) -> Result<Value, HostError> {
    let c = collection_in(schema, args)?;
    let actor = system_actor(schema);
    let text = bind_filter(args["filter"].as_str().unwrap_or_default(), &args["params"]);
    let w = if text.trim().is_empty() {
        Where {
            sql: "1=1".into(),
            params: vec![],
        }
    } else {
        service::rules::filter(schema, &c, &text, &actor, &RequestInfo::default(), 1, &[])
            .map_err(svc)?
    };
    let limit = args["limit"]
        .as_i64()
        .filter(|n| *n > 0)
        .unwrap_or(i64::MAX / 2);
    let offset = args["offset"].as_i64().unwrap_or(0).max(0);
    let rows =
        records::select_where(conn, &c, &w, limit.saturating_add(offset)).map_err(to_host)?;
    Ok(Value::Array(
        rows.into_iter()
            .skip(offset as usize)
            .map(|r| rec_svc::to_public_row(&c, r, &actor))
            .collect(),
    ))
}

/// `records.save`: a create, or an update of the record `args.id`, as the
/// system (no rules), validated and logged like any write.
fn save(ctx: &mut WriteCtx<'_>, schema: &Arc<Schema>, args: Value) -> Result<Value, HostError> {
    let c = collection_in(schema, &args)?;
    let mut input = args["data"].as_object().cloned().unwrap_or_default();
    if c.is_auth()
        && let Some(plain) = input.remove("password")
    {
        input.remove("passwordConfirm");
        let plain = plain.as_str().unwrap_or_default();
        if !plain.is_empty() {
            let hash = service::auth::hash_password_now(plain).map_err(svc)?;
            input.insert("passwordHash".into(), json!(hash));
        }
    }
    let actor = system_actor(schema);
    let req = RequestInfo::default();
    let row = match args["id"].as_str() {
        Some(id) => {
            for k in ["collectionId", "collectionName", "created", "updated", "id"] {
                input.remove(k);
            }
            let op = rec_svc::UpdateOp::prepare_with(
                Arc::clone(schema),
                Arc::clone(&c),
                &actor,
                &req,
                id.to_owned(),
                input,
            )
            .now_or_never()
            .ok_or_else(|| HostError::new(500, "record preparation did not complete"))?
            .map_err(svc)?;
            op.run(ctx).map_err(svc)?
        }
        None => {
            let op = rec_svc::CreateOp::prepare_with(
                Arc::clone(schema),
                Arc::clone(&c),
                &actor,
                &req,
                input,
            )
            .now_or_never()
            .ok_or_else(|| HostError::new(500, "record preparation did not complete"))?
            .map_err(svc)?;
            op.run(ctx).map_err(svc)?
        }
    };
    Ok(public(schema, &c, &row))
}

/// The webhook outbox for a write on this connection (endpoints read from it).
fn outbox(conn: &Conn) -> Result<service::webhooks::outbox::Offline, HostError> {
    service::webhooks::outbox::Offline::load(conn).map_err(to_host)
}
