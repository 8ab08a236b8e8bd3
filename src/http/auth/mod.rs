//! Auth endpoints of auth collections: sign-in by password, OTP, OAuth2 and
//! authenticator app; refresh; auth methods; impersonation. The mail flows
//! live in `flows`, the authenticator enrolment in `totp`.

pub mod flows;
pub mod oauth2;
pub mod totp;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::body::{Body, BodyError};
use super::error::ApiError;
use super::extract::{Caller, Client, Query, Superuser};
use crate::app::App;
use crate::plugins::hooks::auth as hook_auth;
use crate::plugins::hooks::records::Outcome;
use crate::schema::Collection;
use crate::schema::validate::FieldError;
use crate::service::auth::{self, otp};
use crate::service::{Actor, Identity, records};

pub(crate) fn auth_collection(app: &App, name: &str) -> Result<Arc<Collection>, ApiError> {
    let c = app.store.schema().get(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid collection context.",
        )
    })?;
    if !c.is_auth() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid auth collection context.",
        ));
    }
    Ok(c)
}

/// 403 for a record of another collection (PocketBase names the caller's).
fn wrong_collection(id: &Identity) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        &format!(
            "The request requires auth record from {} collection.",
            id.collection.name
        ),
    )
}

/// The signed-in record of collection `coll` (401 guest, 403 other collection).
pub(crate) fn own_record(app: &App, coll: &str, actor: &Actor) -> Result<Identity, ApiError> {
    let c = auth_collection(app, coll)?;
    let id = actor.identity().ok_or_else(ApiError::unauthorized)?;
    if id.collection.id != c.id {
        return Err(wrong_collection(id));
    }
    Ok(id.clone())
}

/// The bound body, or PocketBase's 400 for an unreadable one
/// ("Unsupported Content-Type." or "An error occurred while loading...").
pub(crate) fn body(b: Result<Body, BodyError>) -> Result<Map<String, Value>, ApiError> {
    b.map(|Body(m)| m).map_err(ApiError::from)
}

pub(crate) fn text(body: &Map<String, Value>, k: &str) -> String {
    match body.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// 400 with `validation_required` for every blank key.
pub(crate) fn require(body: &Map<String, Value>, keys: &[&str]) -> Result<(), ApiError> {
    let mut errors = Map::new();
    for k in keys {
        if text(body, k).is_empty() {
            errors.insert((*k).to_owned(), FieldError::required().to_json());
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(errors))
}

/// `{token, record}` (+ `meta`); `expand` applies to the record, `fields`
/// to the whole response (so record keys take a `record.` prefix).
/// `method` is PocketBase's `authMethod` for `onRecordAuthRequest`
/// (`password`, `otp`, `oauth2`; empty for a refresh or impersonation).
pub(crate) async fn auth_response(
    app: &App,
    id: Identity,
    refreshable: bool,
    duration: Option<i64>,
    meta: Option<Value>,
    q: &Query,
    method: &str,
) -> Result<Response, ApiError> {
    let mut extra = Map::new();
    extra.insert("refreshable".into(), refreshable.into());
    let token = auth::issue(
        &id.collection,
        &id.record,
        auth::TokenKind::Auth,
        extra,
        duration,
    )?;
    auth_response_with(app, id, token, meta, q, method).await
}

/// `auth_response` with an already issued token.
pub(crate) async fn auth_response_with(
    app: &App,
    id: Identity,
    token: String,
    meta: Option<Value>,
    q: &Query,
    method: &str,
) -> Result<Response, ApiError> {
    let (record, actor, req) = auth::own_view(&app.store, &id)?;
    // pb_hooks: onRecordAuthRequest may refuse, answer itself or reshape the answer
    let answer = hook_auth::Answer {
        record,
        token,
        meta,
    };
    let hook_auth::Answer {
        record,
        token,
        meta,
    } = match hook_auth::request(app, &id.collection, method, answer).await? {
        Outcome::Done(a) => a,
        Outcome::Answered(res) => return Ok(res),
    };
    let expand = records::Shape {
        expand: q.get("expand").unwrap_or_default().to_owned(),
        fields: String::new(),
    };
    let record = expand.apply_one(&app.store, &id.collection, record, &actor, &req)?;
    let mut out = json!({"token": token, "record": record});
    if let (Some(meta), Value::Object(m)) = (meta, &mut out) {
        m.insert("meta".into(), meta);
    }
    let fields = records::fields::FieldsTree::parse(q.get("fields").unwrap_or_default())
        .map_err(|_| ApiError::bad_request())?;
    if !fields.is_empty()
        && let Value::Object(m) = &mut out
    {
        fields.apply(m);
    }
    Ok(super::json_out::JsonOut(out).into_response())
}

/// A pending MFA session: `?mfaId=` (what the SDK sends) or the body.
pub(crate) fn mfa_id(q: &Query, body: &Map<String, Value>) -> Option<String> {
    q.get("mfaId")
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
        .or_else(|| Some(text(body, "mfaId")).filter(|s| !s.is_empty()))
}

pub async fn with_password(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Path(coll): Path<String>,
    Client(client): Client,
    q: Query,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    require(&body, &["identity", "password"])?;
    let (identity, password) = (text(&body, "identity"), text(&body, "password"));
    app.limiter
        .check_identity(&caller, &client.ip, &c.name, "authWithPassword", &identity)?;
    let field = Some(text(&body, "identityField")).filter(|s| !s.is_empty());
    let id = auth::sign_in_with_password(
        &app,
        c,
        &identity,
        field.as_deref(),
        &password,
        mfa_id(&q, &body).as_deref(),
        &client,
    )
    .await?;
    auth_response(&app, id, true, None, None, &q, "password").await
}

pub async fn request_otp(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Client(client): Client,
    Path(coll): Path<String>,
    b: Result<Body, BodyError>,
) -> Result<Json<Value>, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    let email = text(&body, "email");
    app.limiter
        .check_identity(&caller, &client.ip, &c.name, "requestOTP", &email)?;
    let otp_id = otp::request(&app, &c, &email).await?;
    Ok(Json(json!({ "otpId": otp_id })))
}

pub async fn with_otp(
    State(app): State<Arc<App>>,
    Caller(caller): Caller,
    Path(coll): Path<String>,
    Client(client): Client,
    q: Query,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let body = body(b)?;
    if !otp::otp_enabled(&c) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "The collection is not configured to allow OTP authentication.",
        ));
    }
    require(&body, &["otpId", "password"])?;
    let otp_id = text(&body, "otpId");
    app.limiter
        .check_identity(&caller, &client.ip, &c.name, "authWithOTP", &otp_id)?;
    let id = otp::authenticate(&app, c, &otp_id, &text(&body, "password")).await?;
    let id = auth::login::complete(&app, id, "otp", mfa_id(&q, &body).as_deref(), &client).await?;
    auth_response(&app, id, true, None, None, &q, "otp").await
}

