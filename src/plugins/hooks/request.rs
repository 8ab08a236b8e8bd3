//! Record request hooks over an answer the API built, run before the
//! answer is shaped (`expand`, `fields`): `onRecordViewRequest` (`GET
//! /api/collections/{c}/records/{id}`, once the view rule let the caller
//! see the record), `onRecordAuthRequest` (`auth`) and
//! `onRecordsListRequest` (`GET /api/collections/{c}/records`, over the
//! page the list rule and filter selected). As in PocketBase 0.40.6, a
//! throw answers the thrown error, a handler that does not call `e.next()`
//! answers itself (what it wrote, else 200 with an empty body), and what
//! handlers change in the records (`set`, `hide`) is what the answer
//! shows; nothing is saved.

use serde_json::{Map, Value, json};

use super::records::{Outcome, answered, hook_outcome};
use crate::app::App;
use crate::filter::ast::RequestInfo;
use crate::schema::Collection;
use crate::service::{Actor, Error};

/// Runs the `hook` handlers of `c` over `record` with the extra event
/// `fields` (an object); the record and fields they left.
pub async fn record(
    app: &App,
    c: &Collection,
    hook: &str,
    actor: &Actor,
    record: Value,
    fields: Value,
) -> Result<Outcome<(Value, Value)>, Error> {
    if !has(app, hook) {
        return Ok(Outcome::Done((record, fields)));
    }
    let arg = json!({
        "hook": hook,
        "collection": c.to_json(),
        "record": record,
        "fields": fields,
        "event": event(actor, None),
    });
    Ok(match run(app, hook, "__runRecordRequest", arg).await? {
        Outcome::Done(mut out) => Outcome::Done((out["record"].take(), out["fields"].take())),
        Outcome::Answered(res) => Outcome::Answered(res),
    })
}

/// Whether `onRecordsListRequest` has handlers (the list is then built
/// unshaped, for `list` to run them before the shape applies).
pub fn has_list_hook(app: &App) -> bool {
    has(app, LIST)
}

const LIST: &str = "onRecordsListRequest";

/// Runs the `onRecordsListRequest` handlers of `c` over `page` (the
/// `{page, perPage, totalItems, totalPages, items}` envelope); the
/// envelope they left.
pub async fn list(
    app: &App,
    c: &Collection,
    actor: &Actor,
    req: &RequestInfo,
    page: Value,
) -> Result<Outcome<Value>, Error> {
    if !has(app, LIST) {
        return Ok(Outcome::Done(page));
    }
    let arg = json!({
        "hook": LIST,
        "collection": c.to_json(),
        "result": page,
        "event": event(actor, Some(req)),
    });
    Ok(match run(app, LIST, "__runRecordsList", arg).await? {
        Outcome::Done(mut out) => Outcome::Done(out["result"].take()),
        Outcome::Answered(res) => Outcome::Answered(res),
    })
}

fn has(app: &App, hook: &str) -> bool {
    app.hooks
        .get()
        .is_some_and(|h| h.current().hook_names.contains(hook))
}

/// The request event's parts: the caller, and the query and method when
/// known (`e.requestInfo().query`, `e.request.url.query()`).
fn event(actor: &Actor, req: Option<&RequestInfo>) -> Value {
    let query: Map<String, Value> = req
        .map(|r| {
            r.query
                .map()
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect()
        })
        .unwrap_or_default();
    json!({"method": req.map(|r| r.method.as_str()).unwrap_or_default(), "path": "",
           "headers": {}, "query": query, "params": {}, "body": "", "ip": "",
           "auth": super::http::auth_json(actor)})
}

/// Calls `func` with `arg` on a worker: its output, or the handlers' own
/// answer or error.
async fn run(
    app: &App,
    hook: &str,
    func: &'static str,
    arg: Value,
) -> Result<Outcome<Value>, Error> {
    let Some(hooks) = app.hooks.get() else {
        return Ok(Outcome::Done(Value::Null));
    };
    let out = hooks
        .call(hooks.current(), func, arg.to_string())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, hook, "record request hook failed");
            Error::bad("Something went wrong while processing your request.")
        })?;
    if let Some(res) = answered(&out) {
        return Ok(Outcome::Answered(res));
    }
    hook_outcome(out).map(Outcome::Done)
}
