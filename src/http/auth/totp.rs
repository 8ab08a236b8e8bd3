//! Authenticator-app endpoints (Cairn's extension; docs/auth.md):
//! `totp-setup`, `totp-confirm`, `totp-disable` for the signed-in record,
//! and `auth-with-totp` to finish a sign-in that answered `mfaId`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::{auth_collection, auth_response, body, own_record, require, text};
use crate::app::App;
use crate::http::body::{Body, BodyError};
use crate::http::error::ApiError;
use crate::http::extract::{Caller, Client, Query};
use crate::service::Identity;
use crate::service::auth::sys::{self, MFAS};
use crate::service::auth::{login, totp};
use crate::store::records;

pub async fn setup(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    Caller(actor): Caller,
) -> Result<Json<Value>, ApiError> {
    let id = own_record(&app, &coll, &actor)?;
    Ok(Json(totp::setup(&app, &id).await?))
}

pub async fn confirm(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    Caller(actor): Caller,
    b: Result<Body, BodyError>,
) -> Result<Json<Value>, ApiError> {
    let id = own_record(&app, &coll, &actor)?;
    let body = body(b)?;
    require(&body, &["code"])?;
    Ok(Json(totp::confirm(&app, &id, &text(&body, "code")).await?))
}

/// Owners send a current (or recovery) code; superusers may name any
/// record of the collection with `recordId` instead.
pub async fn disable(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    Caller(actor): Caller,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let body = body(b)?;
    let record_id = text(&body, "recordId");
    if actor.is_superuser() && !record_id.is_empty() {
        let c = auth_collection(&app, &coll)?;
        let record = app
            .store
            .read(|conn| records::get(conn, &c, &record_id))?
            .ok_or_else(ApiError::not_found)?;
        let id = Identity {
            collection: c,
            record: record.into(),
        };
        totp::disable(&app, &id, None).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let id = own_record(&app, &coll, &actor)?;
    require(&body, &["code"])?;
    totp::disable(&app, &id, Some(&text(&body, "code"))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Second factor: `{mfaId, code}`; the pending MFA session names the record.
pub async fn with_totp(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Path(coll): Path<String>,
    Client(client): Client,
    q: Query,
    b: Result<Body, BodyError>,
) -> Result<axum::response::Response, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    require(&body, &["mfaId", "code"])?;
    let mfa_id = text(&body, "mfaId");
    app.limiter
        .check_identity(&caller, &client.ip, &c.name, "authWithTOTP", &mfa_id)?;
    let mfas = sys::collection(&app.store, MFAS)?;
    let pending = app
        .store
        .read(|conn| records::get(conn, &mfas, &mfa_id))?
        .filter(|m| sys::text(m, "collectionRef") == c.id)
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "Failed to authenticate."))?;
    let rid = sys::text(&pending, "recordRef").to_owned();
    let record = app
        .store
        .read(|conn| records::get(conn, &c, &rid))?
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "Failed to authenticate."))?;
    let id = Identity {
        collection: c,
        record: record.into(),
    };
    totp::verify_code(&app, &id, &text(&body, "code")).await?;
    let id = login::complete(&app, id, "totp", Some(&mfa_id), &client).await?;
    auth_response(&app, id, true, None, None, &q, "totp").await
}
