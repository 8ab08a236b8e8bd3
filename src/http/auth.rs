//! Auth endpoints of auth collections: password sign-in and token refresh.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::extract::{Caller, JsonBody, Query};
use crate::app::App;
use crate::schema::Collection;
use crate::schema::validate::FieldError;
use crate::service::{Actor, Identity, auth, records};

fn auth_collection(app: &App, name: &str) -> Result<Arc<Collection>, ApiError> {
    app.store
        .schema()
        .get(name)
        .filter(|c| c.is_auth())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "Missing or invalid auth collection context.",
            )
        })
}

/// `{record, token}`; `expand` applies to the record, `fields` to the whole
/// response (so record keys take a `record.` prefix), as in PocketBase.
fn auth_response(
    app: &App,
    id: Identity,
    refreshable: bool,
    q: &Query,
) -> Result<Json<Value>, ApiError> {
    let token = auth::issue_token(&id.collection, &id.record, refreshable)?;
    let actor = if id.collection.name == crate::schema::system::SUPERUSERS {
        Actor::Superuser(id.clone())
    } else {
        Actor::User(id.clone())
    };
    let record = records::to_public(&id.collection, &id.record, &actor);
    let req = crate::service::rules::request_info(&actor, "POST", Map::new(), Map::new());
    let expand = records::Shape {
        expand: q.get("expand").unwrap_or_default().to_owned(),
        fields: String::new(),
    };
    let record = expand.apply_one(&app.store, &id.collection, record, &actor, &req)?;
    let mut out = json!({"record": record, "token": token});
    let fields = records::fields::FieldsTree::parse(q.get("fields").unwrap_or_default())
        .map_err(|_| ApiError::bad_request())?;
    if !fields.is_empty()
        && let Value::Object(m) = &mut out
    {
        fields.apply(m);
    }
    Ok(Json(out))
}

pub async fn with_password(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    q: Query,
    b: Result<JsonBody, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let JsonBody(body) = b.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "An error occurred while loading the submitted data.",
        )
    })?;
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (identity, password) = (s("identity"), s("password"));
    let mut errors = Map::new();
    if identity.is_empty() {
        errors.insert("identity".into(), FieldError::required().to_json());
    }
    if password.is_empty() {
        errors.insert("password".into(), FieldError::required().to_json());
    }
    if !errors.is_empty() {
        return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            message: "An error occurred while validating the submitted data.".into(),
            data: errors,
        });
    }
    let id = auth::authenticate(&app.store, c, &identity, &password).await?;
    auth_response(&app, id, true, &q)
}

pub async fn refresh(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
    Caller(actor): Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let c = auth_collection(&app, &coll)?;
    let Some(id) = actor.identity() else {
        return Err(ApiError::unauthorized());
    };
    if id.collection.id != c.id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            &format!(
                "The request requires auth record from {} collection.",
                id.collection.name
            ),
        ));
    }
    auth_response(&app, id.clone(), true, &q)
}

pub async fn methods(
    State(app): State<Arc<App>>,
    Path(coll): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = auth_collection(&app, &coll)?;
    Ok(Json(json!({
        "password": {"identityFields": c.identity_fields(), "enabled": c.password_auth_enabled()},
        "oauth2": {"providers": [], "enabled": false},
        "mfa": {"enabled": false, "duration": 0},
        "otp": {"enabled": false, "duration": 0},
        "authProviders": [],
        "usernamePassword": c.identity_fields().iter().any(|f| f == "username"),
        "emailPassword": c.identity_fields().iter().any(|f| f == "email"),
    })))
}
