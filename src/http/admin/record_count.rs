//! The records list's total, apart from its rows. Counting a large
//! filtered collection can take far longer than reading one page (SQLite
//! stops reading after the page, a count reads every match), so the list
//! page is rendered without a total (`skipTotal`) and its script fetches
//! `GET /_/collections/NAME/count?filter=...` afterwards (PocketBase #3344:
//! the dashboard waited for the count before showing any row). Whether a
//! next page exists is answered without the total: one probe for the first
//! record after this page.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::preview::{self, Viewer};
use super::records::{PER_PAGE, find, to_filter};
use super::session::Admin;
use super::view::query_pairs;
use crate::app::App;
use crate::schema::Collection;
use crate::service::records::{self as svc, ListQuery, Shape};

/// Whether a record follows the page `result` shows: only asked when the
/// page is full, with a one-row read at the next page's offset.
pub fn has_more(app: &App, c: &Collection, v: &Viewer, q: &ListQuery, result: &Value) -> bool {
    let shown = result["items"].as_array().map_or(0, Vec::len);
    if (shown as i64) < PER_PAGE {
        return false;
    }
    let probe = ListQuery {
        // Offset (page - 1) * per_page = q.page * PER_PAGE.
        page: q.page * PER_PAGE + 1,
        per_page: 1,
        sort: q.sort.clone(),
        filter: q.filter.clone(),
        skip_total: true,
        shape: Shape::default(),
    };
    svc::list(&app.store, c, &v.actor, &v.req, &probe)
        .ok()
        .and_then(|r| r["items"].as_array().map(|a| !a.is_empty()))
        .unwrap_or(false)
}

/// `{totalItems, totalPages}` of the list's filter, as the same viewer
/// (superuser or previewed user) reads it; 400 with the API's message.
pub async fn count(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    uri: Uri,
    admin: Admin,
) -> Response {
    let Some(c) = find(&app, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let q = query_pairs(&uri);
    let filter = super::view::param(&q, "filter");
    let bad = |m: String| (StatusCode::BAD_REQUEST, Json(json!({ "message": m }))).into_response();
    let v = match preview::viewer(&app, &admin, &preview::params(&q)) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let query = ListQuery {
        page: 1,
        per_page: 1,
        sort: String::new(),
        filter: to_filter(&c, &filter),
        skip_total: false,
        shape: Shape {
            expand: String::new(),
            fields: "id".into(),
        },
    };
    match svc::list(&app.store, &c, &v.actor, &v.req, &query) {
        Ok(r) => {
            let total = r["totalItems"].as_i64().unwrap_or(0);
            let pages = (total + PER_PAGE - 1) / PER_PAGE;
            Json(json!({"totalItems": total, "totalPages": pages})).into_response()
        }
        Err(e) => bad(e.parts().1),
    }
}
