//! Who is calling, decided once per request by a step of the middleware
//! that wraps every route (and the fallbacks), before any handler runs.
//!
//! Putting the decision here rather than in each handler's extractors is
//! what makes "a bad API key answers 401 on every endpoint" hold for routes
//! that never ask who the caller is (`auth-methods`, `/api/realtime/seq`,
//! the SSE stream, the WebSocket upgrade) and for any route added later.
//! An invalid JWT still means guest, as in PocketBase; only `cairn_` keys,
//! which cannot be "expired but harmless", are refused.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::app::App;
use crate::service::access::{api_keys, scopes};
use crate::service::{Actor, Error, auth};

/// The caller as resolved by [`stamp`], kept in the request's extensions.
#[derive(Clone)]
pub struct Resolved(pub Actor);

/// The actor an `Authorization` value stands for: a JWT (invalid = guest)
/// or an API key (invalid = 401). Records a key's `lastUsed` when due.
pub fn resolve(app: &Arc<App>, header: Option<&str>) -> Result<Actor, Error> {
    let Some(key) = header.and_then(api_keys::key_in) else {
        return Ok(auth::actor_from_header(&app.store, header));
    };
    let (actor, touch) = api_keys::actor(&app.store, key)?;
    if let Some(id) = touch {
        let app = Arc::clone(app);
        tokio::spawn(async move { api_keys::touch(&app.store, id).await });
    }
    Ok(actor)
}

/// The step of `front::layer`: resolves `Authorization` and stores the
/// caller in the request; or the 401 (bad API key) or 403 (outside a
/// superuser's scope) to answer instead.
pub fn stamp(app: &Arc<App>, req: &mut Request) -> Option<Response> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let actor = match header.map(|h| resolve(app, Some(h))) {
        None => Actor::Guest,
        Some(Ok(actor)) => actor,
        Some(Err(e)) => return Some(ApiError::from(e).into_response()),
    };
    let uri = req.uri();
    let within = in_scope(
        app,
        &actor,
        req.method().as_str(),
        uri.path(),
        uri.query().unwrap_or_default(),
    );
    if let Err(e) = within {
        return Some(ApiError::from(e).into_response());
    }
    req.extensions_mut().insert(Resolved(actor));
    None
}

/// Refuses a scoped superuser's request outside their scope with 403
/// (`service::access::scopes`); everyone else passes. The dashboard's own
/// routes (`/_/`) carry no `Authorization` and check the scope themselves.
pub fn in_scope(
    app: &Arc<App>,
    actor: &Actor,
    method: &str,
    path: &str,
    query: &str,
) -> Result<(), Error> {
    let Actor::Superuser(id) = actor else {
        return Ok(());
    };
    match scopes::of(&app.store, id.id())? {
        Some(scope) if !scope.allows_api(&app.store.schema(), method, path, query) => {
            Err(Error::Forbidden(SCOPE_REFUSED))
        }
        _ => Ok(()),
    }
}

/// The message of a request outside a superuser's scope.
pub const SCOPE_REFUSED: &str = "Your superuser scope does not include this request.";

/// The caller of a request: what [`stamp`] resolved, or (for a request that
/// did not pass through it) the same resolution done now.
pub fn of(app: &Arc<App>, parts: &axum::http::request::Parts) -> Result<Actor, Error> {
    if let Some(Resolved(actor)) = parts.extensions.get::<Resolved>() {
        return Ok(actor.clone());
    }
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    resolve(app, header)
}
