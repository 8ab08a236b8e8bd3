//! Logs: the request log with filter, sort and page kept in the URL, an
//! hourly chart drawn as server-side SVG (no script, so nothing for the CSP
//! to allow), and a detail page. Reads go through `service::logs`, like
//! `GET /api/logs`, `/api/logs/stats` and `/api/logs/{id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view;
use crate::app::App;
use crate::service::logs;

const PER_PAGE: i64 = 30;
/// Sortable columns: (field, label).
const COLUMNS: &[(&str, &str)] = &[
    ("level", "Level"),
    ("message", "Message"),
    ("created", "Created"),
];

fn link(filter: &str, sort: &str, page: i64) -> String {
    format!(
        "/_/logs?filter={}&sort={}&page={page}",
        view::urlencode(filter),
        view::urlencode(sort)
    )
}

/// The hourly totals as SVG bars: (bars, max, first and last label).
fn chart(stats: &Value) -> Value {
    let rows = stats.as_array().cloned().unwrap_or_default();
    let max = rows
        .iter()
        .filter_map(|r| r["total"].as_i64())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = rows.len().max(1) as f64;
    let w = 600.0 / n;
    let bars: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let t = r["total"].as_i64().unwrap_or(0);
            let h = (t as f64 / max as f64 * 100.0).max(1.0);
            json!({"x": format!("{:.1}", i as f64 * w), "w": format!("{:.1}", (w - 1.0).max(1.0)),
                "y": format!("{:.1}", 100.0 - h), "h": format!("{h:.1}"),
                "label": format!("{}: {t}", r["date"].as_str().unwrap_or_default())})
        })
        .collect();
    let day = |r: Option<&Value>| {
        r.and_then(|r| r["date"].as_str())
            .map(|d| d.get(..16).unwrap_or(d).to_owned())
    };
    json!({"bars": bars, "max": max, "from": day(rows.first()), "to": day(rows.last()),
        "total": rows.iter().filter_map(|r| r["total"].as_i64()).sum::<i64>()})
}

pub async fn list(State(app): State<Arc<App>>, admin: Admin, uri: Uri) -> Response {
    let q = view::query_pairs(&uri);
    // The last value wins: a sort button overrides the form's hidden sort.
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (filter, mut sort) = (get("filter"), get("sort"));
    if sort.is_empty() {
        sort = "-created".into();
    }
    let page = get("page").parse::<i64>().unwrap_or(1).max(1);
    let query = logs::ListQuery {
        page,
        per_page: PER_PAGE,
        skip_total: false,
        filter: &filter,
        sort: &sort,
    };
    let (result, error) = match logs::list(&app.logs, &query) {
        Ok(v) => (v, None),
        Err(_) => (
            json!({"items": [], "totalItems": 0, "totalPages": 0}),
            Some("Invalid filter or sort."),
        ),
    };
    let stats = logs::stats(&app.logs, &filter).unwrap_or(Value::Array(vec![]));
    let total_pages = result["totalPages"].as_i64().unwrap_or(0);
    let columns: Vec<Value> = COLUMNS
        .iter()
        .map(|(f, label)| {
            let (state, next) = if sort == *f {
                ("ascending", format!("-{f}"))
            } else if sort == format!("-{f}") {
                ("descending", (*f).to_owned())
            } else {
                ("none", format!("-{f}"))
            };
            json!({"name": label, "sort": state, "link": link(&filter, &next, 1)})
        })
        .collect();
    let ctx = with(
        base(&app, &admin, "/_/logs", ""),
        json!({
            "title": "Logs", "filter": filter, "sort": sort, "page": page,
            "total": result["totalItems"], "total_pages": total_pages,
            "items": result["items"], "columns": columns, "error": error,
            "chart": chart(&stats),
            "prev_link": (page > 1).then(|| link(&filter, &sort, page - 1)),
            "next_link": (page < total_pages).then(|| link(&filter, &sort, page + 1)),
            "enabled": logs::LogSettings::from_settings(&app.settings()).max_days > 0,
        }),
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    view::render_status(status, "logs.html", ctx)
}

pub async fn detail(State(app): State<Arc<App>>, admin: Admin, Path(id): Path<String>) -> Response {
    let (status, entry) = match logs::view(&app.logs, &id) {
        Ok(v) => (StatusCode::OK, v),
        Err(_) => (StatusCode::NOT_FOUND, Value::Null),
    };
    let data = serde_json::to_string_pretty(&entry["data"]).unwrap_or_default();
    let ctx = with(
        base(&app, &admin, "/_/logs", ""),
        json!({"title": "Log entry", "id": id, "log": entry, "data": data}),
    );
    view::render_status(status, "log.html", ctx)
}
