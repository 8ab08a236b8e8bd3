//! The record editor: one input per field type, server-side validation
//! errors next to their fields (`aria-invalid`, focus on the first), and
//! saves through the same `records::create`/`update` as the API.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::records::{actor_req, cell_text, find};
use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::schema::{Collection, CollectionKind, Field, FieldKind};
use crate::service::records as svc;

/// `2024-05-01 10:00:00.000Z` -> `2024-05-01T10:00:00` (datetime-local, UTC).
fn to_local(s: &str) -> String {
    s.get(..19)
        .map(|d| d.replacen(' ', "T", 1))
        .unwrap_or_default()
}

/// datetime-local back to PocketBase's format (UTC).
fn from_local(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return String::new();
    }
    let s = s.replacen('T', " ", 1);
    match s.len() {
        16 => format!("{s}:00.000Z"),
        19 => format!("{s}.000Z"),
        _ => s,
    }
}

/// A related record as a person reads it: its presentable fields, or when
/// the collection has none (`_roles`, `users`), its first visible text or
/// email field with a value; then the id.
pub(super) fn label_of(c: &Collection, r: &Value) -> String {
    let mut parts: Vec<String> = c
        .fields
        .iter()
        .filter(|f| f.presentable)
        .map(|f| cell_text(f, &r[&f.name]))
        .filter(|s| !s.is_empty())
        .collect();
    if !c.fields.iter().any(|f| f.presentable) {
        let named = c.fields.iter().find_map(|f| {
            let text = matches!(f.kind, FieldKind::Text(_) | FieldKind::Email(_));
            let v = r[&f.name].as_str().filter(|v| !v.is_empty());
            v.filter(|_| text && !f.hidden && f.name != "id")
        });
        parts.extend(named.map(str::to_owned));
    }
    let id = r["id"].as_str().unwrap_or_default();
    if parts.is_empty() {
        id.to_owned()
    } else {
        format!("{} ({id})", parts.join(" · "))
    }
}

/// A string or list of strings as a list.
pub(super) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The inputs of the form, filled from `rec` (stored values) and `errors`.
fn inputs(
    app: &App,
    admin: &Admin,
    c: &Collection,
    rec: &Value,
    errors: &Map<String, Value>,
    is_new: bool,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut first_error = true;
    let token = file_token(admin, c);
    for f in &c.fields {
        if f.name == "tokenKey" || (f.name == "id" && !is_new) {
            continue;
        }
        let v = &rec[&f.name];
        let error = errors
            .get(&f.name)
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let focus = !error.is_empty() && std::mem::take(&mut first_error);
        let mut input = json!({
            "name": f.name, "type": f.kind.type_name(), "error": error, "focus": focus,
            "required": required(f) && f.name != "id", "help": f.help, "value": "",
        });
        let (kind, extra) = match &f.kind {
            FieldKind::Text(_) => ("text", json!({"value": v.as_str().unwrap_or_default()})),
            FieldKind::Email(_) => ("email", json!({"value": v.as_str().unwrap_or_default()})),
            FieldKind::Url(_) => ("url", json!({"value": v.as_str().unwrap_or_default()})),
            FieldKind::Editor(_) => ("textarea", json!({"value": v.as_str().unwrap_or_default()})),
            FieldKind::Number(o) => (
                "number",
                json!({"value": match v { Value::Number(n) => n.to_string(), Value::String(s) => s.clone(), _ => String::new() }, "step": if o.only_int { "1" } else { "any" }}),
            ),
            FieldKind::Bool(_) => ("checkbox", json!({"checked": v.as_bool().unwrap_or(false)})),
            FieldKind::Date(_) => (
                "datetime",
                json!({"value": to_local(v.as_str().unwrap_or_default())}),
            ),
            FieldKind::Autodate(_) => {
                ("readonly", json!({"value": v.as_str().unwrap_or_default()}))
            }
            FieldKind::Select(o) => {
                let chosen = strings(v);
                let options: Vec<Value> = o
                    .values
                    .iter()
                    .map(|x| json!({"value": x, "label": x, "selected": chosen.contains(x)}))
                    .collect();
                (
                    if o.max_select > 1 {
                        "multiselect"
                    } else {
                        "select"
                    },
                    json!({"options": options}),
                )
            }
            FieldKind::Json(_) => (
                "json",
                json!({"value": if v.is_null() { String::new() } else { serde_json::to_string_pretty(v).unwrap_or_default() }}),
            ),
            FieldKind::Relation(o) => ("relation", super::relation_picker::input(app, admin, o, v)),
            FieldKind::File(o) => ("files", super::record_files::input(c, f, o, rec, &token)),
            FieldKind::Password(_) => ("password", json!({})),
            FieldKind::GeoPoint(_) => (
                "geo",
                json!({"lon": v["lon"].as_f64().unwrap_or(0.0), "lat": v["lat"].as_f64().unwrap_or(0.0)}),
            ),
        };
        input["kind"] = kind.into();
        if let (Some(i), Value::Object(e)) = (input.as_object_mut(), extra) {
            i.extend(e);
        }
        out.push(input);
    }
    out
}

