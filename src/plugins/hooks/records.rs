//! The record hooks of the REST write path, shared by single writes
//! (`write`) and batches (`batch`): the names of each chain, the chain's
//! argument, what a chain answered, and the after-success and after-error
//! hooks run once the write committed or failed.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::schema::Collection;
use crate::service::{Actor, Error};

/// The hooks that run before the write of `action`, in chain order.
pub(crate) fn names(action: &str) -> &'static [&'static str] {
    match action {
        "create" => &[
            "onRecordCreateRequest",
            "onRecordCreate",
            "onRecordValidate",
            "onRecordCreateExecute",
        ],
        "update" => &[
            "onRecordUpdateRequest",
            "onRecordUpdate",
            "onRecordValidate",
            "onRecordUpdateExecute",
        ],
        _ => &[
            "onRecordDeleteRequest",
            "onRecordDelete",
            "onRecordDeleteExecute",
        ],
    }
}

fn error_name(action: &str) -> &'static str {
    match action {
        "create" => "onRecordAfterCreateError",
        "update" => "onRecordAfterUpdateError",
        _ => "onRecordAfterDeleteError",
    }
}

pub(crate) fn after_name(action: &str) -> &'static str {
    match action {
        "create" => "onRecordAfterCreateSuccess",
        "update" => "onRecordAfterUpdateSuccess",
        _ => "onRecordAfterDeleteSuccess",
    }
}

/// The hooks and their generation when `action` has before-hooks.
pub(crate) fn chained<'a>(
    app: &'a App,
    action: &str,
) -> Option<(&'a Arc<super::Hooks>, Arc<super::Generation>)> {
    let hooks = app.hooks.get()?;
    let generation = hooks.current();
    names(action)
        .iter()
        .any(|n| generation.hook_names.contains(*n))
        .then_some((hooks, generation))
}

/// The argument of a before-chain: the record as stored (update, delete),
/// and the chain's JSON.
pub(crate) fn chain_arg(
    app: &App,
    c: &Collection,
    action: &str,
    actor: &Actor,
    id: Option<&str>,
    input: &Map<String, Value>,
) -> Result<(Option<Value>, Value), Error> {
    let stored = match id {
        Some(id) => app
            .store
            .read(|conn| crate::store::records::get(conn, c, id))?
            .map(|row| crate::plugins::conn_host::public(&app.store.schema(), c, &row)),
        None => None,
    };
    let arg = json!({
        "action": action,
        "collection": c.to_json(),
        "stored": stored,
        "data": input,
        "event": {"method": "", "path": "", "headers": {}, "query": {}, "params": {}, "body": "", "ip": "",
                  "auth": super::http::auth_json(actor)},
    });
    Ok((stored, arg))
}

/// The record data the hooks left (`data`, the whole record for an update)
/// as the body to write: the stored record's own keys are not input (they
/// would be rewritten), unless submitted or changed.
pub(crate) fn submitted(
    action: &str,
    input: &Map<String, Value>,
    stored: Option<&Value>,
    mut data: Map<String, Value>,
) -> Map<String, Value> {
    if action != "create" {
        for k in ["collectionId", "collectionName", "created", "updated"] {
            if !input.contains_key(k) {
                data.remove(k);
            }
        }
        if let Some(Value::Object(s)) = stored {
            data.retain(|k, v| input.contains_key(k) || s.get(k) != Some(v));
        }
    }
    data
}

/// What a write with hooks around it ended with.
pub enum Outcome<T> {
    /// The chain reached the write: its result.
    Done(T),
    /// A handler did not call `e.next()`: nothing was written and this is
    /// the answer (`answered`).
    Answered(Response),
}