pub async fn refresh(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    headers: HeaderMap,
    q: Query,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if crate::service::access::api_keys::key_in(header).is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "API keys cannot be exchanged for auth tokens.",
        ));
    }
    let Some((id, claims)) = auth::verify_token(&app.store, header) else {
        return Err(ApiError::unauthorized());
    };
    if id.collection.id != c.id {
        return Err(wrong_collection(&id));
    }
    auth::login::check_auth_rule(&app, &id)?;
    // Unused, but PocketBase reads it here: a bad body is still a 400.
    body(b)?;
    if claims.get("refreshable").and_then(Value::as_bool) != Some(true) {
        // Impersonation tokens: PocketBase answers the same token again.
        let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
        return auth_response_with(&app, id, token.to_owned(), None, &q, "").await;
    }
    auth_response(&app, id, true, None, None, &q, "").await
}

pub async fn methods(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let opt = |k: &str| c.options.get(k).cloned().unwrap_or(Value::Null);
    let (mfa, otp_o) = (opt("mfa"), opt("otp"));
    let on = |v: &Value| v.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    let num = |v: &Value| v.get("duration").and_then(Value::as_i64).unwrap_or(0);
    let oauth_on = on(&opt("oauth2"));
    let providers = if oauth_on {
        oauth2::method_providers(&c)
    } else {
        Vec::new()
    };
    // The legacy list repeats the providers without their logos.
    let legacy: Vec<Value> = providers
        .iter()
        .cloned()
        .map(|mut p| {
            p["logo"] = Value::String(String::new());
            p
        })
        .collect();
    let identity = if c.password_auth_enabled() {
        c.identity_fields()
    } else {
        Vec::new()
    };
    let mut out = json!({
        "password": {"identityFields": identity, "enabled": c.password_auth_enabled()},
        "oauth2": {"providers": providers, "enabled": oauth_on},
        "mfa": {"enabled": on(&mfa), "duration": if on(&mfa) { num(&mfa) } else { 0 }},
        "otp": {"enabled": on(&otp_o), "duration": if on(&otp_o) { num(&otp_o) } else { 0 }},
        "authProviders": legacy,
        "usernamePassword": identity.iter().any(|f| f == "username"),
        "emailPassword": identity.iter().any(|f| f == "email"),
    });
    let fields = records::fields::FieldsTree::parse(q.get("fields").unwrap_or_default())
        .map_err(|_| ApiError::bad_request())?;
    if !fields.is_empty()
        && let Value::Object(m) = &mut out
    {
        fields.apply(m);
    }
    Ok(Json(out))
}

pub async fn impersonate(
    State(app): State<Arc<App>>,
    Path((coll, id)): Path<(String, String)>,
    _: Superuser,
    q: Query,
    b: Result<Body, BodyError>,
) -> Result<Response, ApiError> {
    // Unknown and non-auth collections get the same 404 here.
    let c = auth_collection(&app, &coll).map_err(|mut e| {
        e.message = "Missing or invalid auth collection context.".into();
        e
    })?;
    let record = app
        .store
        .read(|conn| crate::store::records::get(conn, &c, &id))?
        .ok_or_else(ApiError::not_found)?;
    let body = body(b)?;
    let duration = match body.get("duration") {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) if s.is_empty() => 0,
        Some(v) => (v.as_i64())
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "An error occurred while loading the submitted data.",
                )
            })?,
    };
    if duration < 0 {
        return Err(ApiError::validation(
            [(
                "duration".to_owned(),
                FieldError::new(
                    "validation_min_greater_equal_than_required",
                    "Must be no less than 0.",
                )
                .with_params(json!({"threshold": 0}))
                .to_json(),
            )]
            .into_iter()
            .collect(),
        ));
    }
    let id = Identity {
        collection: c,
        record: record.into(),
    };
    auth_response(
        &app,
        id,
        false,
        (duration > 0).then_some(duration),
        None,
        &q,
        "",
    )
    .await
}
