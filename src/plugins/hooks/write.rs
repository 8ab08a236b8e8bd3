//! A REST record create, update or delete with its `pb_hooks` around it,
//! in PocketBase's order: `onRecord…Request` → `e.next()` →
//! `onRecord{Create,Update,Delete}` → `onRecordValidate` →
//! `onRecord…Execute` → `e.next()` → the write, and back out through the
//! code each handler runs after its `e.next()`.
//!
//! The chain runs on a JavaScript worker; its last `e.next()` opens a write
//! transaction (`tx`) and runs the API's own prepared write in it, so the
//! code after `e.next()` sees the written record (`e.record.id`,
//! `isNew()` false, findable through `$app`), its `$app` writes join the
//! transaction, and a throw there rolls everything back and answers with
//! the thrown error. When the action has no before-hooks, the write runs
//! as plain API write (no worker round trip).

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::records::{
    Outcome, answered, chain_arg, chained, hook_outcome, keep_for_error, or_after_error, submitted,
};
use super::tx::{Step, Terminal};
use crate::app::App;
use crate::filter::ast::RequestInfo;
use crate::plugins::conn_host;
use crate::plugins::runtime::HostError;
use crate::schema::Collection;
use crate::service::files::{Staged, Upload};
use crate::service::records::{self, DeleteOp, Write};
use crate::service::{Actor, Error};
use crate::store::records::Row_;

/// What the write inside the transaction produced, for the request.
type Slot = Arc<Mutex<Option<Result<(Staged, Row_), Error>>>>;

/// One REST write: what it acts on and for whom.
#[derive(Clone)]
pub struct Rest {
    pub app: Arc<App>,
    pub c: Arc<Collection>,
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    pub actor: Actor,
    pub req: RequestInfo,
    /// The record's, for an update or a delete.
    pub id: Option<String>,
}

/// Runs the REST write `w` with the hooks around it; the record as the
/// caller may see it (`None` for a delete), or a handler's own answer.
pub async fn write(
    w: &Rest,
    input: Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<Outcome<Option<Value>>, Error> {
    let (app, c, action) = (&w.app, &w.c, w.action);
    let id = w.id.as_deref();
    let input = crate::plugins::native::record_before(app, c, action, &w.actor, id, input).await?;
    let Some((hooks, generation)) = chained(app, action) else {
        let kept = keep_for_error(app, c, action, id, &input);
        let res = plain(w, input, uploads).await;
        return or_after_error(app, c, action, kept, res)
            .await
            .map(Outcome::Done);
    };
    let (stored, mut arg) = chain_arg(app, c, action, &w.actor, id, &input)?;
    let (described, files) = super::uploads::describe(&w.req, &uploads);
    arg["event"]["files"] = described;
    let slot: Slot = Arc::default();
    let terminal = terminal(w.clone(), input, stored, uploads, &slot);
    let out = hooks
        .call_with(
            generation,
            "__runRecordTx",
            arg.to_string(),
            Some(terminal),
            files,
        )
        .await;
    let written = slot.lock().ok().and_then(|mut s| s.take());
    let committed = matches!(&out, Ok(v) if v["ok"] == true);
    if !committed && let Some(Ok((staged, _))) = &written {
        staged.discard().await; // the write was rolled back
    }
    let out = out.map_err(|e| {
        tracing::error!(error = %e, "record hook failed");
        Error::bad("Something went wrong while processing your request.")
    })?;
    if !committed {
        if out["writeError"] == true
            && let Some(Err(e)) = written
        {
            return Err(e);
        }
        if let Some(res) = answered(&out) {
            return Ok(Outcome::Answered(res));
        }
        hook_outcome(out)?;
        return Err(Error::bad(
            "Something went wrong while processing your request.",
        ));
    }
    if let Some(unsaved) = out.get("unsaved") {
        // A model hook did not call `e.next()`: the API answers as if
        // written (the after-success hooks run), as PocketBase does.
        return Ok(Outcome::Done(
            Some(unsaved.clone()).filter(|_| action != "delete"),
        ));
    }
    match written {
        Some(Ok((staged, row))) => {
            records::written(&app.store, c, &w.actor, &w.req, id, &staged, Ok(row))
                .await
                .map(|v| Outcome::Done(Some(v)))
        }
        // A delete (nothing to present).
        _ => {
            crate::service::files::cleanup::poke();
            Ok(Outcome::Done(None))
        }
    }
}

/// The write without hooks around it: the API's own write job.
async fn plain(
    w: &Rest,
    input: Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<Option<Value>, Error> {
    let (store, files) = (&w.app.store, Some((w.app.files.as_ref(), uploads)));
    let (c, actor, req) = (Arc::clone(&w.c), &w.actor, &w.req);
    match (w.action, w.id.clone()) {
        ("delete", Some(id)) => records::delete(store, c, actor, req, id)
            .await
            .map(|()| None),
        (_, Some(id)) => records::update_with_files(store, files, c, actor, req, id, input)
            .await
            .map(Some),
        (_, None) => records::create_with_files(store, files, c, actor, req, input)
            .await
            .map(Some),
    }
}

/// The chain's last step, run on the worker: prepares the API's write with
/// the record as the hooks left it, to run inside the transaction.
fn terminal(
    w: Rest,
    input: Map<String, Value>,
    stored: Option<Value>,
    uploads: Vec<Upload>,
    slot: &Slot,
) -> Terminal {
    let slot = Arc::clone(slot);
    let rt = tokio::runtime::Handle::current();
    super::tx::once(move |args: Value| -> Result<Step, HostError> {
        let failed = |e: Error, slot: &Slot| {
            let h = host_error(&e);
            if let Ok(mut s) = slot.lock() {
                *s = Some(Err(e));
            }
            h
        };
        let Rest {
            app,
            c,
            action,
            actor,
            req,
            id,
        } = w;
        if action == "delete" {
            let id = id.unwrap_or_default();
            let op =
                DeleteOp::prepare(&app.store, c, &actor, &req, id).map_err(|e| failed(e, &slot))?;
            return Ok(Step::Job(Box::new(move |ctx, _| {
                op.run(ctx).map_err(|e| failed(e, &slot))?;
                Ok(Value::Null)
            })));
        }
        let data = args["data"].as_object().cloned().unwrap_or_default();
        let body = submitted(action, &input, stored.as_ref(), data);
        let files = Some((app.files.as_ref(), uploads));
        let prepare = Write::prepare(&app.store, files, Arc::clone(&c), &actor, &req, id, body);
        let op = rt.block_on(prepare).map_err(|e| failed(e, &slot))?;
        let staged = op.staged();
        Ok(Step::Job(Box::new(move |ctx, schema| match op.run(ctx) {
            Ok(row) => {
                let v = conn_host::public(schema, &c, &row);
                if let Ok(mut s) = slot.lock() {
                    *s = Some(Ok((staged, row)));
                }
                Ok(v)
            }
            Err(e) => Err(failed(e, &slot)),
        })))
    })
}

/// A service error as the script sees it (`e.error`, a catch).
pub(crate) fn host_error(e: &Error) -> HostError {
    let (status, message, data) = e.parts();
    HostError {
        status,
        message,
        data: Value::Object(data),
    }
}
