//! Webhooks: the endpoint list, the create and edit form, and the state
//! changes (pause, enable, delete, rotate the secret), through
//! `service::webhooks` like `/api/webhooks`, so the page and the REST API
//! cannot disagree.
//!
//! The signing secret is in the answer to the create and rotate POSTs only:
//! that answer renders the endpoint page with it, and nothing keeps it (no
//! URL, no session), so it is shown exactly once. The delivery log and its
//! recovery actions live in `webhook_log.rs`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form, param as get};
use super::webhook_log;
use crate::app::App;
use crate::service::webhooks::{self, endpoints};

const ACTIONS: &[&str] = &["create", "update", "delete"];

/// Back to a page with a message (`msg`) or an error (`error`).
pub fn back(to: &str, res: Result<String, crate::service::Error>) -> Response {
    let q = match res {
        Ok(m) => format!("msg={}", view::urlencode(&m)),
        Err(e) => format!("error={}", view::urlencode(&e.parts().1)),
    };
    Redirect::to(&format!("{to}?{q}")).into_response()
}

pub fn page_of(id: &str) -> String {
    format!("/_/webhooks/{}", view::urlencode(id).replace('/', "%2F"))
}

pub async fn list(State(app): State<Arc<App>>, admin: Admin, uri: Uri) -> Response {
    let q = view::query_pairs(&uri);
    let ctx = with(
        base(&app, &admin, "/_/webhooks", ""),
        json!({"title": "Webhooks", "items": webhooks::list(&app.webhooks)["items"],
            "msg": get(&q, "msg"), "error": get(&q, "error")}),
    );
    view::render("webhooks.html", ctx)
}

/// Collections an endpoint may watch (base and auth, not system ones).
fn collections(app: &App) -> Vec<String> {
    let mut names: Vec<String> = app
        .store
        .schema()
        .collections
        .iter()
        .filter(|c| !c.name.starts_with('_'))
        .filter(|c| !matches!(c.kind, crate::schema::CollectionKind::View))
        .map(|c| c.name.clone())
        .collect();
    names.sort();
    names
}

