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
use crate::service::files::{Files, Staged, Upload};
use crate::store::records::Row_;
use crate::store::{Store, WriteCtx, settings};

/// One decoded sub-request.
#[derive(Debug)]
pub struct SubRequest {
    pub method: String,
    pub url: String,
    pub body: Map<String, Value>,
    /// Files sent as `requests.{i}.{field}` (multipart batch).
    pub uploads: Vec<Upload>,
}

/// Groups multipart batch files by sub-request: `requests.{i}.{key}`
/// becomes an upload under `key` for request `i`; others are dropped.
pub fn split_uploads(uploads: Vec<Upload>) -> std::collections::HashMap<usize, Vec<Upload>> {
    let mut out: std::collections::HashMap<usize, Vec<Upload>> = Default::default();
    for mut up in uploads {
        let Some(rest) = up.key.strip_prefix("requests.") else {
            continue;
        };
        let Some((i, key)) = rest.split_once('.') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else { continue };
        up.key = key.to_owned();
        out.entry(i).or_default().push(up);
    }
    out
}

/// One prepared sub-request's write.
#[derive(Clone)]
pub enum Op {
    Create(CreateOp),
    Update(UpdateOp),
    /// PUT: update when the id exists, create otherwise.
    Upsert(Box<CreateOp>, Box<UpdateOp>),
    Delete(DeleteOp),
}

/// What one sub-request wrote.
pub enum Done {
    Record(Row_),
    Deleted,
}

impl Op {
    /// The uploads this op staged.
    fn staged(&self) -> Staged {
        match self {
            Op::Create(op) => op.staged(),
            Op::Update(op) => op.staged(),
            Op::Upsert(op, _) => op.staged(),
            Op::Delete(_) => Staged::default(),
        }
    }

