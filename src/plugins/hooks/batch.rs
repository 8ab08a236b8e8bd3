//! The hooks of `POST /api/batch`: `onBatchRequest` runs first with
//! `e.batch`, the list of `{method, url, body}` a handler may change (a
//! throw answers the batch with that error); then each sub-request runs
//! its record hooks around its write, all inside the batch's one
//! transaction (`run`, through `tx`), as in PocketBase. Native plugins'
//! record hooks run for the sub-requests too (before-hooks ahead of the
//! transaction, as for a single REST write; after-success hooks after the
//! commit), also when there is no `pb_hooks` directory.

use std::sync::{Arc, Mutex};

use axum::response::Response;
use serde_json::{Value, json};

use super::records::{after_name, chain_arg, hook_outcome, names, stored, submitted};
use super::tx::{Step, Terminal};
use super::write::host_error;
use crate::app::App;
use crate::filter::ast::RequestInfo;
use crate::plugins::conn_host;
use crate::plugins::runtime::HostError;
use crate::schema::{Collection, CollectionKind};
use crate::service::batch::{self, SubRequest};
use crate::service::{Actor, Error};

/// Runs the `onBatchRequest` handlers over `requests` (changing them); a
/// handler's own answer when one did not call `e.next()` (nothing runs).
pub async fn before(
    app: &App,
    actor: &Actor,
    requests: &mut [SubRequest],
) -> Result<Option<Response>, Error> {
    let Some(hooks) = app.hooks.get() else {
        return Ok(None);
    };
    let generation = hooks.current();
    if !generation.hook_names.contains("onBatchRequest") {
        return Ok(None);
    }
    let batch: Vec<Value> = requests
        .iter()
        .map(|r| json!({"method": r.method, "url": r.url, "body": r.body, "headers": {}}))
        .collect();
    let arg = json!({
        "batch": batch,
        "event": {"method": "POST", "path": "/api/batch", "headers": {}, "query": {}, "params": {},
                  "body": "", "ip": "", "auth": super::http::auth_json(actor)},
    })
    .to_string();
    let out = hooks
        .call(generation, "__runBatchRequest", arg)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "onBatchRequest failed");
            Error::bad("Something went wrong while processing your request.")
        })?;
    if let Some(res) = super::records::answered(&out) {
        return Ok(Some(res));
    }
    let out = super::records::hook_outcome(out)?;
    let changed = out["batch"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (r, c) in requests.iter_mut().zip(changed) {
        if let Some(m) = c["method"].as_str() {
            r.method = m.to_owned();
        }
        if let Some(u) = c["url"].as_str() {
            r.url = u.to_owned();
        }
        if let Some(b) = c["body"].as_object() {
            r.body = b.clone();
        }
    }
    Ok(None)
}

/// What one record sub-request does: its hooks' names and the record as it
/// was (the after-delete hooks get it).
pub struct Planned {
    c: Arc<Collection>,
    action: &'static str,
    id: Option<String>,
    stored: Option<Value>,
}