/// A superuser file token when the collection has protected file fields.
fn file_token(admin: &Admin, c: &Collection) -> String {
    let protected = c
        .fields
        .iter()
        .any(|f| matches!(&f.kind, FieldKind::File(o) if o.protected));
    if !protected {
        return String::new();
    }
    let actor = crate::service::Actor::Superuser(admin.id.clone());
    crate::service::files::serve::file_token(&actor).unwrap_or_default()
}

fn required(f: &Field) -> bool {
    f.kind.required()
}

/// The API body a submitted form stands for; JSON that does not parse is
/// reported next to its field.
fn body_of(c: &Collection, form: &Form, is_new: bool) -> (Map<String, Value>, Map<String, Value>) {
    let mut body = Map::new();
    let mut errors = Map::new();
    for f in &c.fields {
        let n = f.name.as_str();
        if n == "tokenKey" || f.system && n == "id" && !is_new {
            continue;
        }
        let text = form.text(n);
        let v = match &f.kind {
            FieldKind::Text(_) if n == "id" => {
                if text.is_empty() {
                    continue;
                }
                Value::String(text)
            }
            FieldKind::Text(_) | FieldKind::Email(_) | FieldKind::Url(_) | FieldKind::Editor(_) => {
                Value::String(text)
            }
            FieldKind::Number(_) => Value::String(text),
            FieldKind::Bool(_) => Value::Bool(form.flag(n)),
            FieldKind::Date(_) => Value::String(from_local(&text)),
            FieldKind::File(o) => {
                super::record_files::body(f, o, form, &mut body);
                continue;
            }
            FieldKind::Autodate(_) => continue,
            FieldKind::Select(o) if o.max_select > 1 => Value::from(form.all(n)),
            FieldKind::Relation(o) if o.max_select > 1 => Value::from(form.all(n)),
            FieldKind::Select(_) | FieldKind::Relation(_) => Value::String(text),
            FieldKind::Json(_) => {
                if text.trim().is_empty() {
                    Value::Null
                } else {
                    match serde_json::from_str(&text) {
                        Ok(v) => v,
                        Err(_) => {
                            errors.insert(n.into(), json!({"code": "validation_invalid_json", "message": "Must be valid JSON."}));
                            continue;
                        }
                    }
                }
            }
            FieldKind::Password(_) => {
                if text.is_empty() && !is_new {
                    continue;
                }
                body.insert(
                    "passwordConfirm".into(),
                    Value::String(form.text("passwordConfirm")),
                );
                Value::String(text)
            }
            FieldKind::GeoPoint(_) => {
                let num = |k: &str| {
                    form.text(&format!("{n}.{k}"))
                        .trim()
                        .parse::<f64>()
                        .unwrap_or(0.0)
                };
                json!({"lon": num("lon"), "lat": num("lat")})
            }
        };
        body.insert(n.into(), v);
    }
    (body, errors)
}

