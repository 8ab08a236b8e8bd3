//! Extractors: the caller's identity, request bodies and list parameters.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::app::App;
use crate::filter::ast::RequestMap;
use crate::service::Actor;

/// Largest request body accepted (PocketBase's default, 32 MiB).
pub const MAX_BODY: usize = 32 << 20;

/// The caller, resolved from `Authorization` by `identity::layer`
/// (invalid tokens mean guest, bad API keys 401).
pub struct Caller(pub Actor);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let actor = super::identity::of(app, parts)?;
        super::request_log::note_caller(&actor);
        Ok(Caller(actor))
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
        // Made only if a rule reads them (`RequestMap`): the query text is
        // copied, the header map cloned (its names and values are shared).
        let raw = parts.uri.query().unwrap_or_default().to_owned();
        let query = RequestMap::deferred(move || {
            crate::urlencoded::pairs(raw.as_bytes())
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        });
        let sent = parts.headers.clone();
        let headers = RequestMap::deferred(move || {
            let mut map = Map::new();
            for (k, v) in &sent {
                if let Ok(v) = v.to_str() {
                    map.insert(k.as_str().replace('-', "_"), Value::String(v.to_owned()));
                }
            }
            map
        });
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

/// A JSON object body (as a `Value`), bound by [`super::body::bind`] like
/// every other body: malformed bodies get the generic 400.
pub struct JsonBody(pub Value);

impl FromRequest<Arc<App>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, ApiError> {
        super::body::bind(req, app)
            .await
            .map(|m| JsonBody(Value::Object(m)))
            .map_err(|e| e.malformed("Something went wrong while processing your request."))
    }
}

/// A record body: JSON, multipart or url-encoded, flattened to one map by
/// [`super::body::bind`].
pub struct RecordBody(pub Map<String, Value>);

impl FromRequest<Arc<App>> for RecordBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, ApiError> {
        super::body::bind(req, app)
            .await
            .map(RecordBody)
            .map_err(|e| e.malformed("Something went wrong while processing your request."))
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
