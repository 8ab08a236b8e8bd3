//! The `app` of migrations: host operations against one open connection
//! inside the migration transaction (collections, records, raw SQL).

use std::rc::Rc;
use std::sync::Arc;

use futures_util::FutureExt;
use rusqlite::Connection;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{Map, Value, json};

use super::runtime::{Host, HostError};
use crate::filter::ast::RequestInfo;
use crate::schema::Collection;
use crate::service::{self, Actor, Error, Identity, records as rec_svc};
use crate::store::records::{self, Where};
use crate::store::{Schema, WriteCtx, collections as store_coll};

/// PocketBase's message for a lookup that found nothing.
pub const NO_ROWS: &str = "sql: no rows in result set";

/// A host answering the migration `app` over `conn`.
pub fn host(conn: Rc<Connection>) -> Host {
    Rc::new(move |op, args| {
        if let Some(r) = super::ops::common(op, &args) {
            return r;
        }
        dispatch(&conn, op, args)
    })
}

fn dispatch(conn: &Connection, op: &str, args: Value) -> Result<Value, HostError> {
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
        "records.find" | "records.filter" | "db.query" => {
            let schema = Schema::load(conn).map_err(to_host)?;
            read(conn, &schema, op, &args)
        }
        "records.save" => save(conn, args),
        "records.delete" => {
            let (schema, c) = collection(conn, &args)?;
            let id = args["id"].as_str().unwrap_or_default().to_owned();
            let mut ctx = WriteCtx {
                conn,
                schema_changed: false,
                last_seq: None,
                change_hook: Some(&outbox(conn)?),
            };
            let mut seen = std::collections::HashSet::new();
            rec_svc::delete_in_tx(&mut ctx, &Arc::new(schema), &c, &id, 0, &mut seen)
                .map_err(svc)?;
            Ok(Value::Null)
        }
        "db.execute" => {
            let mut stmt = prepare(conn, &args)?;
            let n = stmt.raw_execute().map_err(sql_err)?;
            Ok(json!({"rowsAffected": n}))
        }
        _ => Err(HostError::new(
            400,
            format!("{op} is not available to migrations in Cairn"),
        )),
    }
}

/// Read-only operations, answered on any connection against `schema`.
pub fn read(
    conn: &Connection,
    schema: &Schema,
    op: &str,
    args: &Value,
) -> Result<Value, HostError> {
    match op {
        "records.find" => {
            let c = collection_in(schema, args)?;
            let id = args["id"].as_str().unwrap_or_default();
            let row = records::get(conn, &c, id)
                .map_err(to_host)?
                .ok_or_else(|| HostError::new(404, NO_ROWS))?;
            Ok(public(schema, &c, &row))
        }
        "records.filter" => filter(conn, schema, args),
        "db.query" => {
            let mut stmt = prepare(conn, args)?;
            let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(sql_err)? {
                let mut m = Map::new();
                for (i, n) in names.iter().enumerate() {
                    m.insert(n.clone(), json_of(row.get_ref(i).map_err(sql_err)?));
                }
                out.push(Value::Object(m));
            }
            Ok(Value::Array(out))
        }
        _ => Err(HostError::new(400, format!("unknown operation {op}"))),
    }
}

pub fn to_host(e: crate::store::StoreError) -> HostError {
    HostError::new(400, e.to_string())
}

pub fn sql_err(e: rusqlite::Error) -> HostError {
    HostError::new(400, e.to_string())
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

fn collection(conn: &Connection, args: &Value) -> Result<(Schema, Arc<Collection>), HostError> {
    let schema = Schema::load(conn).map_err(to_host)?;
    let c = collection_in(&schema, args)?;
    Ok((schema, c))
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
            record: Map::new(),
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
    let re = regex::Regex::new(r"\{:(\w+)\}").expect("static regex");
    re.replace_all(text, |c: &regex::Captures<'_>| match params.get(&c[1]) {
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

fn filter(conn: &Connection, schema: &Schema, args: &Value) -> Result<Value, HostError> {
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
        rows.iter()
            .skip(offset as usize)
            .map(|r| rec_svc::to_public(&c, r, &actor))
            .collect(),
    ))
}

fn save(conn: &Connection, args: Value) -> Result<Value, HostError> {
    let (schema, c) = collection(conn, &args)?;
    if args["id"].as_str().is_some() {
        return Err(HostError::new(
            400,
            "saving an existing record inside a migration is not supported by Cairn yet",
        ));
    }
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
    let schema = Arc::new(schema);
    let actor = system_actor(&schema);
    let op = rec_svc::CreateOp::prepare_with(
        Arc::clone(&schema),
        Arc::clone(&c),
        &actor,
        &RequestInfo::default(),
        input,
    )
    .now_or_never()
    .ok_or_else(|| HostError::new(500, "record preparation did not complete"))?
    .map_err(svc)?;
    let hook = outbox(conn)?;
    let mut ctx = WriteCtx {
        conn,
        schema_changed: false,
        last_seq: None,
        // Migration writes enter the webhook outbox like any other write.
        change_hook: Some(&hook),
    };
    let row = op.run(&mut ctx).map_err(svc)?;
    Ok(public(&schema, &c, &row))
}

/// The webhook outbox for a write on this connection (endpoints read from it).
fn outbox(conn: &Connection) -> Result<service::webhooks::outbox::Offline, HostError> {
    service::webhooks::outbox::Offline::load(conn).map_err(to_host)
}

/// Prepares `sql` with PocketBase's `{:name}` placeholders bound by name.
pub fn prepare<'c>(
    conn: &'c Connection,
    args: &Value,
) -> Result<rusqlite::Statement<'c>, HostError> {
    let re = regex::Regex::new(r"\{:(\w+)\}").expect("static regex");
    let sql = re.replace_all(args["sql"].as_str().unwrap_or_default(), ":$1");
    let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
    for i in 1..=stmt.parameter_count() {
        let Some(name) = stmt
            .parameter_name(i)
            .map(|n| n.trim_start_matches([':', '@', '$']).to_owned())
        else {
            continue;
        };
        let v = match &args["params"][&name] {
            Value::Null => Sql::Null,
            Value::Bool(b) => Sql::Integer(i64::from(*b)),
            Value::Number(n) => n
                .as_i64()
                .map(Sql::Integer)
                .unwrap_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0))),
            Value::String(s) => Sql::Text(s.clone()),
            v => Sql::Text(v.to_string()),
        };
        stmt.raw_bind_parameter(i, v).map_err(sql_err)?;
    }
    Ok(stmt)
}

fn json_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(String::from_utf8_lossy(b)),
    }
}
