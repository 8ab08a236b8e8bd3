//! Collections: the overview, the editor (fields, API rules, indexes, view
//! query with a live preview) with a confirmation step that lists what a
//! save will change, duplicate, delete and truncate (typing the name).
//! Every save goes through `service::collections`, like the API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::fields;
use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::schema::{CollectionKind, system};
use crate::service::collections as svc;

const RULES: &[(&str, &str)] = &[
    ("listRule", "List/Search rule"),
    ("viewRule", "View rule"),
    ("createRule", "Create rule"),
    ("updateRule", "Update rule"),
    ("deleteRule", "Delete rule"),
];
const AUTH_RULES: &[(&str, &str)] = &[
    ("authRule", "Authentication rule"),
    ("manageRule", "Manage rule"),
];
/// Rows shown by the view-query preview.
const PREVIEW_ROWS: i64 = 10;

fn rule_keys(kind: &str) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = RULES.to_vec();
    if kind == "auth" {
        v.extend_from_slice(AUTH_RULES);
    }
    v
}

pub async fn overview(State(app): State<Arc<App>>, admin: Admin) -> Response {
    let schema = app.store.schema();
    // As in the sidebar: the application's collections first, by name.
    let mut shown: Vec<_> = schema
        .collections
        .iter()
        .filter(|c| super::shell::in_scope(&admin, c))
        .collect();
    shown.sort_by_key(|c| (c.system, c.name.to_lowercase()));
    let list: Vec<Value> = shown
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name, "type": c.kind.as_str(), "system": c.system,
                "fields": c.fields.len(),
                "rules": RULES.iter().map(|(k, _)| json!({"key": k, "text": rule_label(&c.to_json()[*k])})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ctx = with(
        base(&app, &admin, "/_/collections", ""),
        json!({"title": "Collections", "list": list}),
    );
    view::render("collections.html", ctx)
}

fn rule_label(v: &Value) -> String {
    match v {
        Value::Null => "Superusers only".into(),
        Value::String(s) if s.is_empty() => "Everyone".into(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// Names the rules editor suggests while typing: this collection's fields,
/// `@request.*`, `@collection.*`, `@policy.*` and the datetime macros.
fn suggestions(app: &App, fields: &Value) -> String {
    let schema = app.store.schema();
    let mut out: Vec<String> = fields
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for k in [
        "id",
        "collectionId",
        "collectionName",
        "email",
        "verified",
        "roles",
    ] {
        out.push(format!("@request.auth.{k}"));
    }
    for f in &out.clone() {
        if !f.starts_with('@') {
            out.push(format!("@request.body.{f}"));
        }
    }
    for k in [
        "@request.method",
        "@request.context",
        "@request.query.",
        "@request.headers.",
    ] {
        out.push(k.to_owned());
    }
    for c in &schema.collections {
        out.push(format!("@collection.{}.", c.name));
    }
    let mut policies: Vec<&String> = schema.policies.keys().collect();
    policies.sort();
    out.extend(policies.into_iter().map(|p| format!("@policy.{p}")));
    for m in [
        "@now",
        "@yesterday",
        "@tomorrow",
        "@todayStart",
        "@todayEnd",
        "@monthStart",
        "@monthEnd",
        "@yearStart",
        "@yearEnd",
    ] {
        out.push(m.to_owned());
    }
    serde_json::to_string(&out).unwrap_or_default()
}

/// The editor's state: the collection JSON being edited (fields included).
struct Draft {
    json: Value,
    orig_name: String,
    orig_fields: Vec<Value>,
    is_new: bool,
}

fn collection_choices(app: &App) -> Vec<(String, String)> {
    app.store
        .schema()
        .collections
        .iter()
        .filter(|c| c.kind != CollectionKind::View)
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render(
    app: &App,
    admin: &Admin,
    d: &Draft,
    errors: &Value,
    message: &str,
    changes: &[String],
    preview: Value,
    status: StatusCode,
) -> Response {
    let j = &d.json;
    let kind = j["type"].as_str().unwrap_or("base").to_owned();
    let choices = collection_choices(app);
    let rows: Vec<Value> = j["fields"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .enumerate()
                .map(|(i, f)| fields::row(i, f, &choices, &errors["fields"][i.to_string()]))
                .collect()
        })
        .unwrap_or_default();
    let rules: Vec<Value> = rule_keys(&kind)
        .iter()
        .map(|(k, label)| {
            let (mode, text) = match &j[*k] {
                Value::Null => ("superusers", String::new()),
                Value::String(s) if s.is_empty() => ("public", String::new()),
                Value::String(s) => ("expr", s.clone()),
                _ => ("superusers", String::new()),
            };
            json!({"key": k, "label": label, "mode": mode, "text": text, "error": errors[*k]["message"]})
        })
        .collect();
    let indexes = j["indexes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let title = if d.is_new {
        "New collection".to_owned()
    } else {
        format!("Edit {}", d.orig_name)
    };
    let ctx = with(
        base(app, admin, "/_/collections", &d.orig_name),
        json!({
            "title": title, "is_new": d.is_new, "orig_name": d.orig_name,
            "name": j["name"], "kind": kind, "system": j["system"].as_bool().unwrap_or(false),
            "fields": rows, "field_count": rows.len(), "types": fields::types(),
            "rules": rules, "indexes": indexes, "view_query": j["viewQuery"].as_str().unwrap_or_default(),
            "errors": errors, "name_error": errors["name"]["message"],
            "indexes_error": errors["indexes"].as_object().and_then(|m| m.values().find_map(|e| e["message"].as_str())),
            "query_error": errors["viewQuery"]["message"],
            "message": message, "changes": changes, "preview": preview,
            "suggestions": suggestions(app, &j["fields"]),
            "auth_options": if kind == "auth" { super::auth_options::rows(j) } else { Vec::new() },
        }),
    );
    view::render_status(status, "collection.html", ctx)
}

fn scaffold(kind: &str) -> Value {
    let mut s = system::scaffolds()[kind].clone();
    if kind != "view"
        && let Some(fs) = s["fields"].as_array_mut()
    {
        for (name, on_update) in [("created", false), ("updated", true)] {
            fs.push(
                json!({"name": name, "type": "autodate", "onCreate": true, "onUpdate": on_update,
                    "hidden": false, "presentable": false, "system": false}),
            );
        }
    }
    s
}

pub async fn new_page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut json = match q.get("from").and_then(|n| app.store.schema().get(n)) {
        Some(src) => {
            let mut j = src.to_json();
            j["name"] = format!("{}_duplicate", src.name).into();
            j["id"] = "".into();
            j["system"] = false.into();
            j["indexes"] = json!([]);
            j
        }
        None => {
            let kind = q
                .get("type")
                .map(String::as_str)
                .filter(|t| ["base", "auth", "view"].contains(t))
                .unwrap_or("base");
            scaffold(kind)
        }
    };
    if let Some(n) = q.get("name") {
        json["name"] = n.clone().into();
    }
    let d = Draft {
        json,
        orig_name: String::new(),
        orig_fields: Vec::new(),
        is_new: true,
    };
    render(
        &app,
        &admin,
        &d,
        &Value::Null,
        "",
        &[],
        Value::Null,
        StatusCode::OK,
    )
}

pub async fn edit_page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(c) = app.store.schema().get(&name) else {
        return super::shell::not_found(State(app), admin).await;
    };
    let json = c.to_json();
    let d = Draft {
        orig_fields: json["fields"].as_array().cloned().unwrap_or_default(),
        json,
        orig_name: c.name.clone(),
        is_new: false,
    };
    let message = q.get("error").map(String::as_str).unwrap_or_default();
    let flags = if q.contains_key("saved") {
        json!({"saved": true})
    } else {
        Value::Null
    };
    render(
        &app,
        &admin,
        &d,
        &flags,
        message,
        &[],
        Value::Null,
        StatusCode::OK,
    )
}

/// The collection JSON a submitted editor form stands for.
fn parse(form: &Form, start: &Value, orig_fields: &[Value], action: &str) -> Value {
    let mut j = start.clone();
    let kind = j["type"].as_str().unwrap_or("base").to_owned();
    j["name"] = form.text("name").trim().to_owned().into();
    for (k, _) in rule_keys(&kind) {
        let text = form.text(&format!("rule.{k}.text"));
        j[k] = match form.get(&format!("rule.{k}.mode")) {
            Some("public") => "".into(),
            Some("expr") => text.into(),
            _ => Value::Null,
        };
    }
    j["fields"] = fields::parse_rows(form, orig_fields, action).into();
    j["indexes"] = Value::from(
        form.text("indexes")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    );
    if kind == "view" {
        j["viewQuery"] = form.text("viewQuery").into();
    }
    if kind == "auth" && form.get("auth.present").is_some() {
        super::auth_options::apply(form, &mut j);
    }
    j
}

fn preview(app: &App, sql: &str) -> Value {
    match crate::schema::view_query::parse(sql) {
        Err(e) => json!({"error": format!("Invalid query - {e}")}),
        Ok(p) => match app
            .store
            .read(|conn| crate::store::preview::rows(conn, &p, PREVIEW_ROWS))
        {
            Ok((cols, rows)) => {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect()
                    })
                    .collect();
                json!({"cols": cols, "rows": rows})
            }
            Err(e) => json!({"error": e.to_string()}),
        },
    }
}

