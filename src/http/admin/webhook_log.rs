//! A webhook's delivery log on its page (state filter, every attempt with
//! status, duration, error kind and a response excerpt) and the operator's
//! actions on it: send a test event, resend one delivery, recover every
//! failure since a time, replay from a change-log sequence. All through
//! `service::webhooks::log`, like `/api/webhooks/*`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::session::Admin;
use super::view::{self, Form};
use super::webhooks::{back, page_of};
use crate::app::App;
use crate::service::Error;
use crate::service::webhooks::log;
use crate::store::webhooks::DeliveryQuery;

const PER_PAGE: i64 = 20;
/// Response bodies are cut to this many characters in the log.
const EXCERPT: usize = 300;
pub const STATES: &[&str] = &["pending", "inflight", "succeeded", "failed", "cancelled"];

fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// One delivery with its attempts, response bodies cut to an excerpt.
fn with_attempts(app: &App, d: &Value) -> Value {
    let Some(full) = d["id"]
        .as_i64()
        .and_then(|id| log::view(&app.store, id).ok())
    else {
        return d.clone();
    };
    let mut out = full;
    if let Some(list) = out["attemptsLog"].as_array_mut() {
        for a in list {
            a["response"] = excerpt(a["response"].as_str().unwrap_or_default()).into();
        }
    }
    out["body"] = excerpt(out["body"].as_str().unwrap_or_default()).into();
    out
}

/// A page of the endpoint's deliveries for the page's log, and an error
/// message for a bad state filter.
pub fn deliveries(app: &App, id: &str, state: &str, page: i64) -> (Value, Option<String>) {
    let q = DeliveryQuery {
        webhook_id: id.to_owned(),
        state: state.to_owned(),
        event_id: String::new(),
        page,
        per_page: PER_PAGE,
    };
    let (list, error) = match log::list(&app.store, q) {
        Ok(v) => (v, None),
        Err(e) => (json!({"items": [], "totalItems": 0}), Some(e.parts().1)),
    };
    let items: Vec<Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| with_attempts(app, d))
        .collect();
    let total = list["totalItems"].as_i64().unwrap_or(0);
    let link = |p: i64| format!("{}?state={}&page={p}", page_of(id), view::urlencode(state));
    let out = json!({"items": items, "total": total, "state": state, "states": STATES,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page * PER_PAGE < total).then(|| link(page + 1))});
    (out, error)
}

pub async fn test(State(app): State<Arc<App>>, _: Admin, Path(id): Path<String>) -> Response {
    let res = log::test_event(&app.webhooks, &app.store, &id).await;
    back(&page_of(&id), res.map(|_| "Test event queued.".into()))
}

pub async fn resend(
    State(app): State<Arc<App>>,
    _: Admin,
    Path((id, delivery)): Path<(String, String)>,
) -> Response {
    let res = match delivery.parse::<i64>() {
        Ok(d) => log::resend(&app.webhooks, &app.store, d).await,
        Err(_) => Err(Error::missing_record()),
    };
    back(
        &page_of(&id),
        res.map(|_| format!("Delivery {delivery} queued again.")),
    )
}

/// `since` comes from a `datetime-local` input (UTC, no seconds).
pub async fn recover(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let mut since = form.text("since").trim().to_owned();
    if since.len() == 16 {
        since.push_str(":00Z");
    }
    let body = json!({"since": since});
    let res = log::recover(&app.webhooks, &app.store, &id, &body).await;
    back(&page_of(&id), res.map(|v| queued(&v)))
}

pub async fn replay(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let seq = form.text("fromSeq");
    let body =
        json!({"fromSeq": seq.trim().parse::<i64>().map_or(Value::String(seq), Value::from)});
    let res = log::replay(&app.webhooks, &app.store, &id, &body).await;
    back(&page_of(&id), res.map(|v| queued(&v)))
}

fn queued(v: &Value) -> String {
    format!("{} delivery(s) queued.", v["queued"].as_i64().unwrap_or(0))
}
