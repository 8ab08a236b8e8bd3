//! CSV import of records (`/_/collections/NAME/import-csv`): paste or load
//! a CSV with a header row, map its columns to fields (same-named columns
//! are preselected), preview the first rows, and import every row in one
//! transaction. The preview is a dry run of the import itself, so it lists
//! every row the import would refuse, with the API's messages; the import
//! stores nothing if any row fails (`records::import::create_all`).
//!
//! Cells become the same values a form body would hold: empty cells are
//! left out (the field keeps its default), `[...]` cells of multi-value
//! and JSON fields are parsed as JSON (the records CSV export writes them
//! that way), other cells of multi-value fields are split on commas, and a
//! mapped password also fills `passwordConfirm`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::records::{actor_req, find};
use super::session::Admin;
use super::shell::{base, with};
use super::view::{self, Form, query_pairs};
use crate::app::App;
use crate::schema::{Collection, CollectionKind, Field, FieldKind};
use crate::service::records::import::{self, MAX_ROWS};

/// Rows shown in the preview table.
const PREVIEW_ROWS: usize = 5;
/// Row errors listed.
const SHOWN_ERRORS: usize = 100;

/// Fields a CSV column can fill.
fn mappable(c: &Collection) -> Vec<&Field> {
    c.fields
        .iter()
        .filter(|f| {
            f.name != "tokenKey" && !matches!(f.kind, FieldKind::Autodate(_) | FieldKind::File(_))
        })
        .collect()
}

/// Header and rows of a CSV text.
fn parse(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let head: Vec<String> = r
        .headers()
        .map_err(|e| format!("Invalid CSV: {e}."))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if head.iter().all(String::is_empty) {
        return Err("The CSV needs a header row naming its columns.".into());
    }
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| format!("Invalid CSV: {e}."))?;
        rows.push(rec.iter().map(str::to_owned).collect());
        if rows.len() > MAX_ROWS {
            return Err(format!("At most {MAX_ROWS} rows can be imported at once."));
        }
    }
    Ok((head, rows))
}

