//! Record request hooks over one record's answer, run before the answer is
//! shaped (`expand`, `fields`): `onRecordViewRequest` (`GET
//! /api/collections/{c}/records/{id}`, once the view rule let the caller
//! see the record) and `onRecordAuthRequest` (`auth`). As in PocketBase
//! 0.40.6, a throw answers the thrown error, a handler that does not call
//! `e.next()` answers itself (what it wrote, else 200 with an empty body),
//! and what handlers change in `e.record` (`set`, `hide`) is what the
//! answer shows; nothing is saved.

use serde_json::{Value, json};

use super::records::{Outcome, answered, hook_outcome};
use crate::app::App;
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
    let Some(hooks) = app.hooks.get() else {
        return Ok(Outcome::Done((record, fields)));
    };
    let generation = hooks.current();
    if !generation.hook_names.contains(hook) {
        return Ok(Outcome::Done((record, fields)));
    }
    let arg = json!({
        "hook": hook,
        "collection": c.to_json(),
        "record": record,
        "fields": fields,
        "event": {"method": "", "path": "", "headers": {}, "query": {}, "params": {}, "body": "",
                  "ip": "", "auth": super::http::auth_json(actor)},
    })
    .to_string();
    let out = hooks
        .call(generation, "__runRecordRequest", arg)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, hook, "record request hook failed");
            Error::bad("Something went wrong while processing your request.")
        })?;
    if let Some(res) = answered(&out) {
        return Ok(Outcome::Answered(res));
    }
    let mut out = hook_outcome(out)?;
    Ok(Outcome::Done((out["record"].take(), out["fields"].take())))
}