/// The errors map for the template (field errors keyed by row index).
fn errors_of(data: Map<String, Value>) -> Value {
    Value::Object(data)
}

async fn save(app: &Arc<App>, admin: &Admin, form: &Form, d: Draft) -> Response {
    let action = form.text("action");
    let start = if d.is_new {
        let kind = form.text("type");
        let kind = if ["base", "auth", "view"].contains(&kind.as_str()) {
            kind
        } else {
            "base".into()
        };
        let mut s = d.json.clone();
        s["type"] = kind.into();
        s
    } else {
        d.json.clone()
    };
    let json = parse(form, &start, &d.orig_fields, &action);
    let d = Draft { json, ..d };
    if action != "save" && action != "confirm" {
        let pv = if action == "preview" {
            preview(app, d.json["viewQuery"].as_str().unwrap_or_default())
        } else {
            Value::Null
        };
        return render(app, admin, &d, &Value::Null, "", &[], pv, StatusCode::OK);
    }
    let new_name = d.json["name"].as_str().unwrap_or_default().to_owned();
    if !d.is_new && action != "confirm" {
        let rows = d.json["fields"].as_array().cloned().unwrap_or_default();
        let list = fields::changes(&d.orig_name, &new_name, &d.orig_fields, &rows);
        if !list.is_empty() {
            return render(
                app,
                admin,
                &d,
                &Value::Null,
                "",
                &list,
                Value::Null,
                StatusCode::OK,
            );
        }
    }
    let result = if d.is_new {
        svc::create(&app.store, d.json.clone()).await
    } else {
        match app.store.schema().get(&d.orig_name) {
            Some(c) => svc::update(&app.store, c, d.json.clone()).await,
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    };
    match result {
        Ok(saved) => {
            let name = saved["name"].as_str().unwrap_or_default();
            Redirect::to(&format!(
                "/_/collections/{}/edit?saved=1",
                view::urlencode(name)
            ))
            .into_response()
        }
        Err(e) => {
            let (status, message, data) = e.parts();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            render(
                app,
                admin,
                &d,
                &errors_of(data),
                &message,
                &[],
                Value::Null,
                status,
            )
        }
    }
}

pub async fn new_submit(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    let kind = form.text("type");
    let kind = if ["base", "auth", "view"].contains(&kind.as_str()) {
        kind
    } else {
        "base".into()
    };
    let d = Draft {
        json: system::scaffolds()[kind.as_str()].clone(),
        orig_name: String::new(),
        orig_fields: Vec::new(),
        is_new: true,
    };
    save(&app, &admin, &form, d).await
}

pub async fn edit_submit(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    let Some(c) = app.store.schema().get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let json = c.to_json();
    let d = Draft {
        orig_fields: json["fields"].as_array().cloned().unwrap_or_default(),
        json,
        orig_name: c.name.clone(),
        is_new: false,
    };
    save(&app, &admin, &form, d).await
}

/// Delete and truncate need the collection's name typed in.
fn confirmed(form: &Form, name: &str) -> bool {
    form.text("confirm_name") == name
}

fn back(name: &str, error: &str) -> Response {
    Redirect::to(&format!(
        "/_/collections/{}/edit?error={}",
        view::urlencode(name),
        view::urlencode(error)
    ))
    .into_response()
}

pub async fn delete(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    let Some(c) = app.store.schema().get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !confirmed(&form, &c.name) {
        return back(&c.name, "Type the collection's name to delete it.");
    }
    match svc::delete(&app.store, Arc::clone(&c)).await {
        Ok(()) => Redirect::to("/_/collections").into_response(),
        Err(e) => back(&c.name, &e.parts().1),
    }
}

pub async fn truncate(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    let Some(c) = app.store.schema().get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !confirmed(&form, &c.name) {
        return back(&c.name, "Type the collection's name to truncate it.");
    }
    if c.kind == CollectionKind::View {
        return back(&c.name, "View collections cannot be truncated.");
    }
    match crate::service::records::truncate(&app.store, Arc::clone(&c)).await {
        Ok(()) => {
            Redirect::to(&format!("/_/collections/{}", view::urlencode(&c.name))).into_response()
        }
        Err(e) => back(&c.name, &e.parts().1),
    }
}
