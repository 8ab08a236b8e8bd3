//! `$app` for hooks and routes: host operations against the running store.
//! Workers are plain threads, so async service calls are driven with the
//! runtime handle (`block_on`); reads go to the reader pool directly.

use std::sync::{Arc, Weak};

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::filter::ast::RequestInfo;
use crate::plugins::conn_host::{self, NO_ROWS, svc, to_host};
use crate::plugins::runtime::{Host, HostError};
use crate::service::{self, records as rec_svc};

/// A host bound to `app` (weakly: workers must not keep the app alive).
pub fn host(app: Weak<App>, rt: tokio::runtime::Handle) -> Host {
    std::rc::Rc::new(move |op, args| {
        if let Some(r) = crate::plugins::ops::common(op, &args) {
            return r;
        }
        if op == "upload.read" {
            return super::uploads::read(&args);
        }
        let app = app
            .upgrade()
            .ok_or_else(|| HostError::new(503, "the app is shutting down"))?;
        // Inside a transaction: its operations, on the writer's connection
        // (they wait on the writer, so on an async worker they hand its
        // other tasks on first).
        if super::tx::routes(op)
            && let Some(r) =
                crate::plugins::runtime::blocking(|| super::tx::route(&app, &rt, op, &args))
        {
            return r;
        }
        if waits(op) {
            crate::plugins::runtime::blocking(|| dispatch(&app, &rt, op, args))
        } else {
            dispatch(&app, &rt, op, args)
        }
    })
}

/// Operations that wait on the writer, the network or the mailer (run
/// through `runtime::blocking`: a route may call them on an async worker).
/// Reads and in-memory operations answer at once.
fn waits(op: &str) -> bool {
    !conn_host::reads(op)
        && !matches!(
            op,
            "settings.get" | "require.read" | "mails.compose" | "template.render"
        )
        && !op.starts_with("store.")
}

fn dispatch(
    app: &Arc<App>,
    rt: &tokio::runtime::Handle,
    op: &str,
    args: Value,
) -> Result<Value, HostError> {
    let store = &app.store;
    match op {
        "collections.find" => store
            .schema()
            .get(args.as_str().unwrap_or_default())
            .map(|c| c.to_json())
            .ok_or_else(|| HostError::new(404, NO_ROWS)),
        "collections.all" => {
            let types: Vec<String> = serde_json::from_value(args).unwrap_or_default();
            Ok(Value::Array(
                store
                    .schema()
                    .collections
                    .iter()
                    .filter(|c| types.is_empty() || types.iter().any(|t| t == c.kind.as_str()))
                    .map(|c| c.to_json())
                    .collect(),
            ))
        }
        "collections.save" => {
            let existing = args["id"]
                .as_str()
                .and_then(|id| store.schema().get(id).filter(|c| c.id == id));
            rt.block_on(async {
                match existing {
                    Some(c) => service::collections::update(store, c, args).await,
                    None => service::collections::create(store, args).await,
                }
            })
            .map_err(svc)
        }
        "collections.delete" => {
            let c = store
                .schema()
                .get(args.as_str().unwrap_or_default())
                .ok_or_else(|| HostError::new(404, NO_ROWS))?;
            rt.block_on(service::collections::delete(store, c))
                .map_err(svc)?;
            Ok(Value::Null)
        }
        "collections.import" => {
            rt.block_on(service::collections::import(store, args))
                .map_err(svc)?;
            Ok(Value::Null)
        }
        "records.find" | "records.filter" | "records.where" | "db.query" => {
            let schema = store.schema();
            store
                .read(|conn| Ok(conn_host::read(conn, &schema, op, &args)))
                .map_err(to_host)?
        }
        "records.save" => save(app, rt, args),
        "records.delete" => {
            let schema = store.schema();
            let c = conn_host::collection_in(&schema, &args)?;
            let actor = conn_host::system_actor(&schema);
            let id = args["id"].as_str().unwrap_or_default().to_owned();
            rt.block_on(rec_svc::delete(
                store,
                c,
                &actor,
                &RequestInfo::default(),
                id,
            ))
            .map_err(svc)?;
            Ok(Value::Null)
        }
        "db.execute" => {
            let res = rt.block_on(store.write(move |ctx| conn_host::execute(ctx.conn, &args)));
            let n = res.map_err(|e: HostError| e)?;
            Ok(json!({"rowsAffected": n}))
        }
        "settings.get" => Ok((*app.settings()).clone()),
        "settings.save" => save_settings(app, rt, args),
        op if op.starts_with("store.") => super::kv::op(app, op, args),
        "http.send" => super::http::send(app, rt, &args),
        op if op.starts_with("auth.") => super::auth::host_op(app, rt, op, &args),
        "require.read" => require_read(app, &args),
        "mails.compose" => compose_mail(app, &args),
        "mailer.send" => super::mailer::send(app, rt, &args),
        op if op.starts_with("os.") || op == "app.dataDir" => {
            let roots = crate::plugins::os::Roots::new(
                &app.config.dir,
                &crate::plugins::hooks_dir(&app.config),
            );
            crate::plugins::os::op(&roots, op, &args)
                .unwrap_or_else(|| Err(HostError::new(400, format!("{op} is not supported"))))
        }
        "template.render" => {
            let dir = crate::plugins::hooks_dir(&app.config);
            crate::plugins::template::render(&dir, &args)
                .map(Value::String)
                .map_err(|e| HostError::new(400, e))
        }
        _ => Err(HostError::new(
            400,
            format!("{op} is not supported by Cairn"),
        )),
    }
}

