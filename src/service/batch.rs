//! `POST /api/batch`: several record writes in ONE transaction.
//!
//! Every sub-request is prepared first (rules compiled with the caller's
//! auth, passwords hashed), then all run inside a single write job; the
//! first failure rolls everything back.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::records::{self, CreateOp, DeleteOp, Shape, UpdateOp};
use super::{Actor, Error};
use crate::filter::ast::RequestInfo;
use crate::schema::Collection;
use crate::store::records::Row_;
use crate::store::{Store, WriteCtx, settings};

/// One decoded sub-request.
#[derive(Debug, Clone)]
pub struct SubRequest {
    pub method: String,
    pub url: String,
    pub body: Map<String, Value>,
}

enum Op {
    Create(CreateOp),
    Update(UpdateOp),
    /// PUT: update when the id exists, create otherwise.
    Upsert(Box<CreateOp>, Box<UpdateOp>),
    Delete(DeleteOp),
}

enum Done {
    Record(Row_),
    Deleted,
}

impl Op {
    fn run(self, ctx: &mut WriteCtx<'_>) -> Result<Done, Error> {
        match self {
            Op::Create(op) => op.run(ctx).map(Done::Record),
            Op::Update(op) => op.run(ctx).map(Done::Record),
            Op::Upsert(create, update) => {
                let exists = crate::store::records::get(ctx.conn, &update.c, &update.id)?.is_some();
                if exists {
                    update.run(ctx).map(Done::Record)
                } else {
                    create.run(ctx).map(Done::Record)
                }
            }
            Op::Delete(op) => op.run(ctx).map(|()| Done::Deleted),
        }
    }
}

/// A failed batch: which sub-request and why.
fn failed(i: usize, e: &Error) -> Error {
    let (status, message, data) = e.parts();
    let mut at = Map::new();
    at.insert(
        i.to_string(),
        json!({
            "code": "batch_request_failed",
            "message": "Batch request failed.",
            "response": {"status": status, "message": message, "data": data},
        }),
    );
    let mut d = Map::new();
    d.insert("requests".into(), Value::Object(at));
    Error::invalid("Batch transaction failed.", d)
}

/// A record URL inside a batch: collection, optional id, query pairs.
struct RecordUrl {
    coll: String,
    id: Option<String>,
    query: Vec<(String, String)>,
}

/// Splits `/api/collections/{c}/records[/{id}][?query]`.
fn parse_url(url: &str) -> Option<RecordUrl> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/api/collections/")?;
    let mut parts = rest.split('/');
    let coll = parts.next().filter(|s| !s.is_empty())?.to_owned();
    if parts.next()? != "records" {
        return None;
    }
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    if parts.next().is_some() {
        return None;
    }
    let q = crate::urlencoded::pairs(query.as_bytes());
    Some(RecordUrl { coll, id, query: q })
}

/// Runs a batch; returns `[{status, body}]`.
pub async fn run(
    store: &Store,
    actor: &Actor,
    req: &RequestInfo,
    requests: Vec<SubRequest>,
) -> Result<Value, Error> {
    let cfg = store.read(settings::load)?;
    let enabled = cfg
        .pointer("/batch/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !enabled {
        return Err(Error::Forbidden("Batch requests are not allowed."));
    }
    let max = cfg
        .pointer("/batch/maxRequests")
        .and_then(Value::as_i64)
        .unwrap_or(50);
    if requests.is_empty() {
        let mut d = Map::new();
        d.insert(
            "requests".into(),
            json!({"code": "validation_required", "message": "Cannot be blank."}),
        );
        return Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            d,
        ));
    }
    if requests.len() as i64 > max {
        let mut d = Map::new();
        d.insert(
            "requests".into(),
            json!({
                "code": "validation_length_too_long",
                "message": format!("The length must be no more than {max}."),
                "params": {"max": max},
            }),
        );
        return Err(Error::invalid(
            "An error occurred while validating the submitted data.",
            d,
        ));
    }
    let schema = store.schema();
    let mut ops = Vec::with_capacity(requests.len());
    let mut shapes: Vec<(Arc<Collection>, Shape)> = Vec::with_capacity(requests.len());
    for (i, r) in requests.into_iter().enumerate() {
        let not_found = Error::NotFound("The requested resource wasn't found.");
        let Some(RecordUrl { coll, id, query }) = parse_url(&r.url) else {
            return Err(failed(i, &not_found));
        };
        let Some(c) = schema.get(&coll) else {
            return Err(failed(
                i,
                &Error::NotFound("Missing or invalid collection context."),
            ));
        };
        let q = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        shapes.push((
            Arc::clone(&c),
            Shape {
                expand: q("expand"),
                fields: q("fields"),
            },
        ));
        let prepared = match (r.method.to_uppercase().as_str(), id) {
            ("POST", None) => CreateOp::prepare(store, c, actor, req, r.body)
                .await
                .map(Op::Create),
            ("PATCH", Some(id)) => UpdateOp::prepare(store, c, actor, req, id, r.body)
                .await
                .map(Op::Update),
            ("DELETE", Some(id)) => DeleteOp::prepare(store, c, actor, req, id).map(Op::Delete),
            ("PUT", None) => {
                let id = r
                    .body
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let create =
                    CreateOp::prepare(store, Arc::clone(&c), actor, req, r.body.clone()).await;
                let update = UpdateOp::prepare(store, c, actor, req, id, r.body).await;
                match (create, update) {
                    (Ok(cr), Ok(up)) => Ok(Op::Upsert(Box::new(cr), Box::new(up))),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            _ => Err(not_found),
        };
        match prepared {
            Ok(op) => ops.push(op),
            Err(e) => return Err(failed(i, &e)),
        }
    }
    let done = store
        .write(move |ctx| {
            let mut out = Vec::with_capacity(ops.len());
            for (i, op) in ops.into_iter().enumerate() {
                match op.run(ctx) {
                    Ok(d) => out.push(d),
                    Err(e) => return Err(failed(i, &e)),
                }
            }
            Ok(out)
        })
        .await?;
    let mut results = Vec::with_capacity(done.len());
    for (d, (c, shape)) in done.into_iter().zip(shapes) {
        results.push(match d {
            Done::Deleted => json!({"status": 204, "body": null}),
            Done::Record(rec) => {
                let v = records::to_public(&c, &rec, actor);
                let v = shape.apply_one(store, &c, v, actor, req)?;
                json!({"status": 200, "body": v})
            }
        });
    }
    Ok(Value::Array(results))
}
