//! SQL console: one statement through the same `service::console::run` as
//! `POST /api/sql` (read-only connection unless "Allow writes" is ticked,
//! row cap, time limit, every statement logged), rows shown as a table.
//! Ticking "Allow writes" asks for a confirmation in the page first
//! (`data-confirm-when` in `app.js`). "Download CSV" runs the statement
//! read-only with the console's largest row cap, so the file is bounded,
//! and sends it as an attachment.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form};
use crate::app::App;
use crate::service::console;

pub async fn page(State(app): State<Arc<App>>, admin: Admin) -> Response {
    show(
        &app,
        &admin,
        json!({"query": "SELECT name, type FROM sqlite_master LIMIT 20"}),
    )
}

pub async fn run(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    let q = console::Query {
        query: form.text("query"),
        write: form.text("write") == "on",
        max_rows: None,
        timeout_ms: None,
    };
    let who = admin.id.id().to_owned();
    let shown = json!({"query": q.query, "write": q.write});
    let out = match console::run(&app.store, &app.logs, &who, q).await {
        Ok(v) => json!({"result": v}),
        Err(e) => {
            let (_, msg, data) = e.parts();
            json!({"error": msg, "detail": data.get("error")})
        }
    };
    show(&app, &admin, with(shown, out))
}

/// The statement's result as `result.csv` (read-only, at most
/// `console::MAX_ROWS` rows); an error shows the page instead.
pub async fn csv(State(app): State<Arc<App>>, admin: Admin, form: Form) -> Response {
    let q = console::Query {
        query: form.text("query"),
        write: false,
        max_rows: Some(console::MAX_ROWS),
        timeout_ms: None,
    };
    let who = admin.id.id().to_owned();
    let shown = json!({"query": q.query});
    match console::run(&app.store, &app.logs, &who, q).await {
        Ok(v) => {
            let columns = v["columns"].as_array().cloned().unwrap_or_default();
            let mut out = view::csv_row(&columns);
            for r in v["rows"].as_array().into_iter().flatten() {
                out.push_str(&view::csv_row(r.as_array().map_or(&[], Vec::as_slice)));
            }
            view::download(out, "text/csv; charset=utf-8", "result.csv")
        }
        Err(e) => {
            let (_, msg, data) = e.parts();
            let out = json!({"error": msg, "detail": data.get("error")});
            show(&app, &admin, with(shown, out))
        }
    }
}

fn show(app: &App, admin: &Admin, extra: Value) -> Response {
    let ctx = with(
        base(app, admin, "/_/sql", ""),
        json!({"title": "SQL console"}),
    );
    view::render("sql.html", with(ctx, extra))
}