#[allow(clippy::too_many_arguments)]
fn render(
    app: &App,
    admin: &Admin,
    c: &Collection,
    id: &str,
    rec: &Value,
    errors: &Map<String, Value>,
    message: (&str, &str),
    status: StatusCode,
) -> Response {
    let is_new = id == "new";
    let ctx = with(
        base(app, admin, "/_/collections", &c.name),
        json!({
            "title": if is_new { format!("New {} record", c.name) } else { format!("Edit {} record", c.name) },
            "collection": {"name": c.name, "type": c.kind.as_str()},
            "id": id, "is_new": is_new, "record": rec,
            "inputs": inputs(app, admin, c, rec, errors, is_new),
            "message": message.0, "flash": message.1,
            "readonly": c.kind == CollectionKind::View,
            "multipart": c.fields.iter().any(|f| matches!(f.kind, FieldKind::File(_))),
        }),
    );
    view::render_status(status, "record.html", ctx)
}

pub async fn page(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
    uri: axum::http::Uri,
    admin: Admin,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return super::shell::not_found(State(app), admin).await;
    };
    let rec = if id == "new" {
        json!({})
    } else {
        let (actor, req) = actor_req(&app, &admin);
        match svc::view(&app.store, &c, &actor, &req, &id) {
            Ok(v) => v,
            Err(_) => return super::shell::not_found(State(app), admin).await,
        }
    };
    let flash = view::query_pairs(&uri)
        .into_iter()
        .find(|(k, _)| k == "msg")
        .map(|(_, v)| v)
        .unwrap_or_default();
    render(
        &app,
        &admin,
        &c,
        &id,
        &rec,
        &Map::new(),
        ("", &flash),
        StatusCode::OK,
    )
}

pub async fn submit(
    State(app): State<Arc<App>>,
    Path((name, id)): Path<(String, String)>,
    admin: Admin,
    posted: crate::http::upload::RecordForm,
) -> Response {
    let super::multipart::Posted { form, uploads } = posted.into();
    let Some(c) = find(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if c.kind == CollectionKind::View {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let is_new = id == "new";
    let (body, mut errors) = body_of(&c, &form, is_new);
    let echo = Value::Object(body.clone());
    if !errors.is_empty() {
        return render(
            &app,
            &admin,
            &c,
            &id,
            &echo,
            &errors,
            ("Please fix the highlighted fields.", ""),
            StatusCode::BAD_REQUEST,
        );
    }
    let (actor, req) = actor_req(&app, &admin);
    let files = Some((app.files.as_ref(), uploads));
    let saved = if is_new {
        svc::create_with_files(&app.store, files, Arc::clone(&c), &actor, &req, body).await
    } else {
        let id = id.clone();
        svc::update_with_files(&app.store, files, Arc::clone(&c), &actor, &req, id, body).await
    };
    app.realtime_flush().await;
    match saved {
        // A new API key is in the creation answer only: show it once.
        Ok(v) if is_new && v["key"].is_string() => {
            let ctx = with(
                base(&app, &admin, "/_/collections", &c.name),
                json!({"title": "API key created", "key": v["key"], "name": v["name"], "collection": c.name}),
            );
            view::render("apikey.html", ctx)
        }
        Ok(v) => {
            let rid = v["id"].as_str().unwrap_or_default();
            Redirect::to(&format!(
                "/_/collections/{}?saved={}",
                view::urlencode(&c.name),
                view::urlencode(rid)
            ))
            .into_response()
        }
        Err(e) => {
            let (status, message, data) = e.parts();
            errors.extend(data);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            render(
                &app,
                &admin,
                &c,
                &id,
                &echo,
                &errors,
                (&message, ""),
                status,
            )
        }
    }
}
