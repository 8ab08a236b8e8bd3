//! The records list: a paged table with sort, the filter box (filter and
//! sort live in the URL), a column chooser, bulk delete (one transaction,
//! all or nothing), CSV/JSON export of the current filter, and a live
//! stream that tells the page to refresh when records change.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form, query_pairs};
use crate::app::App;
use crate::schema::{Collection, CollectionKind, FieldKind};
use crate::service::records::{self as svc, ListQuery, Shape};
use crate::service::{Actor, Error, rules};

pub const PER_PAGE: i64 = 40;
/// Export cap: rows per file.
const EXPORT_MAX: i64 = 100_000;
/// Longest text shown in a cell.
const CELL_CHARS: usize = 80;

pub fn find(app: &App, name: &str) -> Option<Arc<Collection>> {
    app.store.schema().get(name)
}

/// Operators of the filter language outside quoted strings: text without
/// any is a search term.
fn is_expression(s: &str) -> bool {
    let mut quote = None;
    let mut escaped = false;
    for ch in s.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == q {
                    quote = None;
                }
            }
            None if ch == '"' || ch == '\'' => quote = Some(ch),
            None if "=~><!&|(".contains(ch) => return true,
            None => {}
        }
    }
    false
}

/// A filter string literal for a search term (quotes and backslashes
/// escaped, so the term can never become an expression).
pub fn literal(term: &str) -> String {
    let mut out = String::from("\"");
    for ch in term.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// The filter for the box's text: an expression as is, a plain term as
/// "any text field contains it".
pub fn to_filter(c: &Collection, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || is_expression(text) {
        return text.to_owned();
    }
    let lit = literal(text);
    let mut parts = vec![format!("id ~ {lit}")];
    for f in &c.fields {
        if f.name != "id"
            && matches!(
                f.kind,
                FieldKind::Text(_)
                    | FieldKind::Editor(_)
                    | FieldKind::Email(_)
                    | FieldKind::Url(_)
                    | FieldKind::Select(_)
            )
        {
            parts.push(format!("{} ~ {lit}", f.name));
        }
    }
    parts.join(" || ")
}

/// Columns a superuser can list (passwords never).
pub fn listable(c: &Collection) -> Vec<&crate::schema::Field> {
    c.fields
        .iter()
        .filter(|f| !matches!(f.kind, FieldKind::Password(_)) && f.name != "tokenKey")
        .collect()
}

/// A value as one line of plain text (editor HTML stripped; the template
/// escapes whatever remains).
pub fn cell_text(f: &crate::schema::Field, v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) if matches!(f.kind, FieldKind::Editor(_)) => strip_tags(s),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) if !matches!(f.kind, FieldKind::Json(_)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    if s.chars().count() > CELL_CHARS {
        let mut t: String = s.chars().take(CELL_CHARS).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// A cell: relations as their records' labels, anything else as text.
fn cell(app: &App, f: &crate::schema::Field, r: &Value) -> String {
    let FieldKind::Relation(o) = &f.kind else {
        return cell_text(f, &r[&f.name]);
    };
    let target = app.store.schema().get(&o.collection_id);
    let labels: Vec<String> = match (&r["expand"][&f.name], target) {
        (Value::Array(a), Some(t)) => a
            .iter()
            .map(|x| super::record_form::label_of(&t, x))
            .collect(),
        (v @ Value::Object(_), Some(t)) => vec![super::record_form::label_of(&t, v)],
        _ => return cell_text(f, &r[&f.name]),
    };
    cell_text(f, &Value::from(labels))
}

/// Removes tags from editor HTML for one-line display.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn actor_req(app: &App, admin: &Admin) -> (Actor, crate::filter::ast::RequestInfo) {
    let actor = Actor::Superuser(admin.id.clone());
    let req = rules::request_info(&app.store, &actor, "GET", Map::new(), Map::new());
    (actor, req)
}

fn error_text(e: Error) -> String {
    let (_, msg, data) = e.parts();
    match data
        .values()
        .find_map(|v| v.get("message").and_then(Value::as_str))
    {
        Some(m) => format!("{msg} {m}"),
        None => msg,
    }
}

/// The URL of this list with some parameters replaced.
fn link(name: &str, params: &[(&str, String)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", view::urlencode(v)))
        .collect();
    let base = format!("/_/collections/{}", view::urlencode(name));
    if q.is_empty() {
        base
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

pub async fn list(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    uri: Uri,
    admin: Admin,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return super::shell::not_found(State(app), admin).await;
    };
    let q = query_pairs(&uri);
    let get = |k: &str| super::view::param(&q, k);
    let text = get("filter");
    let prev = get("prev");
    let default_sort = if c.field("created").is_some() {
        "-created"
    } else {
        ""
    };
    // The header buttons' `sort` comes after the form's hidden one.
    let sort = q
        .iter()
        .rfind(|(n, _)| n == "sort")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| default_sort.to_owned());
    let page = get("page").parse::<i64>().unwrap_or(1).max(1);
    let chosen: Vec<String> = q
        .iter()
        .filter(|(n, _)| n == "cols")
        .map(|(_, v)| v.clone())
        .collect();
    let as_params = super::preview::params(&q);
    let (viewer, preview_error) = match super::preview::viewer(&app, &admin, &as_params) {
        Ok(v) => (Some(v), String::new()),
        Err(e) => (None, e),
    };
    let previewing = !as_params.0.is_empty();
    // Relation cells show the related records' presentable fields, for a
    // scoped superuser only those of collections in the scope (the others
    // stay ids).
    let schema = app.store.schema();
    let relations: Vec<&str> = c
        .fields
        .iter()
        .filter(|f| match &f.kind {
            FieldKind::Relation(o) => schema
                .get(&o.collection_id)
                .is_some_and(|t| super::shell::in_scope(&admin, &t)),
            _ => false,
        })
        .map(|f| f.name.as_str())
        .collect();
    let mut query = ListQuery {
        page,
        per_page: PER_PAGE,
        sort: sort.clone(),
        filter: to_filter(&c, &text),
        // The total comes from `/count`, fetched by the page: a slow count
        // never holds back the rows.
        skip_total: true,
        shape: Shape {
            expand: relations.join(","),
            fields: String::new(),
        },
    };
    let mut error = String::new();
    let mut applied = text.clone();
    let empty = || json!({"items": []});
    let result = match viewer
        .as_ref()
        .map(|v| svc::list(&app.store, &c, &v.actor, &v.req, &query))
    {
        None => empty(),
        Some(Ok(v)) => v,
        // A preview shows what the API would answer that user, nothing else.
        Some(Err(e)) if previewing => {
            error = error_text(e);
            empty()
        }
        Some(Err(e)) => {
            let (actor, req) = actor_req(&app, &admin);
            error = error_text(e);
            // Keep showing what the last good filter showed.
            query.filter = to_filter(&c, &prev);
            query.sort = default_sort.to_owned();
            applied = prev.clone();
            svc::list(&app.store, &c, &actor, &req, &query).unwrap_or_else(|_| empty())
        }
    };
    let more = match &viewer {
        Some(v) => super::record_count::has_more(&app, &c, v, &query, &result),
        None => false,
    };
    let all = listable(&c);
    let shown: Vec<&&crate::schema::Field> = all
        .iter()
        .filter(|f| chosen.is_empty() || chosen.contains(&f.name) || f.name == "id")
        .collect();
    let columns: Vec<Value> = shown
        .iter()
        .map(|f| {
            let (dir, next) = if sort == f.name {
                ("ascending", format!("-{}", f.name))
            } else if sort == format!("-{}", f.name) {
                ("descending", f.name.clone())
            } else {
                ("none", f.name.clone())
            };
            json!({"name": f.name, "type": f.kind.type_name(), "sort": dir, "next": next})
        })
        .collect();
    let rows: Vec<Value> = result["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|r| {
                    let cells: Vec<String> = shown.iter().map(|f| cell(&app, f, r)).collect();
                    json!({"id": r["id"], "cells": cells})
                })
                .collect()
        })
        .unwrap_or_default();
    let keep = |p: i64| {
        let mut v = vec![
            ("filter", applied.clone()),
            ("sort", sort.clone()),
            ("page", p.to_string()),
            ("as_coll", as_params.0.clone()),
            ("as_user", as_params.1.clone()),
        ];
        for col in &chosen {
            v.push(("cols", col.clone()));
        }
        link(&c.name, &v)
    };
    let choices: Vec<Value> = all
        .iter()
        .filter(|f| f.name != "id")
        .map(|f| json!({"name": f.name, "checked": chosen.is_empty() || chosen.contains(&f.name)}))
        .collect();
    let ctx = with(
        base(&app, &admin, "/_/collections", &c.name),
        json!({
            "title": c.name,
            "collection": {"name": c.name, "type": c.kind.as_str(), "system": c.system},
            "view": c.kind == CollectionKind::View,
            "filter": text, "prev": applied, "sort": sort, "error": error,
            "columns": columns, "rows": rows, "choices": choices,
            "page": page,
            "count_url": link(&format!("{}/count", c.name), &[("filter", applied.clone()), ("as_coll", as_params.0.clone()), ("as_user", as_params.1.clone())]),
            "prev_link": if page > 1 { keep(page - 1) } else { String::new() },
            "next_link": if more { keep(page + 1) } else { String::new() },
            "as_coll": as_params.0, "as_user": as_params.1, "as_choices": super::preview::choices(&app, &admin),
            "preview": viewer.as_ref().and_then(|v| v.preview.clone()), "preview_error": preview_error,
            "readonly": previewing || c.kind == CollectionKind::View,
            "stop_preview": link(&c.name, &[("filter", applied.clone()), ("sort", sort.clone())]),
            "export_json": format!("/_/collections/{}/export?format=json&filter={}&sort={}", view::urlencode(&c.name), view::urlencode(&applied), view::urlencode(&sort)),
            "export_csv": format!("/_/collections/{}/export?format=csv&filter={}&sort={}", view::urlencode(&c.name), view::urlencode(&applied), view::urlencode(&sort)),
            "saved": get("saved"), "deleted": get("deleted"), "deleted_error": get("deleted_error"),
        }),
    );
    view::render("records.html", ctx)
}

