//! The mail flows' endpoints: verification, password reset, email change.
//! Requests answer 204 whether or not the email exists.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{auth_collection, body, own_record, text};
use crate::app::App;
use crate::http::body::{Body, BodyError};
use crate::http::error::ApiError;
use crate::http::extract::{Caller, Client};
use crate::service::auth::flows;

pub async fn request_verification(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Client(client): Client,
    Path(coll): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    let email = text(&body, "email");
    app.limiter
        .check_identity(&caller, &client.ip, &c.name, "requestVerification", &email)?;
    flows::request_verification(&app, &c, &email).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn confirm_verification(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    flows::confirm_verification(&app, &c, &text(&body, "token")).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn request_password_reset(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Client(client): Client,
    Path(coll): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    let email = text(&body, "email");
    app.limiter
        .check_identity(&caller, &client.ip, &c.name, "requestPasswordReset", &email)?;
    flows::request_password_reset(&app, &c, &email).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn confirm_password_reset(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let c = auth_collection(&app, &coll)?;
    // PocketBase wraps every binding failure here in its generic message.
    let body = b
        .map(|Body(m)| m)
        .map_err(|e| e.wrap(crate::http::body::LOADING))?;
    flows::confirm_password_reset(
        &app,
        &c,
        &text(&body, "token"),
        &text(&body, "password"),
        &text(&body, "passwordConfirm"),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn request_email_change(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    Caller(actor): Caller,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let id = own_record(&app, &coll, &actor)?;
    let body = body(b)?;
    flows::request_email_change(&app, &id, &text(&body, "newEmail")).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn confirm_email_change(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<StatusCode, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    flows::confirm_email_change(&app, &c, &text(&body, "token"), &text(&body, "password")).await?;
    Ok(StatusCode::NO_CONTENT)
}
