//! `auth-with-oauth2`: the code flow's last step (the SDK's
//! `authWithOAuth2Code`, and the popup flow after `/api/oauth2-redirect`).

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Map, Value};

use super::{auth_collection, auth_response, body, require, text};
use crate::app::App;
use crate::http::body::{Body, BodyError};
use crate::http::error::ApiError;
use crate::http::extract::{Caller, Client, Query};
use crate::service::auth::{login, oauth2};

pub use oauth2::method_providers;

pub async fn with_oauth2(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    Caller(actor): Caller,
    Client(client): Client,
    q: Query,
    b: Result<Body, BodyError>,
) -> Result<axum::response::Response, ApiError> {
    let c = auth_collection(&app, &coll)?;
    oauth2::require_enabled(&c)?;
    let body = body(b)?;
    // PocketBase reports these two as a load error, not a validation one.
    require(&body, &["code", "provider"]).map_err(|mut e| {
        e.message = "An error occurred while loading the submitted data.".into();
        e
    })?;
    let redirect = Some(text(&body, "redirectURL"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| text(&body, "redirectUrl"));
    let req = oauth2::Request {
        provider: text(&body, "provider"),
        code: text(&body, "code"),
        code_verifier: text(&body, "codeVerifier"),
        redirect_url: redirect,
        create_data: match body.get("createData") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        },
    };
    let (id, meta) = oauth2::authenticate(&app, c, &actor, req).await?;
    let mfa = super::mfa_id(&q, &body);
    let id = login::complete(&app, id, "oauth2", mfa.as_deref(), &client).await?;
    auth_response(&app, id, true, None, Some(meta), &q, "oauth2").await
}