    /// Runs inside the batch's write job.
    pub fn run(self, ctx: &mut WriteCtx<'_>) -> Result<Done, Error> {
        match self {
            Op::Create(op) => op.run(ctx).map(Done::Record),
            Op::Update(op) => op.run(ctx).map(Done::Record),
            Op::Upsert(create, update) => {
                let exists = crate::store::records::get(ctx.conn, update.collection(), &update.id)?
                    .is_some();
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
pub fn failed(i: usize, e: &Error) -> Error {
    failed_status(i, e, false)
}

fn failed_status(i: usize, e: &Error, server_error: bool) -> Error {
    let (mut status, mut message, mut data) = e.parts();
    // A whole error body (a hook's ApiError): its own message and data.
    if let Error::Raw(_, body) = e {
        message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        data = body
            .get("data")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
    }
    if server_error {
        status = 500;
    }
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
    if path.ends_with('/') {
        return None;
    }
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

/// The collection and record id a sub-request's URL names, if it is a
/// record URL (what record hooks need to know before the batch runs).
pub fn target(url: &str) -> Option<(String, Option<String>)> {
    parse_url(url).map(|u| (u.coll, u.id))
}

/// Batch settings: `Some(maxRequests)` when batch is enabled.
fn limits(store: &Store) -> Result<Option<i64>, Error> {
    let cfg = store.read(settings::load)?;
    let enabled = cfg
        .pointer("/batch/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max = cfg
        .pointer("/batch/maxRequests")
        .and_then(Value::as_i64)
        .unwrap_or(50);
    Ok((enabled && max > 0).then_some(max))
}

/// 403 unless batch requests are enabled (checked before the body is read).
pub fn check_enabled(store: &Store) -> Result<(), Error> {
    match limits(store)? {
        Some(_) => Ok(()),
        None => Err(Error::Forbidden("Batch requests are not allowed.")),
    }
}

const INVALID: &str = "Invalid batch request data.";

/// Shape checks on the request list, PocketBase's codes.
fn validate(requests: &[SubRequest], max: i64) -> Result<(), Error> {
    let mut d = Map::new();
    if requests.is_empty() {
        d.insert(
            "requests".into(),
            json!({"code": "validation_required", "message": "Cannot be blank."}),
        );
    } else if requests.len() as i64 > max {
        d.insert(
            "requests".into(),
            json!({
                "code": "validation_length_too_long",
                "message": format!("The length must be no more than {max}."),
                "params": {"max": max, "min": 0},
            }),
        );
    } else {
        let mut items = Map::new();
        for (i, r) in requests.iter().enumerate() {
            let mut e = Map::new();
            if r.method.is_empty() {
                e.insert(
                    "method".into(),
                    json!({"code": "validation_required", "message": "Cannot be blank."}),
                );
            } else if !matches!(
                r.method.as_str(),
                "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
            ) {
                e.insert(
                    "method".into(),
                    json!({"code": "validation_in_invalid", "message": "Must be a valid value."}),
                );
            }
            if r.url.is_empty() {
                e.insert(
                    "url".into(),
                    json!({"code": "validation_required", "message": "Cannot be blank."}),
                );
            }
            if !e.is_empty() {
                items.insert(i.to_string(), Value::Object(e));
            }
        }
        if !items.is_empty() {
            d.insert("requests".into(), Value::Object(items));
        }
    }
    if d.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(INVALID, d))
    }
}

/// The checks `run` starts with (enabled, list shape), for callers that
/// do work per sub-request before running it (record hooks).
pub fn check(store: &Store, requests: &[SubRequest]) -> Result<(), Error> {
    let Some(max) = limits(store)? else {
        return Err(Error::Forbidden("Batch requests are not allowed."));
    };
    validate(requests, max)
}

/// Runs a batch; returns `[{status, body}]`.
pub async fn run(
    store: &Store,
    files: &Files,
    actor: &Actor,
    req: &RequestInfo,
    requests: Vec<SubRequest>,
) -> Result<Value, Error> {
    check(store, &requests)?;
    let req = &context(req);
    let mut ops = Vec::with_capacity(requests.len());
    let mut kept: Vec<Kept> = Vec::with_capacity(requests.len());
    for (i, r) in requests.into_iter().enumerate() {
        match prepare(store, files, actor, req, i, r).await {
            Ok((op, k)) => {
                ops.push(op);
                kept.push(k);
            }
            Err(e) => {
                for k in &kept {
                    k.staged.discard().await;
                }
                return Err(e);
            }
        }
    }
    // On PostgreSQL a batch that lost a deadlock to another node's writes
    // runs again (`Store::write_op`), as single record writes do.
    let done = store.write_op(ops, run_all).await;
    finish(store, actor, req, kept, done).await
}

/// The batch's write job: every op in order, the first failure rolls
/// all back.
fn run_all(ops: Vec<Op>, ctx: &mut WriteCtx<'_>) -> Result<Vec<Done>, Error> {
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.into_iter().enumerate() {
        match op.run(ctx) {
            Ok(d) => out.push(d),
            Err(e) => return Err(failed(i, &e)),
        }
    }
    Ok(out)
}

/// The request info sub-requests see (`@request.context` is `batch`).
pub fn context(req: &RequestInfo) -> RequestInfo {
    let mut req = req.clone();
    req.context = "batch".into();
    req
}

/// What a sub-request's results need after the write job.
pub struct Kept {
    staged: Staged,
    shape: (Arc<Collection>, Shape),
    claim: Option<crate::service::files::tus::Claims>,
}

/// Prepares sub-request `i` off the writer (rules, hashes, uploads staged,
/// TUS uploads claimed); a failure is the batch's error for `i`.
pub async fn prepare(
    store: &Store,
    files: &Files,
    actor: &Actor,
    req: &RequestInfo,
    i: usize,
    r: SubRequest,
) -> Result<(Op, Kept), Error> {
    let schema = store.schema();
    let mut claim = None;
    // PocketBase answers an unsupported URL with 400 for the first
    // request and (a quirk of its router) 500 after an earlier one.
    let unsupported = if i == 0 {
        Error::bad("Something went wrong while processing your request.")
    } else {
        Error::Internal("unsupported batch request url".into())
    };
    let Some(RecordUrl { coll, id, query }) = parse_url(&r.url) else {
        return Err(failed_status(i, &unsupported, i > 0));
    };
    let Some(c) = schema.get(&coll) else {
        return Err(failed(i, &Error::NotFound("Missing collection context.")));
    };
    if c.kind == crate::schema::CollectionKind::View {
        return Err(failed(i, &Error::bad("Unsupported collection type.")));
    }
    let q = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let shape = (
        Arc::clone(&c),
        Shape {
            expand: q("expand"),
            fields: q("fields"),
        },
    );
    let (mut uploads, mut body, method) = (r.uploads, r.body, r.method.to_uppercase());
    // `"tus:<id>"` values, as in single writes; reserved until the commit.
    let claimed = match method.as_str() {
        "DELETE" => Ok(()),
        _ => match files
            .tus
            .claim_in_body(actor, &c, &mut body, &files.tmp)
            .await
        {
            Ok((more, c)) => {
                uploads.extend(more);
                claim = Some(c);
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    let prepared = match (claimed, method.as_str(), id) {
        (Err(e), ..) => Err(e),
        (Ok(()), "POST", None) => match CreateOp::prepare(store, c, actor, req, body).await {
            Ok(mut op) => op.stage(files, uploads).await.map(|()| Op::Create(op)),
            Err(e) => Err(e),
        },
        (Ok(()), "PATCH", Some(id)) => {
            match UpdateOp::prepare(store, c, actor, req, id, body).await {
                Ok(mut op) => op.stage(files, uploads).await.map(|()| Op::Update(op)),
                Err(e) => Err(e),
            }
        }
        (Ok(()), "DELETE", Some(id)) => DeleteOp::prepare(store, c, actor, req, id).map(Op::Delete),
        (Ok(()), "PUT", None) => {
            let id = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let create = CreateOp::prepare(store, Arc::clone(&c), actor, req, body.clone()).await;
            let update = UpdateOp::prepare(store, c, actor, req, id, body).await;
            match (create, update) {
                (Ok(mut cr), Ok(mut up)) => match cr.stage(files, uploads).await {
                    Ok(()) => {
                        up.set_staged(cr.staged());
                        Ok(Op::Upsert(Box::new(cr), Box::new(up)))
                    }
                    Err(e) => Err(e),
                },
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        _ => Err(unsupported),
    };
    let op = prepared.map_err(|e| failed(i, &e))?;
    let staged = op.staged();
    Ok((
        op,
        Kept {
            staged,
            shape,
            claim,
        },
    ))
}

/// After the write job: staged files settled (kept as the committed records
/// name them, else dropped), TUS uploads used up, the results presented.
pub async fn finish(
    store: &Store,
    actor: &Actor,
    req: &RequestInfo,
    kept: Vec<Kept>,
    done: Result<Vec<Done>, Error>,
) -> Result<Value, Error> {
    for (i, k) in kept.iter().enumerate() {
        let rec = match done.as_ref().ok().and_then(|d| d.get(i)) {
            Some(Done::Record(r)) => Some(r),
            _ => None,
        };
        match (&done, rec) {
            (Err(Error::Internal(_)), _) => {}
            (_, rec) => k.staged.settle(rec).await,
        }
    }
    crate::service::files::cleanup::poke();
    let done = done?;
    let mut results = Vec::with_capacity(done.len());
    for (d, k) in done.into_iter().zip(kept) {
        // Committed: the TUS uploads are used up (a failed batch leaves them).
        if let Some(c) = k.claim {
            c.consume().await;
        }
        let (c, shape) = k.shape;
        results.push(match d {
            Done::Deleted => json!({"status": 204, "body": null}),
            Done::Record(rec) => {
                let key = crate::service::access::created_key(&c, &rec);
                let mut v = records::present_owned(store, &c, rec, actor, req, false)?;
                crate::service::access::after_create(key, &mut v);
                let v = shape.apply_one(store, &c, v, actor, req)?;
                json!({"status": 200, "body": v})
            }
        });
    }
    Ok(Value::Array(results))
}
