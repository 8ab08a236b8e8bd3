//! The signed-in shell: the sidebar's collection list and navigation, the
//! context every page shares, the home redirect and the 404 page.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::session::Admin;
use super::view;
use crate::app::App;

/// Top navigation: (path, label).
pub const NAV: &[(&str, &str)] = &[
    ("/_/collections", "Collections"),
    ("/_/settings", "Settings"),
    ("/_/settings/storage", "File storage"),
    ("/_/logs", "Logs"),
    ("/_/crons", "Crons"),
    ("/_/backups", "Backups"),
    ("/_/webhooks", "Webhooks"),
    ("/_/health", "Health"),
    ("/_/sql", "SQL"),
    ("/_/account", "Account"),
];

/// What a scoped superuser's menu keeps.
const SCOPED_NAV: [&str; 2] = ["/_/collections", "/_/account"];

/// The application's name (settings `meta.appName`).
pub fn app_name(app: &App) -> String {
    app.settings()
        .pointer("/meta/appName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("Cairn")
        .to_owned()
}

/// The context every signed-in page starts from; `section` is the active
/// nav path, `current` the open collection.
pub fn base(app: &App, admin: &Admin, section: &str, current: &str) -> Value {
    let schema = app.store.schema();
    let mut list: Vec<&Arc<crate::schema::Collection>> = schema
        .collections
        .iter()
        .filter(|c| in_scope(admin, c))
        .collect();
    list.sort_by_key(|c| (c.system, c.name.to_lowercase()));
    let collections: Vec<Value> = list
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind.as_str(), "system": c.system}))
        .collect();
    // A scoped superuser's menu has only what their scope reaches.
    let nav: Vec<Value> = NAV
        .iter()
        .filter(|(p, _)| admin.scope.is_none() || SCOPED_NAV.contains(p))
        .map(|(p, l)| json!({"path": p, "label": l, "active": *p == section}))
        .collect();
    json!({
        "app_name": app_name(app),
        "csrf": admin.csrf,
        "me": crate::service::auth::sys::text(&admin.id.record, "email"),
        "collections": collections,
        "current": current,
        "nav": nav,
        "scoped": admin.scope.is_some(),
        "scope_names": admin.scope.as_ref().map(|s| s.collections.clone()),
    })
}

/// Whether the signed-in superuser's scope (if any) includes a collection.
pub fn in_scope(admin: &Admin, c: &crate::schema::Collection) -> bool {
    admin
        .scope
        .as_ref()
        .is_none_or(|s| !c.system && s.collections.contains(&c.name))
}

/// The 403 page a scoped superuser gets outside their scope.
pub fn out_of_scope(app: &App, admin: &Admin) -> Response {
    let ctx = with(
        base(app, admin, "", ""),
        json!({"title": "Outside your scope"}),
    );
    view::render_status(StatusCode::FORBIDDEN, "out_of_scope.html", ctx)
}

/// Adds page-specific keys to a base context.
pub fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// `/_/`: the first non-system collection's records, or the overview.
pub async fn home(State(app): State<Arc<App>>, admin: Admin) -> Response {
    let schema = app.store.schema();
    let first = schema
        .collections
        .iter()
        .find(|c| !c.system && in_scope(&admin, c));
    match first {
        Some(c) => {
            Redirect::to(&format!("/_/collections/{}", view::urlencode(&c.name))).into_response()
        }
        None => Redirect::to("/_/collections").into_response(),
    }
}

pub async fn not_found(State(app): State<Arc<App>>, admin: Admin) -> Response {
    let ctx = with(base(&app, &admin, "", ""), json!({"title": "Not found"}));
    view::render_status(StatusCode::NOT_FOUND, "not_found.html", ctx)
}