/// Deletes the selected records in one write job: if one cannot go (e.g.
/// a required relation points at it), none goes.
pub async fn bulk_delete(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    admin: Admin,
    form: Form,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ids = form.all("ids");
    if c.kind == CollectionKind::View || ids.is_empty() {
        return Redirect::to(&link(&c.name, &[])).into_response();
    }
    let schema = app.store.schema();
    let coll = Arc::clone(&c);
    let n = ids.len();
    let done = app
        .store
        .write(move |ctx| {
            let mut seen = HashSet::new();
            for id in &ids {
                svc::delete_in_tx(ctx, &schema, &coll, id, 0, &mut seen)
                    .map_err(|e| BulkError(id.clone(), e))?;
            }
            Ok::<_, BulkError>(())
        })
        .await;
    app.realtime_flush().await;
    let _ = admin;
    match done {
        Ok(()) => Redirect::to(&link(&c.name, &[("deleted", n.to_string())])).into_response(),
        Err(BulkError(id, e)) => {
            let msg = format!(
                "Nothing was deleted: record {id} could not be deleted ({}).",
                error_text(e)
            );
            Redirect::to(&link(
                &c.name,
                &[("filter", form.text("filter")), ("deleted_error", msg)],
            ))
            .into_response()
        }
    }
}

