//! Record hooks around the REST write path: `onRecord{Create,Update,Delete}Request`
//! and `onRecord{Create,Update,Delete}` run before validation and the
//! write (they may change the submitted data or stop the request), and
//! `onRecordAfter{Create,Update,Delete}Success` after the commit.
//!
//! Batch requests (`/api/batch`) run the same hooks for each sub-request,
//! as PocketBase does: all the "before" handlers first, in request order,
//! then the batch's one write job, then the after-success handlers.
//!
//! Unlike PocketBase, the "before" handlers run before the write job, not
//! inside its transaction: code after `e.next()` still runs before the
//! write, and a hook's own `$app` writes are separate transactions. This
//! keeps the single writer thread free of script time.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::schema::{Collection, CollectionKind};
use crate::service::batch::{self, SubRequest};
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

/// Runs the before-hooks of `action` (`create`, `update`, `delete`) and
/// returns the data to write. `id` is the record's for update and delete.
pub async fn before(
    app: &App,
    c: &Collection,
    action: &'static str,
    actor: &Actor,
    id: Option<&str>,
    input: Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let input = crate::plugins::native::record_before(app, c, action, actor, id, input).await?;
    let Some(hooks) = app.hooks.get() else {
        return Ok(input);
    };
    let generation = hooks.current();
    if !names(action)
        .iter()
        .any(|n| generation.hook_names.contains(*n))
    {
        return Ok(input);
    }
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
    })
    .to_string();
    let out = hooks
        .call(generation, "__runRecordBefore", arg)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "record hook failed");
            Error::bad("Something went wrong while processing your request.")
        })?;
    let out = hook_outcome(out)?;
    let mut data = out["data"].as_object().cloned().unwrap_or_default();
    // The stored record's own keys are not input (they would be rewritten).
    if action != "create" {
        for k in ["collectionId", "collectionName", "created", "updated"] {
            if !input.contains_key(k) {
                data.remove(k);
            }
        }
        if let Some(Value::Object(s)) = &stored {
            data.retain(|k, v| input.contains_key(k) || s.get(k) != Some(v));
        }
    }
    Ok(data)
}

/// A before-chain's answer: its error response (a handler threw) or the
/// stop of a handler that did not call `e.next()`, else `out` itself.
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
    if out.get("stopped").is_some() {
        return Err(Error::bad(
            "The request was stopped by a hook (it did not call e.next()).",
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

/// What one batch sub-request does, for its after-success hooks.
pub struct Planned {
    c: Arc<Collection>,
    action: &'static str,
    /// The record as it was, for a delete.
    stored: Option<Value>,
}

/// Runs the before-hooks of every sub-request of a batch (changing their
/// bodies); a hook's error fails the batch as PocketBase reports it. `PUT`
/// runs the update hooks when the record exists, else the create hooks.
/// Sub-requests that are no record writes are left to the batch to refuse.
pub async fn before_batch(
    app: &App,
    actor: &Actor,
    requests: &mut [SubRequest],
) -> Result<Vec<Option<Planned>>, Error> {
    let compat = app.hooks.get().map(|h| h.current());
    let native = crate::plugins::native::any_record_hook(app);
    if compat.is_none() && !native {
        return Ok(Vec::new());
    }
    batch::check(&app.store, requests)?;
    let any = native
        || compat.is_some_and(|generation| {
            ["create", "update", "delete"].iter().any(|a| {
                names(a)
                    .iter()
                    .chain([&after_name(a)])
                    .any(|n| generation.hook_names.contains(*n))
            })
        });
    if !any {
        return Ok(Vec::new());
    }
    let schema = app.store.schema();
    let mut out = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter_mut().enumerate() {
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
        let gone = if action == "delete" {
            stored(app, &c, id.as_deref().unwrap_or_default())
        } else {
            None
        };
        let body = std::mem::take(&mut r.body);
        r.body = before(app, &c, action, actor, id.as_deref(), body)
            .await
            .map_err(|e| batch::failed(i, &e))?;
        out.push(Some(Planned {
            c,
            action,
            stored: gone,
        }));
    }
    Ok(out)
}

/// Runs the after-success hooks of a committed batch (`results` as sent).
pub async fn after_batch(app: &App, planned: Vec<Option<Planned>>, results: &Value) {
    let results = results.as_array().map(Vec::as_slice).unwrap_or_default();
    for (p, r) in planned.into_iter().zip(results) {
        let Some(p) = p else { continue };
        let record = match p.action {
            "delete" => p.stored,
            _ => Some(r["body"].clone()),
        };
        if let Some(record) = record {
            after(app, &p.c, p.action, &record).await;
        }
    }
}