/// The answer of a chain that stopped before the write, as PocketBase
/// 0.40.6 gives it (the chain's `response`, `tx.js` `__stopResponse`): the
/// response the handler wrote, else 200 with an empty body; after a model
/// hook's stop, the record or collection as the hooks left it (204 for a
/// delete). `None` when the chain did not stop.
pub fn answered(out: &Value) -> Option<Response> {
    out.get("stopped")?;
    Some(match out.get("response").filter(|r| r.is_object()) {
        Some(r) => super::http::response(r),
        None => super::http::response(&json!({"status": 200})),
    })
}

/// A before-chain's answer: its error response (a handler threw), else
/// `out` itself (see `answered` for a chain that stopped).
pub fn hook_outcome(out: Value) -> Result<Value, Error> {
    if let Some(err) = out.get("error") {
        if let Some(log) = err["log"].as_str().filter(|s| !s.is_empty()) {
            tracing::error!(error = %log, "hook threw");
        }
        let body: Value =
            serde_json::from_str(err["body"].as_str().unwrap_or("{}")).unwrap_or_default();
        let status = err["status"].as_u64().unwrap_or(400) as u16;
        return Err(Error::Raw(
            status,
            body.as_object().cloned().unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// Runs the after-success hooks of `action` with the written record.
pub async fn after(app: &App, c: &Collection, action: &'static str, record: &Value) {
    crate::plugins::native::record_after(app, c, action, record).await;
    let Some(hooks) = app.hooks.get() else {
        return;
    };
    let generation = hooks.current();
    if !generation.hook_names.contains(after_name(action)) {
        return;
    }
    let arg = json!({"action": action, "collection": c.to_json(), "record": record}).to_string();
    if let Err(e) = hooks.call(generation, "__runRecordAfter", arg).await {
        tracing::error!(error = %e, hook = after_name(action), "after-success hook failed");
    }
}

/// What an after-error hook of `action` will want if the write fails:
/// the record as submitted (with its id for an update or delete).
pub fn keep_for_error(
    app: &App,
    c: &Collection,
    action: &str,
    id: Option<&str>,
    data: &Map<String, Value>,
) -> Option<Value> {
    let generation = app.hooks.get()?.current();
    if !generation.hook_names.contains(error_name(action)) {
        return None;
    }
    let mut v = data.clone();
    if let Some(id) = id {
        v.insert("id".into(), json!(id));
    }
    v.insert("collectionId".into(), json!(c.id));
    v.insert("collectionName".into(), json!(c.name));
    Some(Value::Object(v))
}

/// Runs the after-error hooks of a failed write (`kept` from
/// `keep_for_error`) with the failure as `e.error`.
pub async fn after_error(
    app: &App,
    c: &Collection,
    action: &'static str,
    kept: Option<Value>,
    err: &Error,
) {
    let (Some(hooks), Some(record)) = (app.hooks.get(), kept) else {
        return;
    };
    let message = err.parts().1;
    let arg =
        json!({"action": action, "collection": c.to_json(), "record": record, "error": message})
            .to_string();
    if let Err(e) = hooks.call(hooks.current(), "__runRecordAfter", arg).await {
        tracing::error!(error = %e, hook = error_name(action), "after-error hook failed");
    }
}

/// Passes `result` on, running the after-error hooks first when it failed.
pub async fn or_after_error<T>(
    app: &App,
    c: &Collection,
    action: &'static str,
    kept: Option<Value>,
    result: Result<T, Error>,
) -> Result<T, Error> {
    if let Err(e) = &result {
        after_error(app, c, action, kept, e).await;
    }
    result
}

/// The record as stored, when an after-delete hook will want it.
pub fn stored(app: &App, c: &Collection, id: &str) -> Option<Value> {
    let compat = app
        .hooks
        .get()
        .is_some_and(|h| h.current().hook_names.contains(after_name("delete")));
    if !compat && !crate::plugins::native::wants_stored(app, c) {
        return None;
    }
    app.store
        .read(|conn| crate::store::records::get(conn, c, id))
        .ok()
        .flatten()
        .map(|row| crate::plugins::conn_host::public(&app.store.schema(), c, &row))
}
