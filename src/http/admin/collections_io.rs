//! Collections as JSON: export (`/_/export-collections`, PocketBase's
//! export: the collections API's JSON without `created`/`updated`) and
//! import (`/_/import-collections`) with a diff preview.
//!
//! The preview runs the import's own planning and validation
//! (`collections::import_plan`) without writing, so what it lists
//! (collections added, changed field by field, deleted) is exactly what
//! `PUT /api/collections/import` would do. Deleting collections
//! (`deleteMissing`) needs an extra tick that names how many go, and the
//! import itself is the API's, in one transaction.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form, query_pairs};
use crate::app::App;
use crate::schema::Collection;
use crate::service::collections as svc;

/// Every collection as `GET /api/collections` lists it, minus the
/// timestamps (PocketBase's export).
fn exported(app: &App) -> Vec<Value> {
    let list = svc::list(&app.store, 1, 1000, true, "", "").unwrap_or(Value::Null);
    list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            if let Some(o) = c.as_object_mut() {
                o.remove("created");
                o.remove("updated");
            }
            c
        })
        .collect()
}

/// `GET /_/export-collections?c=NAME...[&download=1]`.
pub async fn export(State(app): State<Arc<App>>, uri: Uri, admin: Admin) -> Response {
    let q = query_pairs(&uri);
    let picked: HashSet<String> = q
        .iter()
        .filter(|(k, _)| k == "c")
        .map(|(_, v)| v.clone())
        .collect();
    let all = exported(&app);
    let chosen: Vec<Value> = all
        .iter()
        .filter(|c| picked.is_empty() || c["name"].as_str().is_some_and(|n| picked.contains(n)))
        .cloned()
        .collect();
    let text = serde_json::to_string_pretty(&chosen).unwrap_or_default();
    if q.iter().any(|(k, _)| k == "download") {
        return (
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"pb_schema.json\"",
                ),
            ],
            text,
        )
            .into_response();
    }
    let names: Vec<Value> = all
        .iter()
        .map(|c| {
            let n = c["name"].as_str().unwrap_or_default();
            json!({"name": n, "checked": picked.is_empty() || picked.contains(n)})
        })
        .collect();
    let ctx = with(
        base(&app, &admin, "/_/collections", ""),
        json!({"title": "Export collections", "names": names, "json": text, "count": chosen.len()}),
    );
    view::render("collections_export.html", ctx)
}

/// The field-level changes from `old` to `new`.
fn changes(old: &Collection, new: &Collection) -> Vec<String> {
    let mut out = Vec::new();
    if old.name != new.name {
        out.push(format!("renamed from {} to {}", old.name, new.name));
    }
    for f in &new.fields {
        match old.fields.iter().find(|o| o.id == f.id) {
            None => out.push(format!("field {} ({}) added", f.name, f.kind.type_name())),
            Some(o) if o.name != f.name => {
                out.push(format!("field {} renamed to {}", o.name, f.name))
            }
            Some(o) if o.kind.type_name() != f.kind.type_name() => out.push(format!(
                "field {} changes type from {} to {}",
                f.name,
                o.kind.type_name(),
                f.kind.type_name()
            )),
            Some(o) if o.to_json() != f.to_json() => {
                out.push(format!("field {} options changed", f.name))
            }
            Some(_) => {}
        }
    }
    for o in &old.fields {
        if !new.fields.iter().any(|f| f.id == o.id) {
            out.push(format!("field {} deleted, with its data", o.name));
        }
    }
    let (a, b) = (old.to_json(), new.to_json());
    if let (Value::Object(a), Value::Object(b)) = (&a, &b) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            if ["fields", "created", "updated", "name"].contains(&k.as_str()) {
                continue;
            }
            if a.get(k) != b.get(k) {
                out.push(format!("{k} changed"));
            }
        }
    }
    out
}

/// The list of collections in a pasted JSON: an array, or PocketBase's
/// `{collections: [...]}`.
fn parse(text: &str) -> Result<Vec<Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(Value::Object(mut o)) => match o.remove("collections") {
            Some(Value::Array(a)) => Ok(a),
            _ => Err("The JSON must be a list of collections.".into()),
        },
        Ok(_) => Err("The JSON must be a list of collections.".into()),
        Err(e) => Err(format!("Invalid JSON: {e}.")),
    }
}

/// `path: message` lines of a PocketBase error `data` object.
fn error_lines(prefix: &str, data: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in data {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v.get("message").and_then(Value::as_str) {
            Some(m) => out.push(format!("{path}: {m}")),
            None => {
                if let Value::Object(o) = v {
                    error_lines(&path, o, out);
                }
            }
        }
    }
}

fn render(app: &App, admin: &Admin, extra: Value, status: StatusCode) -> Response {
    let ctx = with(
        base(app, admin, "/_/collections", ""),
        with(json!({"title": "Import collections"}), extra),
    );
    view::render_status(status, "collections_import.html", ctx)
}

pub async fn import_page(State(app): State<Arc<App>>, uri: Uri, admin: Admin) -> Response {
    let done = query_pairs(&uri).iter().any(|(k, _)| k == "imported");
    let flash = if done { "Collections imported." } else { "" };
    render(&app, &admin, json!({"flash": flash}), StatusCode::OK)
}

pub async fn import_submit(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    let text = form.text("json");
    let delete_missing = form.flag("deleteMissing");
    let keep = json!({"json": text, "delete_missing": delete_missing});
    let fail = |message: String, lines: Vec<String>| {
        let extra = with(keep.clone(), json!({"message": message, "errors": lines}));
        render(&app, &admin, extra, StatusCode::BAD_REQUEST)
    };
    let list = match parse(&text) {
        Ok(l) => l,
        Err(m) => return fail(m, Vec::new()),
    };
    let input = json!({"collections": list, "deleteMissing": delete_missing});
    let (deleted, saved) = match svc::import_plan(&app.store, input.clone()) {
        Ok(p) => p,
        Err(e) => {
            let (_, message, data) = e.parts();
            let mut lines = Vec::new();
            error_lines("", &data, &mut lines);
            return fail(message, lines);
        }
    };
    if form.text("action") == "import" {
        if !deleted.is_empty() && !form.flag("confirm_delete") {
            return fail(
                format!(
                    "Tick the box to confirm deleting {} collection(s).",
                    deleted.len()
                ),
                Vec::new(),
            );
        }
        return match svc::import(&app.store, input).await {
            Ok(()) => Redirect::to("/_/import-collections?imported=1").into_response(),
            Err(e) => {
                let (_, message, data) = e.parts();
                let mut lines = Vec::new();
                error_lines("", &data, &mut lines);
                fail(message, lines)
            }
        };
    }
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut same = 0;
    for (old, new) in &saved {
        match old {
            None => added.push(
                json!({"name": new.name, "type": new.kind.as_str(), "fields": new.fields.len()}),
            ),
            Some(old) => {
                let list = changes(old, new);
                if list.is_empty() {
                    same += 1;
                } else {
                    changed.push(json!({"name": old.name, "changes": list}));
                }
            }
        }
    }
    let deleted: Vec<Value> = deleted.iter().map(|c| json!(c.name)).collect();
    let extra = with(
        keep,
        json!({"review": true, "added": added, "changed": changed, "deleted": deleted, "same": same}),
    );
    render(&app, &admin, extra, StatusCode::OK)
}