/// Which record stopped a bulk delete, and why.
struct BulkError(String, Error);

impl From<crate::store::StoreError> for BulkError {
    fn from(e: crate::store::StoreError) -> Self {
        BulkError(String::new(), e.into())
    }
}

/// CSV or JSON of every record matching the current filter and sort.
pub async fn export(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    uri: Uri,
    admin: Admin,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let q = query_pairs(&uri);
    let get = |k: &str| super::view::param(&q, k);
    let (actor, req) = actor_req(&app, &admin);
    let mut items = Vec::new();
    let mut page = 1;
    loop {
        let query = ListQuery {
            page,
            per_page: svc::MAX_PER_PAGE,
            sort: get("sort"),
            filter: to_filter(&c, &get("filter")),
            skip_total: true,
            shape: Shape::default(),
        };
        let v = match svc::list(&app.store, &c, &actor, &req, &query) {
            Ok(v) => v,
            Err(e) => return (StatusCode::BAD_REQUEST, error_text(e)).into_response(),
        };
        let batch = v["items"].as_array().cloned().unwrap_or_default();
        let last = (batch.len() as i64) < svc::MAX_PER_PAGE;
        items.extend(batch);
        if last || items.len() as i64 >= EXPORT_MAX {
            break;
        }
        page += 1;
    }
    let file = c.name.clone();
    if get("format") == "csv" {
        let fields = listable(&c);
        let names: Vec<Value> = fields.iter().map(|f| f.name.clone().into()).collect();
        let mut out = view::csv_row(&names);
        for r in &items {
            let line: Vec<Value> = fields.iter().map(|f| r[&f.name].clone()).collect();
            out.push_str(&view::csv_row(&line));
        }
        view::download(out, "text/csv; charset=utf-8", &format!("{file}.csv"))
    } else {
        let body = serde_json::to_string_pretty(&items).unwrap_or_default();
        view::download(body, "application/json", &format!("{file}.json"))
    }
}

