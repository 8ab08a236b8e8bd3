//! The relation picker: a relation field in the record editor shows the
//! chosen records by their presentable fields (a ticked box each, untick to
//! remove), and "Choose" opens a dialog that searches the related
//! collection through `GET /_/collections/NAME/pick?q=` (JSON, one page of
//! matches). The search term is a quoted filter literal matched against the
//! presentable fields (or every text field when none is presentable) and
//! the id, so it can never widen into an expression.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::record_form::{label_of, strings};
use super::records::{actor_req, find, literal, to_filter};
use super::session::Admin;
use super::shell::in_scope;
use super::view::query_pairs;
use crate::app::App;
use crate::schema::field::RelationOptions;
use crate::schema::{Collection, FieldKind};
use crate::service::records::{self as svc, ListQuery, Shape};

/// Matches per page of the picker.
const PAGE: i64 = 20;
/// Chosen records labelled in the editor (more are listed by id).
const LABELLED: usize = 100;

/// The filter for a picker search of `c`.
fn search_filter(c: &Collection, term: &str) -> String {
    let term = term.trim();
    if term.is_empty() {
        return String::new();
    }
    let lit = literal(term);
    let presentable: Vec<String> = c
        .fields
        .iter()
        .filter(|f| f.presentable && !matches!(f.kind, FieldKind::Password(_)))
        .map(|f| format!("{} ~ {lit}", f.name))
        .collect();
    if presentable.is_empty() {
        // to_filter treats operator-free text as a term; force that.
        let plain: String = term
            .chars()
            .map(|ch| if "=~><!&|(".contains(ch) { ' ' } else { ch })
            .collect();
        return to_filter(c, &plain);
    }
    format!("id ~ {lit} || {}", presentable.join(" || "))
}

/// The template data of a relation field: the chosen records with labels.
/// A scoped superuser gets labels only from collections in the scope (a
/// related record elsewhere shows as its id, which the field holds anyway).
pub fn input(app: &App, admin: &Admin, o: &RelationOptions, v: &Value) -> Value {
    let target = app.store.schema().get(&o.collection_id);
    let readable = target.as_ref().is_some_and(|t| in_scope(admin, t));
    let (actor, req) = actor_req(app, admin);
    let chosen: Vec<Value> = strings(v)
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let label = target
                .as_ref()
                .filter(|_| readable && i < LABELLED)
                .and_then(|t| {
                    svc::view(&app.store, t, &actor, &req, id)
                        .ok()
                        .map(|r| label_of(t, &r))
                })
                .unwrap_or_else(|| id.clone());
            json!({"id": id, "label": label})
        })
        .collect();
    json!({
        "chosen": chosen,
        "target": target.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        "multiple": o.max_select > 1,
        "max_select": o.max_select.max(1),
    })
}

/// `GET /_/collections/NAME/pick?q=TERM&page=N`: `{items: [{id, label}], more}`.
pub async fn search(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    uri: Uri,
    admin: Admin,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let q: std::collections::HashMap<String, String> = query_pairs(&uri).into_iter().collect();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let page = get("page").parse::<i64>().unwrap_or(1).max(1);
    let (actor, req) = actor_req(&app, &admin);
    let lq = ListQuery {
        page,
        per_page: PAGE,
        sort: String::new(),
        filter: search_filter(&c, &get("q")),
        skip_total: false,
        shape: Shape::default(),
    };
    match svc::list(&app.store, &c, &actor, &req, &lq) {
        Ok(v) => {
            let items: Vec<Value> = v["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| json!({"id": r["id"], "label": label_of(&c, r)}))
                        .collect()
                })
                .unwrap_or_default();
            let total_pages = v["totalPages"].as_i64().unwrap_or(1);
            Json(json!({"items": items, "more": page < total_pages})).into_response()
        }
        Err(e) => {
            let (status, message, _) = e.parts();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(json!({"message": message}))).into_response()
        }
    }
}
