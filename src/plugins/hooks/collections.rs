//! Collection hooks around the collections API (`POST`, `PATCH`, `DELETE
//! /api/collections…`), in PocketBase 0.40.6's order:
//! `onCollection{Create,Update,Delete}Request` → `e.next()` →
//! `onCollection{Create,Update,Delete}` → `onCollectionValidate` (not for a
//! delete) → `onCollection…Execute` → `e.next()` → the API's own write, then
//! `onCollectionAfter…Success` (or `…Error` with `e.error`), then the code
//! after each `e.next()`. What a handler changes in `e.collection` before
//! `e.next()` is what is saved.
//!
//! As in PocketBase, no transaction spans the chain: the write commits on
//! its own (a schema change is a write job of its own, with its DDL), so a
//! throw after `e.next()` answers the error and the change stays.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::records::{Outcome, answered};
use super::tx::{Step, Terminal};
use super::write::host_error;
use crate::app::App;
use crate::plugins::runtime::HostError;
use crate::schema::Collection;
use crate::service::{Actor, Error, collections};

/// Every collection hook name Cairn fires.
pub const NAMES: [&str; 16] = [
    "onCollectionCreateRequest",
    "onCollectionUpdateRequest",
    "onCollectionDeleteRequest",
    "onCollectionCreate",
    "onCollectionUpdate",
    "onCollectionDelete",
    "onCollectionValidate",
    "onCollectionCreateExecute",
    "onCollectionUpdateExecute",
    "onCollectionDeleteExecute",
    "onCollectionAfterCreateSuccess",
    "onCollectionAfterUpdateSuccess",
    "onCollectionAfterDeleteSuccess",
    "onCollectionAfterCreateError",
    "onCollectionAfterUpdateError",
    "onCollectionAfterDeleteError",
];

/// Creates (`old` `None`), updates or (`delete`) deletes a collection
/// through the API with the collection hooks around it; the saved
/// collection (`Null` for a delete), or a handler's own answer.
pub async fn write(
    app: &Arc<App>,
    actor: &Actor,
    old: Option<Arc<Collection>>,
    delete: bool,
    body: Value,
) -> Result<Outcome<Value>, Error> {
    let action = match (&old, delete) {
        (None, _) => "create",
        (Some(_), false) => "update",
        (Some(_), true) => "delete",
    };
    let hooks = app.hooks.get().filter(|h| {
        let g = h.current();
        NAMES.iter().any(|n| g.hook_names.contains(*n))
    });
    let Some(hooks) = hooks else {
        return plain(app, old, delete, body).await.map(Outcome::Done);
    };
    let collection = match &old {
        None => body.clone(),
        Some(c) => {
            let mut v = c.to_json();
            if let (Some(dst), Some(src)) = (v.as_object_mut(), body.as_object()) {
                dst.extend(src.clone());
            }
            v
        }
    };
    let arg = json!({
        "action": action,
        "collection": collection,
        "event": {"method": "", "path": "", "headers": {}, "query": {}, "params": {}, "body": "", "ip": "",
                  "auth": super::http::auth_json(actor)},
    })
    .to_string();
    let slot: Arc<Mutex<Option<Result<Value, Error>>>> = Arc::default();
    let terminal = terminal(app, old, delete, &slot);
    let out = hooks
        .call_with(
            hooks.current(),
            "__runCollectionHooks",
            arg,
            Some(terminal),
            Default::default(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "collection hook failed");
            Error::bad("Something went wrong while processing your request.")
        })?;
    let written = slot.lock().ok().and_then(|mut s| s.take());
    if out["writeError"] == true
        && let Some(Err(e)) = written
    {
        return Err(e);
    }
    if let Some(res) = answered(&out) {
        return Ok(Outcome::Answered(res));
    }
    super::records::hook_outcome(out)?;
    match written {
        Some(Ok(v)) => Ok(Outcome::Done(v)),
        _ => Err(Error::bad(
            "Something went wrong while processing your request.",
        )),
    }
}

/// The API's own write.
async fn plain(
    app: &App,
    old: Option<Arc<Collection>>,
    delete: bool,
    body: Value,
) -> Result<Value, Error> {
    match old {
        None => collections::create(&app.store, body).await,
        Some(c) if delete => collections::delete(&app.store, c)
            .await
            .map(|()| Value::Null),
        Some(c) => collections::update(&app.store, c, body).await,
    }
}

/// The chain's last step, on the worker: the API's write of the
/// collection as the hooks left it (`{data}`), committed at once.
fn terminal(
    app: &Arc<App>,
    old: Option<Arc<Collection>>,
    delete: bool,
    slot: &Arc<Mutex<Option<Result<Value, Error>>>>,
) -> Terminal {
    let (app, slot) = (Arc::clone(app), Arc::clone(slot));
    let rt = tokio::runtime::Handle::current();
    super::tx::once(move |args: Value| -> Result<Step, HostError> {
        let res = rt.block_on(plain(&app, old, delete, args["data"].clone()));
        let answer = match &res {
            Ok(v) => Ok(Step::Done(v.clone())),
            Err(e) => Err(host_error(e)),
        };
        if let Ok(mut s) = slot.lock() {
            *s = Some(res);
        }
        answer
    })
}