/// Runs a batch with its sub-requests' record hooks, as PocketBase does:
/// the whole batch is one transaction, and each sub-request's chain
/// (request hooks → model hooks → its write, then the code after each
/// `e.next()`) runs inside it in request order; any failure rolls every
/// sub-request back. Returns the results and what the after-success hooks
/// need (`after`). `PUT` runs the update hooks when the record exists,
/// else the create hooks.
pub async fn run(
    app: &Arc<App>,
    actor: &Actor,
    req: &RequestInfo,
    requests: Vec<SubRequest>,
) -> Result<(Value, Vec<Option<Planned>>), Error> {
    let store = &app.store;
    let native = crate::plugins::native::any_record_hook(app);
    let hooks = app.hooks.get();
    if hooks.is_none() && !native {
        return Ok((
            batch::run(store, &app.files, actor, req, requests).await?,
            Vec::new(),
        ));
    }
    batch::check(store, &requests)?;
    let generation = hooks.map(|h| h.current());
    let has = |list: &[&str]| {
        generation
            .as_ref()
            .is_some_and(|g| list.iter().any(|n| g.hook_names.contains(*n)))
    };
    let actions = ["create", "update", "delete"];
    let planned = if native
        || actions
            .iter()
            .any(|a| has(names(a)) || has(&[after_name(a)]))
    {
        plan(app, &requests)?
    } else {
        Vec::new()
    };
    let mut requests = requests;
    if native {
        native_before(app, actor, &mut requests, &planned).await?;
    }
    let chained = hooks
        .zip(generation.clone())
        .filter(|_| actions.iter().any(|a| has(names(a))));
    let Some((hooks, generation)) = chained else {
        let out = batch::run(store, &app.files, actor, req, requests).await?;
        return Ok((out, planned));
    };
    let req = batch::context(req);
    let (mut items, mut stored) = (Vec::new(), Vec::new());
    for (r, p) in requests.iter().zip(&planned) {
        let (s, item) = match p {
            Some(p) => chain_arg(app, &p.c, p.action, actor, p.id.as_deref(), &r.body)?,
            None => (None, Value::Null),
        };
        items.push(item);
        stored.push(s);
    }
    let arg = json!({"items": items}).to_string();
    let state = Arc::new(Mutex::new(State::default()));
    let terminal = terminal(app, actor, &req, requests, &planned, stored, &state);
    let out = hooks
        .call_with(
            generation,
            "__runBatchTx",
            arg,
            Some(terminal),
            Default::default(),
        )
        .await;
    let State { kept, done, error } = std::mem::take(&mut *state.lock().map_err(|_| poisoned())?);
    let kept: Vec<batch::Kept> = kept.into_iter().flatten().collect();
    let at = |out: &Value| out["index"].as_u64().unwrap_or(0) as usize;
    let answered = match &out {
        Ok(out) => out["answered"].as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let res = match out {
        Ok(out) if out["ok"] == true => Ok(done.into_iter().flatten().collect()),
        Ok(out) if out["writeError"] == true && error.is_some() => {
            Err(error.unwrap_or_else(poisoned))
        }
        Ok(out) => Err(batch::failed(
            at(&out),
            &hook_outcome(out.clone()).err().unwrap_or_else(|| {
                Error::bad("Something went wrong while processing your request.")
            }),
        )),
        Err(e) => {
            tracing::error!(error = %e, "batch record hook failed");
            Err(Error::bad(
                "Something went wrong while processing your request.",
            ))
        }
    };
    let out = batch::finish(store, actor, &req, kept, res).await?;
    Ok(with_answers(out, answered, planned))
}

/// Puts the answers of the sub-requests whose chain stopped before their
/// write (`{index, status, body, model}`, in index order) among the
/// results of the others; after-success hooks run only for those a model
/// hook stopped.
fn with_answers(
    out: Value,
    answered: Vec<Value>,
    mut planned: Vec<Option<Planned>>,
) -> (Value, Vec<Option<Planned>>) {
    let Value::Array(mut results) = out else {
        return (out, planned);
    };
    for a in answered {
        let i = a["index"].as_u64().unwrap_or(u64::MAX) as usize;
        if i > results.len() {
            continue;
        }
        results.insert(i, json!({"status": a["status"], "body": a["body"]}));
        // After a model hook's stop the after-success hooks run, as in PocketBase.
        if a["model"] != true
            && let Some(p) = planned.get_mut(i)
        {
            *p = None;
        }
    }
    (Value::Array(results), planned)
}

/// Runs the native plugins' before-hooks of every record sub-request, in
/// request order and before any write (their changes are the data the
/// `pb_hooks` chains and the writes get); a refusal fails the batch as
/// PocketBase reports a failed sub-request.
async fn native_before(
    app: &App,
    actor: &Actor,
    requests: &mut [SubRequest],
    planned: &[Option<Planned>],
) -> Result<(), Error> {
    for (i, (r, p)) in requests.iter_mut().zip(planned).enumerate() {
        let Some(p) = p else { continue };
        let body = std::mem::take(&mut r.body);
        r.body = crate::plugins::native::record_before(
            app,
            &p.c,
            p.action,
            actor,
            p.id.as_deref(),
            body,
        )
        .await
        .map_err(|e| batch::failed(i, &e))?;
    }
    Ok(())
}

fn poisoned() -> Error {
    Error::Internal("batch hook state lost".into())
}

/// A record sub-request's collection, action and record as stored.
type Plan = (Arc<Collection>, &'static str, Option<Value>);

/// What the writes inside the batch's transaction produced, by index.
#[derive(Default)]
struct State {
    kept: Vec<Option<batch::Kept>>,
    done: Vec<Option<batch::Done>>,
    /// The failing write's error (as the batch reports it).
    error: Option<Error>,
}

/// The chains' last step (`tx.write` with `{index, data}`): prepares
/// sub-request `index` with the record as its hooks left it and writes it
/// inside the transaction.
fn terminal(
    app: &Arc<App>,
    actor: &Actor,
    req: &RequestInfo,
    requests: Vec<SubRequest>,
    planned: &[Option<Planned>],
    stored: Vec<Option<Value>>,
    state: &Arc<Mutex<State>>,
) -> Terminal {
    let (app, actor, req, state) = (
        Arc::clone(app),
        actor.clone(),
        req.clone(),
        Arc::clone(state),
    );
    let plans: Vec<Option<Plan>> = planned
        .iter()
        .zip(stored)
        .map(|(p, s)| p.as_ref().map(|p| (Arc::clone(&p.c), p.action, s)))
        .collect();
    let n = requests.len();
    let mut requests: Vec<Option<SubRequest>> = requests.into_iter().map(Some).collect();
    if let Ok(mut s) = state.lock() {
        s.kept.resize_with(n, || None);
        s.done.resize_with(n, || None);
    }
    let rt = tokio::runtime::Handle::current();
    Box::new(move |args: Value| -> Result<Step, HostError> {
        let i = args["index"].as_u64().unwrap_or(u64::MAX) as usize;
        let fail = move |e: Error, state: &Mutex<State>| {
            let h = host_error(&e);
            if let Ok(mut s) = state.lock() {
                s.error = Some(batch::failed(i, &e));
            }
            h
        };
        let mut r = requests
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| HostError::new(500, "no such batch request"))?;
        let plan = plans.get(i).cloned().flatten();
        if let (Some((_, action, stored)), Some(data)) = (&plan, args["data"].as_object()) {
            r.body = submitted(action, &r.body, stored.as_ref(), data.clone());
        }
        let prepared = rt.block_on(batch::prepare(&app.store, &app.files, &actor, &req, i, r));
        let (op, kept) = match prepared {
            Ok(p) => p,
            Err(e) => {
                // Already the batch's error for `i`.
                let h = host_error(&e);
                if let Ok(mut s) = state.lock() {
                    s.error = Some(e);
                }
                return Err(h);
            }
        };
        if let Ok(mut s) = state.lock() {
            s.kept[i] = Some(kept);
        }
        let state = Arc::clone(&state);
        Ok(Step::Job(Box::new(move |ctx, schema| {
            let done = op.run(ctx).map_err(|e| fail(e, &state))?;
            let v = match (&done, &plan) {
                (batch::Done::Record(row), Some((c, ..))) => conn_host::public(schema, c, row),
                _ => Value::Null,
            };
            if let Ok(mut s) = state.lock() {
                s.done[i] = Some(done);
            }
            Ok(v)
        })))
    })
}

/// Which record sub-requests run which hooks (`None`: not a record write,
/// left to the batch to refuse).
fn plan(app: &App, requests: &[SubRequest]) -> Result<Vec<Option<Planned>>, Error> {
    let schema = app.store.schema();
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let target = batch::target(&r.url).and_then(|(coll, id)| {
            let c = schema
                .get(&coll)
                .filter(|c| c.kind != CollectionKind::View)?;
            Some((c, id))
        });
        let Some((c, id)) = target else {
            out.push(None);
            continue;
        };
        let (action, id) = match (r.method.to_uppercase().as_str(), id) {
            ("POST", None) => ("create", None),
            ("PATCH", Some(id)) => ("update", Some(id)),
            ("DELETE", Some(id)) => ("delete", Some(id)),
            ("PUT", None) => {
                let id = r.body.get("id").and_then(Value::as_str).unwrap_or_default();
                let exists = !id.is_empty()
                    && app
                        .store
                        .read(|conn| crate::store::records::get(conn, &c, id))?
                        .is_some();
                if exists {
                    ("update", Some(id.to_owned()))
                } else {
                    ("create", None)
                }
            }
            _ => {
                out.push(None);
                continue;
            }
        };
        let stored = match (action, &id) {
            ("delete", Some(id)) => stored(app, &c, id),
            _ => None,
        };
        out.push(Some(Planned {
            c,
            action,
            id,
            stored,
        }));
    }
    Ok(out)
}

/// Runs the after-success hooks of a committed batch (`results` as sent).
pub async fn after(app: &App, planned: Vec<Option<Planned>>, results: &Value) {
    let results = results.as_array().map(Vec::as_slice).unwrap_or_default();
    for (p, r) in planned.into_iter().zip(results) {
        let Some(p) = p else { continue };
        let record = match p.action {
            "delete" => p.stored,
            _ => Some(r["body"].clone()),
        };
        if let Some(record) = record {
            super::records::after(app, &p.c, p.action, &record).await;
        }
    }
}