/// A cell as a body value for `f`.
fn cell_value(f: &Field, cell: &str) -> Value {
    let multi = f.kind.is_multiple();
    let json = matches!(f.kind, FieldKind::Json(_));
    if (json || multi && cell.trim_start().starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(cell)
    {
        return v;
    }
    if multi {
        return Value::from(
            cell.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    Value::String(cell.to_owned())
}

/// The column index chosen for each field (`map.FIELD`), defaulting to a
/// same-named column.
fn mapping(c: &Collection, head: &[String], form: &Form) -> Vec<(String, Option<usize>)> {
    mappable(c)
        .iter()
        .map(|f| {
            let chosen = match form.get(&format!("map.{}", f.name)) {
                Some("") => None,
                Some(v) => v.parse::<usize>().ok().filter(|i| *i < head.len()),
                None => head.iter().position(|h| h.eq_ignore_ascii_case(&f.name)),
            };
            (f.name.clone(), chosen)
        })
        .collect()
}

fn bodies(
    c: &Collection,
    map: &[(String, Option<usize>)],
    rows: &[Vec<String>],
) -> Vec<Map<String, Value>> {
    rows.iter()
        .map(|row| {
            let mut body = Map::new();
            for (name, col) in map {
                let (Some(i), Some(f)) = (col, c.field(name)) else {
                    continue;
                };
                let cell = row.get(*i).map(String::as_str).unwrap_or_default();
                if cell.is_empty() {
                    continue;
                }
                let v = cell_value(f, cell);
                if matches!(f.kind, FieldKind::Password(_)) {
                    body.insert("passwordConfirm".into(), v.clone());
                }
                body.insert(name.clone(), v);
            }
            body
        })
        .collect()
}

fn lines(e: &import::RowError) -> String {
    let mut parts: Vec<String> = e
        .data
        .iter()
        .map(|(k, v)| {
            let m = v.get("message").and_then(Value::as_str).unwrap_or_default();
            format!("{k}: {m}")
        })
        .collect();
    if parts.is_empty() {
        parts.push(e.message.clone());
    }
    parts.join("; ")
}

fn render(app: &App, admin: &Admin, c: &Collection, extra: Value, status: StatusCode) -> Response {
    let ctx = with(
        base(app, admin, "/_/collections", &c.name),
        with(
            json!({"title": format!("Import CSV into {}", c.name), "collection": c.name}),
            extra,
        ),
    );
    view::render_status(status, "csv_import.html", ctx)
}

fn writable(app: &App, name: &str) -> Option<Arc<Collection>> {
    find(app, name).filter(|c| c.kind != CollectionKind::View)
}

pub async fn page(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    uri: Uri,
    admin: Admin,
) -> Response {
    let Some(c) = writable(&app, &name) else {
        return super::shell::not_found(State(app), admin).await;
    };
    let done = query_pairs(&uri)
        .into_iter()
        .find(|(k, _)| k == "imported")
        .map(|(_, v)| format!("Imported {v} records."))
        .unwrap_or_default();
    render(&app, &admin, &c, json!({"flash": done}), StatusCode::OK)
}

pub async fn submit(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    admin: Admin,
    form: Form,
) -> Response {
    let Some(c) = writable(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let text = form.text("csv");
    let (head, rows) = match parse(&text) {
        Ok(p) => p,
        Err(m) => {
            let extra = json!({"csv": text, "message": m});
            return render(&app, &admin, &c, extra, StatusCode::BAD_REQUEST);
        }
    };
    let map = mapping(&c, &head, &form);
    let input = bodies(&c, &map, &rows);
    let commit = form.text("action") == "import";
    let (actor, req) = actor_req(&app, &admin);
    let report =
        match import::create_all(&app.store, Arc::clone(&c), &actor, &req, input, commit).await {
            Ok(r) => r,
            Err(e) => {
                let extra = json!({"csv": text, "message": e.parts().1});
                return render(&app, &admin, &c, extra, StatusCode::BAD_REQUEST);
            }
        };
    app.realtime_flush().await;
    if commit && report.errors.is_empty() {
        return Redirect::to(&format!(
            "/_/collections/{}/import-csv?imported={}",
            view::urlencode(&c.name),
            report.created
        ))
        .into_response();
    }
    let fields: Vec<Value> = map
        .iter()
        .map(|(n, col)| {
            let options: Vec<Value> = head
                .iter()
                .enumerate()
                .map(|(i, h)| json!({"index": i, "label": if h.is_empty() { format!("column {}", i + 1) } else { h.clone() }, "selected": *col == Some(i)}))
                .collect();
            json!({"name": n, "options": options})
        })
        .collect();
    let mapped: Vec<&String> = map
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(n, _)| n)
        .collect();
    let preview: Vec<Value> = rows
        .iter()
        .take(PREVIEW_ROWS)
        .map(|r| {
            let b = &bodies(&c, &map, std::slice::from_ref(r))[0];
            let cells: Vec<String> = mapped
                .iter()
                .map(|n| match b.get(n.as_str()) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                })
                .collect();
            json!(cells)
        })
        .collect();
    let errors: Vec<Value> = report
        .errors
        .iter()
        .take(SHOWN_ERRORS)
        .map(|e| json!({"row": e.row + 1, "line": e.row + 2, "text": lines(e)}))
        .collect();
    let extra = json!({
        "csv": text, "review": true, "fields": fields, "mapped": mapped, "preview": preview,
        "rows": rows.len(), "errors": errors, "error_count": report.errors.len(),
        "valid": report.valid,
        "message": if report.errors.is_empty() { String::new() } else {
            let then = if commit { "nothing was stored" } else { "nothing is stored until every row is valid" };
            format!("{} of {} rows cannot be imported; {then}.", report.errors.len(), rows.len())
        },
    });
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(&app, &admin, &c, extra, status)
}