/// Server-sent events: `change` whenever a record of this collection
/// changes, so the open page refreshes its table.
pub async fn live(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    _admin: Admin,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut rx = app.store.changes();
    let mut last = *rx.borrow();
    let app2 = Arc::clone(&app);
    let stream = async_stream(move |tx| async move {
        while rx.changed().await.is_ok() {
            let seq = *rx.borrow_and_update();
            let touched = app2
                .store
                .read(|conn| crate::store::changes::collections_after(conn, last, 1000))
                .map(|list| list.len() == 1000 || list.iter().any(|id| *id == c.id))
                .unwrap_or(true);
            last = seq;
            if touched
                && tx
                    .send(Ok(Event::default().event("change").data(seq.to_string())))
                    .await
                    .is_err()
            {
                break;
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// A stream fed by a spawned task (ends when the client goes away).
fn async_stream<F, Fut>(f: F) -> tokio_stream_shim::Receiver
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(f(tx));
    tokio_stream_shim::Receiver(rx)
}

mod tokio_stream_shim {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::response::sse::Event;

    pub struct Receiver(pub tokio::sync::mpsc::Receiver<Result<Event, Infallible>>);

    impl futures_util::Stream for Receiver {
        type Item = Result<Event, Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_stay_literals() {
        assert!(!is_expression("post 3"));
        assert!(!is_expression(r#"" || id != ""#));
        assert!(!is_expression(r#"'it''s' "a \" b""#));
        assert!(is_expression("n > 5"));
        assert!(is_expression(r#"title ~ "a" && n = 1"#));
        assert_eq!(literal(r#"a"b\c"#), r#""a\"b\\c""#);
        // The escaped literal parses back to the same text.
        let expr = crate::filter::parse(&format!("title = {}", literal(r#"x" || id != "y\"#)));
        assert!(expr.is_ok(), "{expr:?}");
    }

    #[test]
    fn editor_html_becomes_one_line_of_text() {
        assert_eq!(
            strip_tags("<p>Hello <b>world</b></p>\n<p>x</p>"),
            "Hello world x"
        );
        assert_eq!(strip_tags("a < b"), "a");
    }
}