/// The form's values as the endpoint page shows them.
fn shown(ep: &Value) -> Value {
    let headers: Vec<String> = ep["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
        .collect();
    let fields: Vec<&str> = ep["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut v = ep.clone();
    v["headers_text"] = headers.join("\n").into();
    v["fields_text"] = fields.join(", ").into();
    v
}

/// A comma-separated list of names, blanks dropped.
fn names(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The submitted form as an API body, and the errors found reading it.
fn body(form: &Form) -> (Value, Map<String, Value>) {
    let mut errors = Map::new();
    let mut headers = Map::new();
    for line in form
        .text("headers")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        match line.split_once(':') {
            Some((k, v)) => {
                headers.insert(k.trim().to_owned(), v.trim().into());
            }
            None => {
                errors.insert(
                    "headers".into(),
                    json!({"message": "One header per line, as Name: value."}),
                );
            }
        }
    }
    let number = |k: &str| {
        let t = form.text(k);
        t.trim()
            .parse::<u64>()
            .map_or(Value::String(t), Value::from)
    };
    let body = json!({
        "name": form.text("name"), "url": form.text("url"),
        "collection": form.text("collection"), "actions": form.all("actions"),
        "filter": form.text("filter"), "fields": names(&form.text("fields")),
        "payloadMode": form.text("payloadMode"),
        "headers": headers, "timeoutMs": number("timeoutMs"),
        "maxInFlight": number("maxInFlight"),
    });
    (body, errors)
}

/// Field errors of a service error, merged with the form's own.
fn field_errors(e: &crate::service::Error, mut errors: Map<String, Value>) -> (String, Value) {
    let (_, msg, data) = e.parts();
    for (k, v) in data {
        errors.entry(k).or_insert(v);
    }
    let flat: Map<String, Value> = errors
        .into_iter()
        .map(|(k, v)| (k, v["message"].clone()))
        .collect();
    (msg, Value::Object(flat))
}

/// The new/edit form page.
fn form_page(app: &App, admin: &Admin, ep: Value, errors: Value, status: StatusCode) -> Response {
    let title = if ep["id"].is_string() {
        "Edit webhook"
    } else {
        "New webhook"
    };
    let ctx = with(
        base(app, admin, "/_/webhooks", ""),
        json!({"title": title, "ep": ep, "errors": errors, "actions": ACTIONS,
            "targets": collections(app)}),
    );
    view::render_status(status, "webhook_form.html", ctx)
}

pub async fn new_page(State(app): State<Arc<App>>, admin: Admin) -> Response {
    let ep = json!({"actions": ACTIONS, "payloadMode": "full",
        "timeoutMs": endpoints::DEFAULT_TIMEOUT_MS,
        "maxInFlight": app.webhooks.config.max_in_flight_per_endpoint});
    form_page(&app, &admin, ep, json!({}), StatusCode::OK)
}

/// The submitted values, shown again with the errors.
fn retry(app: &App, admin: &Admin, form: &Form, id: Option<&str>, e: FormError) -> Response {
    let (body, _) = body(form);
    let (msg, fields) = field_errors(&e.0, e.1);
    let mut ep = body;
    ep["id"] = id.map_or(Value::Null, |i| i.into());
    ep["headers_text"] = form.text("headers").into();
    ep["fields_text"] = form.text("fields").into();
    let errors = with(fields, json!({"_message": msg}));
    form_page(app, admin, ep, errors, StatusCode::BAD_REQUEST)
}

/// A service error with the form's own field errors.
struct FormError(crate::service::Error, Map<String, Value>);

/// Checks `body` without saving, for the errors the service would give.
fn precheck(app: &App, body: &Value, local: Map<String, Value>) -> FormError {
    let mut def = endpoints::Definition::default();
    let e = endpoints::merge(&mut def, body)
        .and_then(|_| endpoints::validate(&mut def, &app.webhooks.schema()))
        .err()
        .unwrap_or_else(|| crate::service::Error::bad("Invalid headers."));
    FormError(e, local)
}

pub async fn create(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    let (body, local) = body(&form);
    if !local.is_empty() {
        return retry(&app, &admin, &form, None, precheck(&app, &body, local));
    }
    match webhooks::create(&app.webhooks, &app.store, &body).await {
        Ok(ep) => secret_page(&app, &admin, ep, "Webhook created."),
        Err(e) => retry(&app, &admin, &form, None, FormError(e, Map::new())),
    }
}

pub async fn edit_page(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    match webhooks::view(&app.webhooks, &id) {
        Ok(ep) => form_page(&app, &admin, shown(&ep), json!({}), StatusCode::OK),
        Err(_) => missing(&app, &admin),
    }
}

pub async fn update(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let (body, local) = body(&form);
    if !local.is_empty() {
        return retry(&app, &admin, &form, Some(&id), precheck(&app, &body, local));
    }
    match webhooks::update(&app.webhooks, &app.store, &id, &body).await {
        Ok(_) => back(&page_of(&id), Ok("Webhook saved.".into())),
        Err(e) => retry(&app, &admin, &form, Some(&id), FormError(e, Map::new())),
    }
}

fn missing(app: &App, admin: &Admin) -> Response {
    let ctx = with(
        base(app, admin, "/_/webhooks", ""),
        json!({"title": "Not found"}),
    );
    view::render_status(StatusCode::NOT_FOUND, "not_found.html", ctx)
}

/// The endpoint page (settings, actions, delivery log); `?state=` filters
/// the log.
pub async fn detail(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let q = view::query_pairs(&uri);
    match webhooks::view(&app.webhooks, &id) {
        Ok(ep) => endpoint_page(&app, &admin, ep, &q, json!({})),
        Err(_) => missing(&app, &admin),
    }
}

fn endpoint_page(
    app: &App,
    admin: &Admin,
    ep: Value,
    q: &[(String, String)],
    extra: Value,
) -> Response {
    let id = ep["id"].as_str().unwrap_or_default().to_owned();
    let page = get(q, "page").parse::<i64>().unwrap_or(1).max(1);
    let (log, log_error) = webhook_log::deliveries(app, &id, &get(q, "state"), page);
    let ctx = with(
        base(app, admin, "/_/webhooks", ""),
        json!({"title": format!("Webhook {}", ep["name"].as_str().filter(|n| !n.is_empty()).unwrap_or(&id)),
            "ep": shown(&ep), "log": log, "msg": get(q, "msg"),
            "error": log_error.unwrap_or_else(|| get(q, "error")),
            "grace": endpoints::DEFAULT_GRACE_SECS}),
    );
    view::render("webhook.html", with(ctx, extra))
}

/// The endpoint page with the new secret, the one time it is shown.
fn secret_page(app: &App, admin: &Admin, mut ep: Value, msg: &str) -> Response {
    let secret = ep["secret"].take();
    if let Some(o) = ep.as_object_mut() {
        o.remove("secret");
    }
    let q = vec![("msg".to_owned(), msg.to_owned())];
    endpoint_page(app, admin, ep, &q, json!({"secret": secret}))
}

/// Pause, enable or disable (`status` in the form).
pub async fn set_state(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let status = form.text("status");
    let body = json!({"status": status});
    let res = webhooks::update(&app.webhooks, &app.store, &id, &body).await;
    back(&page_of(&id), res.map(|_| format!("Webhook {status}.")))
}

pub async fn delete(State(app): State<Arc<App>>, _: Admin, Path(id): Path<String>) -> Response {
    match webhooks::delete(&app.webhooks, &app.store, &id).await {
        Ok(()) => back("/_/webhooks", Ok("Webhook deleted.".into())),
        Err(e) => back(&page_of(&id), Err(e)),
    }
}

/// A new secret; the old one keeps signing for `grace` seconds.
pub async fn rotate(
    State(app): State<Arc<App>>,
    admin: Admin,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let grace = form.text("grace");
    let body = match grace.trim().parse::<u64>() {
        Ok(g) => json!({"grace": g}),
        Err(_) => json!({"grace": grace}),
    };
    match webhooks::rotate(&app.webhooks, &app.store, &id, &body).await {
        Ok(ep) => secret_page(&app, &admin, ep, "Secret rotated."),
        Err(e) => back(&page_of(&id), Err(e)),
    }
}
