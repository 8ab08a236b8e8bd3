//! Plugins on the request path: their routes in front of the built-in API
//! (matched with the `pb_hooks` path patterns, answered with its response
//! builder) and their record hooks, called from the same points of the
//! write path as `pb_hooks` (`plugins::hooks::records`).

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Plugins;
use super::instance::{CallError, Instance};
use crate::app::App;
use crate::plugins::hooks::http::{auth_json, caller, error, peer_ip, response};
use crate::plugins::hooks::records::{after_name, names as before_names};
use crate::schema::Collection;
use crate::service::{Actor, Error};

/// Largest request body handed to a plugin route.
const MAX_BODY: usize = 32 << 20;

const FAILED: &str = "Something went wrong while processing your request.";

/// The step of `front::layer`: a request matching a plugin route is
/// answered by it; anything else is given back.
pub async fn answer(app: &Arc<App>, req: Request) -> Result<Response, Request> {
    let Some(plugins) = app.plugins.get() else {
        return Err(req);
    };
    let (method, path) = (req.method().as_str(), req.uri().path());
    let found = plugins.current().iter().find_map(|p| {
        p.routes
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.matches(method, path).map(|m| (Arc::clone(p), i, m)))
    });
    let Some((plugin, idx, params)) = found else {
        return Err(req);
    };
    Ok(serve(app, plugins, plugin, idx, params, req).await)
}

/// Runs route `idx` of `plugin` for `req`.
async fn serve(
    app: &Arc<App>,
    plugins: &Arc<Plugins>,
    plugin: Arc<Instance>,
    idx: usize,
    params: Vec<(String, String)>,
    req: Request,
) -> Response {
    let method = req.method().as_str().to_owned();
    let params: Map<String, Value> = params.into_iter().map(|(k, v)| (k, v.into())).collect();
    let (mut parts, body) = req.into_parts();
    let actor = match caller(&mut parts, app).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(413, "Request entity too large.");
    };
    let ip = peer_ip(&parts);
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), json!(v.to_str().ok()?))))
        .collect();
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("localhost");
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let request = json!({
        "method": method,
        "url": format!("http://{host}{target}"),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
        "params": params,
        "ip": ip,
        "auth": auth_json(&actor).get("record").cloned().unwrap_or(Value::Null),
    });
    let out = plugins
        .call(&plugin, "route", json!({"idx": idx, "request": request}))
        .await;
    match out {
        Ok(v) => response(&v),
        Err(e) => match e.api {
            Some(api) => api_response(&api),
            None => error(500, FAILED),
        },
    }
}

fn api_response(api: &Value) -> Response {
    let status = api["status"].as_u64().unwrap_or(400);
    let body = json!({"data": api["data"], "message": api["message"], "status": status});
    response(&json!({"status": status, "type": "application/json", "body": body.to_string()}))
}

/// The plugins with a hook `name` for collection `c`.
fn with_hook(plugins: &Plugins, name: &str, c: &Collection) -> Vec<Arc<Instance>> {
    plugins
        .current()
        .iter()
        .filter(|p| {
            p.def.hooks.iter().any(|h| {
                h.name == name
                    && (h.collections.is_empty()
                        || h.collections
                            .iter()
                            .any(|t| *t == c.name.as_str() || *t == c.id))
            })
        })
        .cloned()
        .collect()
}

/// Whether any plugin has a record hook (batch requests then plan their
/// sub-requests' hooks, as they do for pb_hooks).
pub fn any_record_hook(app: &App) -> bool {
    app.plugins
        .get()
        .is_some_and(|p| p.current().iter().any(|i| !i.def.hooks.is_empty()))
}

fn collection_json(c: &Collection) -> Value {
    json!({"id": c.id, "name": c.name.as_str()})
}

/// Runs the plugins' before-hooks of `action` (request hooks, then model
/// hooks, plugin by plugin in file order) and returns the data to write.
/// A hook changes `e.record` (the submitted data) or throws to refuse.
pub async fn record_before(
    app: &App,
    c: &Collection,
    action: &'static str,
    actor: &Actor,
    id: Option<&str>,
    mut input: Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let Some(plugins) = app.plugins.get() else {
        return Ok(input);
    };
    let mut original = None;
    for name in before_names(action) {
        for p in with_hook(plugins, name, c) {
            if original.is_none()
                && let Some(id) = id
            {
                original = Some(stored_public(app, c, id).unwrap_or(Value::Null));
            }
            let event = json!({
                "collection": collection_json(c),
                "action": action,
                "record": input,
                "original": original,
                "auth": auth_json(actor).get("record").cloned().unwrap_or(Value::Null),
            });
            let out = plugins
                .call(&p, "hook", json!({"name": name, "event": event}))
                .await
                .map_err(refusal)?;
            input = out["data"].as_object().cloned().unwrap_or_default();
        }
    }
    Ok(input)
}

fn refusal(e: CallError) -> Error {
    match e.api {
        Some(api) => {
            let status = api["status"].as_u64().unwrap_or(400) as u16;
            let mut body = Map::new();
            body.insert("data".into(), api["data"].clone());
            body.insert("message".into(), api["message"].clone());
            body.insert("status".into(), json!(status));
            Error::Raw(status, body)
        }
        None => Error::bad(FAILED),
    }
}

/// Runs the plugins' after-success hooks of `action` with the record.
pub async fn record_after(app: &App, c: &Collection, action: &'static str, record: &Value) {
    let Some(plugins) = app.plugins.get() else {
        return;
    };
    let name = after_name(action);
    for p in with_hook(plugins, name, c) {
        let event = json!({"collection": collection_json(c), "action": action, "record": record});
        // Failures are logged (and counted) by `Plugins::call`.
        let _ = plugins
            .call(&p, "hook", json!({"name": name, "event": event}))
            .await;
    }
}

/// Whether an after-delete hook of a plugin wants the deleted record.
pub fn wants_stored(app: &App, c: &Collection) -> bool {
    app.plugins
        .get()
        .is_some_and(|p| !with_hook(p, after_name("delete"), c).is_empty())
}

fn stored_public(app: &App, c: &Collection, id: &str) -> Option<Value> {
    app.store
        .read(|conn| crate::store::records::get(conn, c, id))
        .ok()
        .flatten()
        .map(|row| crate::plugins::conn_host::public(&app.store.schema(), c, &row))
}