impl From<crate::store::StoreError> for HostError {
    fn from(e: crate::store::StoreError) -> Self {
        to_host(e)
    }
}

fn save(app: &Arc<App>, rt: &tokio::runtime::Handle, args: Value) -> Result<Value, HostError> {
    let store = &app.store;
    let schema = store.schema();
    let c = conn_host::collection_in(&schema, &args)?;
    let actor = conn_host::system_actor(&schema);
    let mut input: Map<String, Value> = args["data"].as_object().cloned().unwrap_or_default();
    let req = RequestInfo::default();
    match args["id"].as_str() {
        Some(id) => {
            for k in ["collectionId", "collectionName", "created", "updated", "id"] {
                input.remove(k);
            }
            rt.block_on(rec_svc::update(
                store,
                c,
                &actor,
                &req,
                id.to_owned(),
                input,
            ))
            .map_err(svc)
        }
        None => rt
            .block_on(rec_svc::create(store, c, &actor, &req, input))
            .map_err(svc),
    }
}

/// `$app.save(settings)`: the whole object, merged and validated as the
/// settings API does, then applied to the running app.
fn save_settings(
    app: &Arc<App>,
    rt: &tokio::runtime::Handle,
    args: Value,
) -> Result<Value, HostError> {
    let saved = rt
        .block_on(service::settings::patch(&app.store, args))
        .map_err(svc)?;
    app.set_settings(saved.clone());
    crate::ops::apply_backup_schedule(app);
    Ok(saved)
}

/// `$mails.sendRecord…`: `{kind, collection, id, newEmail?, otpId?, pass?,
/// info?}` → the mail as PocketBase's `{message, meta}` and the record
/// hook to run it through (the script runs the chain and sends).
fn compose_mail(app: &Arc<App>, args: &Value) -> Result<Value, HostError> {
    use crate::service::auth::hook_mails::{self, RecordMail};
    let text = |k: &str| args[k].as_str().unwrap_or_default().to_owned();
    let what = match args["kind"].as_str().unwrap_or_default() {
        "passwordReset" => RecordMail::PasswordReset,
        "verification" => RecordMail::Verification,
        "emailChange" => RecordMail::EmailChange(text("newEmail")),
        "otp" => RecordMail::Otp {
            id: text("otpId"),
            pass: text("pass"),
        },
        "authAlert" => RecordMail::AuthAlert(text("info")),
        other => {
            return Err(HostError::new(
                400,
                format!("$mails: unknown mail {other:?}"),
            ));
        }
    };
    let c = app
        .store
        .schema()
        .get(&text("collection"))
        .ok_or_else(|| HostError::new(404, NO_ROWS))?;
    let composed = hook_mails::compose(app, &c, &text("id"), what).map_err(svc)?;
    Ok(json!({
        "hook": super::mailer::hook_of(&composed.key),
        "message": super::mailer::message_json(&app.settings(), &composed.mail),
        "meta": composed.meta,
    }))
}

/// `require()`: the source of a CommonJS file. Relative paths resolve from
/// the working directory (as goja_nodejs does); only `.js` files.
fn require_read(app: &Arc<App>, args: &Value) -> Result<Value, HostError> {
    let _ = app;
    let path = std::path::PathBuf::from(args.as_str().unwrap_or_default());
    let path = if path.extension().is_none() {
        path.with_extension("js")
    } else {
        path
    };
    let abs = std::path::absolute(&path).map_err(|e| HostError::new(400, e.to_string()))?;
    let src = std::fs::read_to_string(&abs)
        .map_err(|e| HostError::new(400, format!("require {}: {e}", abs.display())))?;
    Ok(json!({"path": abs.to_string_lossy(), "src": src}))
}
