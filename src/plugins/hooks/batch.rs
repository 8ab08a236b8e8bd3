//! `onBatchRequest`: runs before a batch's sub-requests (and their record
//! hooks) with `e.batch`, the list of `{method, url, body}` a handler may
//! change; a throw answers the batch with that error, as in PocketBase.

use serde_json::{Value, json};

use crate::app::App;
use crate::service::batch::SubRequest;
use crate::service::{Actor, Error};

/// Runs the `onBatchRequest` handlers over `requests` (changing them).
pub async fn before(app: &App, actor: &Actor, requests: &mut [SubRequest]) -> Result<(), Error> {
    let Some(hooks) = app.hooks.get() else {
        return Ok(());
    };
    let generation = hooks.current();
    if !generation.hook_names.contains("onBatchRequest") {
        return Ok(());
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
    Ok(())
}
