//! `/api/webhooks`: endpoints, the delivery log and recovery (superusers).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{JsonBody, Query, Superuser};
use crate::app::App;
use crate::service::webhooks::{self, log};
use crate::store::webhooks::DeliveryQuery;

type Answer = Result<Json<Value>, ApiError>;

pub async fn list(State(app): State<Arc<App>>, _: Superuser) -> Answer {
    Ok(Json(webhooks::list(&app.webhooks)))
}

pub async fn create(State(app): State<Arc<App>>, _: Superuser, JsonBody(b): JsonBody) -> Answer {
    Ok(Json(webhooks::create(&app.webhooks, &app.store, &b).await?))
}

pub async fn view(State(app): State<Arc<App>>, _: Superuser, Path(id): Path<String>) -> Answer {
    Ok(Json(webhooks::view(&app.webhooks, &id)?))
}

pub async fn update(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> Answer {
    Ok(Json(
        webhooks::update(&app.webhooks, &app.store, &id, &b).await?,
    ))
}

pub async fn delete(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&app.webhooks, &app.store, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Answer {
    // The body is optional here (`{grace}`).
    let b = if raw.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&raw).map_err(|_| ApiError::bad_request())?
    };
    Ok(Json(
        webhooks::rotate(&app.webhooks, &app.store, &id, &b).await?,
    ))
}

pub async fn test(State(app): State<Arc<App>>, _: Superuser, Path(id): Path<String>) -> Answer {
    Ok(Json(log::test_event(&app.webhooks, &app.store, &id).await?))
}

pub async fn replay(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> Answer {
    Ok(Json(log::replay(&app.webhooks, &app.store, &id, &b).await?))
}

pub async fn recover(
    State(app): State<Arc<App>>,
    _: Superuser,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> Answer {
    Ok(Json(
        log::recover(&app.webhooks, &app.store, &id, &b).await?,
    ))
}

pub async fn deliveries(State(app): State<Arc<App>>, _: Superuser, q: Query) -> Answer {
    let query = DeliveryQuery {
        webhook_id: q.get("webhook").unwrap_or_default().to_owned(),
        state: q.get("state").unwrap_or_default().to_owned(),
        event_id: q.get("eventId").unwrap_or_default().to_owned(),
        page: q.int("page")?.unwrap_or(1),
        per_page: q.int("perPage")?.unwrap_or(30),
    };
    Ok(Json(log::list(&app.store, query)?))
}

fn delivery_id(s: &str) -> Result<i64, ApiError> {
    s.parse().map_err(|_| ApiError::not_found())
}

pub async fn delivery(State(app): State<Arc<App>>, _: Superuser, Path(id): Path<String>) -> Answer {
    Ok(Json(log::view(&app.store, delivery_id(&id)?)?))
}

pub async fn resend(State(app): State<Arc<App>>, _: Superuser, Path(id): Path<String>) -> Answer {
    Ok(Json(
        log::resend(&app.webhooks, &app.store, delivery_id(&id)?).await?,
    ))
}
