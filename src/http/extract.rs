//! Extractors: the caller's identity, request bodies and list parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::app::App;
use crate::service::{Actor, auth};

/// Largest request body accepted (PocketBase's default, 32 MiB).
pub const MAX_BODY: usize = 32 << 20;

/// The caller, resolved from `Authorization` (invalid tokens mean guest).
pub struct Caller(pub Actor);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        if let Some(key) = header.and_then(crate::service::access::api_keys::key_in) {
            let (actor, touch) = crate::service::access::api_keys::actor(&app.store, key)?;
            if let Some(id) = touch {
                let app = Arc::clone(app);
                tokio::spawn(async move {
                    crate::service::access::api_keys::touch(&app.store, id).await;
                });
            }
            note_caller(parts, &actor);
            return Ok(Caller(actor));
        }
        let actor = auth::actor_from_header(&app.store, header);
        note_caller(parts, &actor);
        Ok(Caller(actor))
    }
}

/// Tells the request log who the caller is.
fn note_caller(parts: &Parts, actor: &Actor) {
    if let Some(slot) = parts.extensions.get::<super::request_log::AuthSlot>() {
        slot.set(actor);
    }
}

/// The caller plus the request values rules may read (`@request.*`).
pub struct Ctx {
    pub actor: Actor,
    pub req: crate::filter::ast::RequestInfo,
}

impl FromRequestParts<Arc<App>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let Caller(actor) = Caller::from_request_parts(parts, app).await?;
        let mut query = Map::new();
        for (k, v) in crate::urlencoded::pairs(parts.uri.query().unwrap_or_default().as_bytes()) {
            query.insert(k, Value::String(v));
        }
        let mut headers = Map::new();
        for (k, v) in &parts.headers {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().replace('-', "_"), Value::String(v.to_owned()));
            }
        }
        let req = crate::service::rules::request_info(
            &app.store,
            &actor,
            parts.method.as_str(),
            query,
            headers,
        );
        Ok(Ctx { actor, req })
    }
}

/// Where a request comes from: client IP (trusted proxy headers honoured)
/// and user agent, for login origins and alerts.
pub struct Client(pub crate::service::auth::login::Client);

impl FromRequestParts<Arc<App>> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        let ip = super::ratelimit::client_ip(&app.settings(), &parts.headers, peer);
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Client(crate::service::auth::login::Client {
            ip,
            user_agent,
        }))
    }
}

/// A caller that must be a superuser (401 for guests, 403 for others).
pub struct Superuser(pub Actor);

impl FromRequestParts<Arc<App>> for Superuser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let Caller(actor) = Caller::from_request_parts(parts, app).await?;
        match actor {
            Actor::Superuser(_) => Ok(Superuser(actor)),
            Actor::User(_) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "The authorized record is not allowed to perform this action.",
            )),
            Actor::Guest => Err(ApiError::unauthorized()),
        }
    }
}

async fn read_bytes(req: Request) -> Result<(Option<String>, Bytes), ApiError> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| ApiError::too_large())?;
    Ok((ct, bytes))
}

/// A JSON object body (record-style errors: generic 400 when malformed).
pub struct JsonBody(pub Value);

impl FromRequest<Arc<App>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &Arc<App>) -> Result<Self, ApiError> {
        let (_, bytes) = read_bytes(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Object(Map::new())));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::bad_request())
    }
}

/// A record body: JSON, multipart or url-encoded, flattened to one map.
pub struct RecordBody(pub Map<String, Value>);

fn push_value(map: &mut Map<String, Value>, key: String, v: Value) {
    match map.get_mut(&key) {
        Some(Value::Array(a)) => a.push(v),
        Some(existing) => {
            let prev = existing.take();
            *existing = Value::Array(vec![prev, v]);
        }
        None => {
            map.insert(key, v);
        }
    }
}

fn merge_json_payload(map: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(Value::String(p)) = map.remove("@jsonPayload") {
        match serde_json::from_str::<Value>(&p) {
            Ok(Value::Object(o)) => {
                for (k, v) in o {
                    map.insert(k, v);
                }
            }
            _ => return Err(ApiError::bad_request()),
        }
    }
    Ok(())
}

impl FromRequest<Arc<App>> for RecordBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_lowercase();
        if ct.starts_with("multipart/form-data") {
            let mut mp = axum::extract::Multipart::from_request(req, app)
                .await
                .map_err(|_| ApiError::bad_request())?;
            let mut map = Map::new();
            loop {
                let field = match mp.next_field().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(ApiError::too_large());
                    }
                    Err(_) => return Err(ApiError::bad_request()),
                };
                let name = field.name().unwrap_or_default().to_owned();
                let is_file = field.file_name().is_some();
                let text = field.text().await.map_err(|_| ApiError::too_large())?;
                if !is_file {
                    push_value(&mut map, name, Value::String(text));
                }
            }
            merge_json_payload(&mut map)?;
            return Ok(RecordBody(map));
        }
        let (_, bytes) = read_bytes(req).await?;
        if ct.starts_with("application/x-www-form-urlencoded") {
            let mut map = Map::new();
            for (k, v) in crate::urlencoded::pairs(&bytes) {
                push_value(&mut map, k, Value::String(v));
            }
            merge_json_payload(&mut map)?;
            return Ok(RecordBody(map));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(RecordBody(Map::new()));
        }
        if !ct.is_empty() && !ct.starts_with("application/json") {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Unsupported Content-Type.",
            ));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(o)) => Ok(RecordBody(o)),
            Ok(Value::Null) => Ok(RecordBody(Map::new())),
            _ => Err(ApiError::bad_request()),
        }
    }
}

/// Raw query parameters (decoded).
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// An integer parameter; present but not a number is a 400.
    pub fn int(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request()),
        }
    }

    /// A boolean parameter (Go's `ParseBool` set); anything else is a 400.
    pub fn flag(&self, k: &str) -> Result<bool, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(false),
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
            Some(_) => Err(ApiError::bad_request()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or_default();
        Ok(Query(crate::urlencoded::pairs(q.as_bytes())))
    }
}
