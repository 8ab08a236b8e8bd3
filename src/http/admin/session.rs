//! Dashboard sessions: a tower-sessions `SessionStore` over the project's
//! one SQLite database (`store/sessions.rs`), and the `Admin` extractor
//! that every signed-in page takes.
//!
//! Why a session and not a token: the dashboard's cookie is `HttpOnly`,
//! scoped to `/_/` and never read by `/api/*`, so no script can steal a
//! credential and the public API (which has no CSRF defence) cannot be
//! driven by a cross-site form. The session stores the superuser's id and
//! a digest of their `tokenKey`: a password change, "reset tokens" or the
//! superuser's deletion changes or removes it and ends the session on its
//! next request, the way PocketBase's tokens die.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tower_sessions::Session;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::app::App;
use crate::schema::system::SUPERUSERS;
use crate::service::Identity;
use crate::service::access::scopes::{self, Scope};
use crate::store::{StoreError, records, sessions};

/// Session keys.
pub const K_USER: &str = "su";
pub const K_KEY: &str = "tk";
pub const K_CSRF: &str = "csrf";
pub const K_BORN: &str = "born";
pub const K_SEEN: &str = "seen";
/// A pending MFA sign-in: `{mfaId, email}`.
pub const K_MFA: &str = "mfa";

/// How often (seconds) a request refreshes the idle clock in the store.
const TOUCH_EVERY: i64 = 30;

/// Session lifetimes, from the environment (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub idle: i64,
    pub absolute: i64,
}

impl Limits {
    /// The process's limits (read once).
    pub fn get() -> Limits {
        static L: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
        *L.get_or_init(Limits::from_env)
    }

    /// `CAIRN_ADMIN_IDLE_SECS` (default one day, the `_superusers` auth-token
    /// duration) and `CAIRN_ADMIN_MAX_SECS` (default seven days).
    pub fn from_env() -> Self {
        let secs = |k: &str, d: i64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(d)
        };
        Self {
            idle: secs("CAIRN_ADMIN_IDLE_SECS", 86_400),
            absolute: secs("CAIRN_ADMIN_MAX_SECS", 7 * 86_400),
        }
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The SQLite session store.
#[derive(Clone)]
pub struct SqliteStore {
    app: Arc<App>,
    ready: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

impl SqliteStore {
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            ready: Arc::new(OnceCell::new()),
        }
    }

    async fn ensure(&self) -> session_store::Result<()> {
        self.ready
            .get_or_try_init(|| async {
                self.app
                    .store
                    .write(|ctx| sessions::ensure(ctx.conn))
                    .await
                    .map_err(backend)
            })
            .await
            .map(|_| ())
    }
}

fn encode(r: &Record) -> session_store::Result<(String, String, i64)> {
    let data =
        serde_json::to_string(&r.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok((r.id.to_string(), data, r.expiry_date.unix_timestamp()))
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, r: &mut Record) -> session_store::Result<()> {
        self.ensure().await?;
        loop {
            let (id, data, exp) = encode(r)?;
            let fresh = self
                .app
                .store
                .write(move |ctx| {
                    // Expired rows go when new ones come: bounded, no timer.
                    sessions::delete_expired(ctx.conn, now())?;
                    sessions::insert(ctx.conn, &id, &data, exp)
                })
                .await
                .map_err(|e: StoreError| backend(e))?;
            if fresh {
                return Ok(());
            }
            r.id = Id::default();
        }
    }

    async fn save(&self, r: &Record) -> session_store::Result<()> {
        self.ensure().await?;
        let (id, data, exp) = encode(r)?;
        self.app
            .store
            .write(move |ctx| sessions::upsert(ctx.conn, &id, &data, exp))
            .await
            .map_err(|e: StoreError| backend(e))
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.ensure().await?;
        let key = id.to_string();
        let found = self
            .app
            .store
            .read(|conn| sessions::load(conn, &key, now()))
            .map_err(backend)?;
        let Some((data, expires)) = found else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires).map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.ensure().await?;
        let key = id.to_string();
        self.app
            .store
            .write(move |ctx| sessions::delete(ctx.conn, &key))
            .await
            .map_err(|e: StoreError| backend(e))
    }
}

/// A digest of a record's `tokenKey`: the session keeps this, not the key.
pub fn key_digest(rec: &serde_json::Map<String, Value>) -> String {
    let key = rec
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let d = Sha256::digest(key.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random token (CSRF tokens, install tokens).
pub fn random_token() -> String {
    crate::schema::names::random_secret(40)
}

/// Starts a signed-in session for a superuser: a new session id (no
/// fixation), a new CSRF token, the clocks.
pub async fn sign_in(
    session: &Session,
    id: &Identity,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.remove_value(K_MFA).await?;
    session.insert(K_USER, id.id()).await?;
    session.insert(K_KEY, key_digest(&id.record)).await?;
    session.insert(K_CSRF, random_token()).await?;
    session.insert(K_BORN, now()).await?;
    session.insert(K_SEEN, now()).await?;
    Ok(())
}

/// The CSRF token of a session, created on first use (sign-in forms need
/// one before anyone is signed in).
pub async fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(K_CSRF).await {
        return t;
    }
    let t = random_token();
    let _ = session.insert(K_CSRF, &t).await;
    t
}

/// Whether a request is a script's (fetch) rather than a navigation.
fn is_partial(h: &HeaderMap) -> bool {
    h.contains_key("hx-request") || h.get("x-requested-with").is_some()
}

/// What a signed-out request gets: a 303 to the sign-in page for a
/// navigation, a 401 with `HX-Redirect` for a script's request (never a
/// sign-in form swapped into a fragment).
pub fn to_login(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/_/");
    // A form posted after expiry returns to the page it was posted from
    // (the record editor, whose draft is then offered back).
    let next = if parts.method == Method::GET {
        next.to_owned()
    } else {
        referer_page(&parts.headers).unwrap_or_else(|| "/_/".to_owned())
    };
    let to = format!("/_/login?next={}", super::view::urlencode(&next));
    if is_partial(&parts.headers) {
        (
            StatusCode::UNAUTHORIZED,
            [("hx-redirect", to)],
            "Signed out",
        )
            .into_response()
    } else {
        Redirect::to(&to).into_response()
    }
}

/// The dashboard page a request came from, when `Referer` names this host
/// (the sign-in page still checks `next` before following it).
fn referer_page(h: &HeaderMap) -> Option<String> {
    let referer = h.get(header::REFERER)?.to_str().ok()?;
    let host = h.get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    (path.starts_with("/_/") && !path.starts_with("/_/login")).then(|| path.to_owned())
}

/// A signed-in superuser with a live session, and their scope when they
/// are a scoped superuser (`service::access::scopes`).
pub struct Admin {
    pub id: Identity,
    pub csrf: String,
    pub scope: Option<Scope>,
}

pub struct Rejection(pub Response);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.0
    }
}

async fn end(session: &Session, parts: &Parts) -> Rejection {
    let _ = session.flush().await;
    Rejection(to_login(parts))
}

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Rejection> {
        let Some(session) = parts.extensions.get::<Session>().cloned() else {
            return Err(Rejection(StatusCode::INTERNAL_SERVER_ERROR.into_response()));
        };
        let user: Option<String> = session.get(K_USER).await.ok().flatten();
        let Some(user) = user else {
            return Err(Rejection(to_login(parts)));
        };
        let limits = Limits::get();
        let t = now();
        let born: i64 = session.get(K_BORN).await.ok().flatten().unwrap_or(0);
        let seen: i64 = session.get(K_SEEN).await.ok().flatten().unwrap_or(0);
        if t - born > limits.absolute || t - seen > limits.idle {
            return Err(end(&session, parts).await);
        }
        let Some(c) = app.store.schema().get(SUPERUSERS) else {
            return Err(end(&session, parts).await);
        };
        let rec = app
            .store
            .read(|conn| records::get(conn, &c, &user))
            .ok()
            .flatten();
        let digest: Option<String> = session.get(K_KEY).await.ok().flatten();
        let Some(rec) = rec.filter(|r| {
            let now = key_digest(r);
            digest
                .as_deref()
                .is_some_and(|d| super::view::same(d, &now))
        }) else {
            return Err(end(&session, parts).await);
        };
        if t - seen >= TOUCH_EVERY.min(limits.idle / 4) {
            let _ = session.insert(K_SEEN, t).await;
        }
        let csrf = csrf_token(&session).await;
        let Ok(scope) = scopes::of(&app.store, &user) else {
            return Err(Rejection(StatusCode::INTERNAL_SERVER_ERROR.into_response()));
        };
        let admin = Admin {
            id: Identity {
                collection: c,
                record: rec.into(),
            },
            csrf,
            scope,
        };
        // A scoped superuser reaches only the routes of their scope; the
        // template comes from the route table, so a new route is refused
        // until `Scope::allows_dashboard` lists it.
        if let Some(scope) = &admin.scope {
            let template = parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or_default();
            let (path, query) = (parts.uri.path(), parts.uri.query().unwrap_or_default());
            if !scope.allows_dashboard(&app.store.schema(), template, path, query) {
                return Err(Rejection(super::shell::out_of_scope(app, &admin)));
            }
        }
        Ok(admin)
    }
}

/// Unsafe methods must come from this origin (Fetch metadata and Origin).
pub fn same_origin(method: &Method, h: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if !matches!(site, None | Some("same-origin") | Some("none")) {
        return false;
    }
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let tail = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        return !host.is_empty() && tail == host;
    }
    true
}

/// Every unsafe request under `/_/` passes here first: same origin, and the
/// session's CSRF token in `x-csrf-token` or the form field `_csrf`. One
/// check for every handler, so no form can forget it.
pub async fn csrf_layer(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = req.into_parts();
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next
            .run(axum::extract::Request::from_parts(parts, body))
            .await;
    }
    if !same_origin(&parts.method, &parts.headers) {
        return forbidden();
    }
    let Some(session) = parts.extensions.get::<Session>().cloned() else {
        return forbidden();
    };
    let expected: Option<String> = session.get(K_CSRF).await.ok().flatten();
    let Some(expected) = expected else {
        // No session (expired or never signed in): back to sign-in.
        return to_login(&parts);
    };
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (token, body) = match header_token {
        Some(t) => (t, body),
        None if super::multipart::is_multipart(ct) => super::multipart::csrf_field(ct, body).await,
        None => {
            let Ok(bytes) = axum::body::to_bytes(body, crate::http::extract::MAX_BODY).await else {
                return forbidden();
            };
            let t = crate::urlencoded::pairs(&bytes)
                .into_iter()
                .find(|(k, _)| k == "_csrf")
                .map(|(_, v)| v)
                .unwrap_or_default();
            (t, axum::body::Body::from(bytes))
        }
    };
    if !super::view::same(&token, &expected) {
        return forbidden();
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

pub fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Forbidden: the request did not come from this dashboard (CSRF check).",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(referer: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::REFERER, referer.parse().unwrap());
        h.insert(header::HOST, host.parse().unwrap());
        h
    }

    #[test]
    fn a_post_after_expiry_returns_to_the_dashboard_page_it_came_from() {
        let h = headers(
            "http://127.0.0.1:8090/_/collections/n/records/abc?x=1",
            "127.0.0.1:8090",
        );
        assert_eq!(
            referer_page(&h).as_deref(),
            Some("/_/collections/n/records/abc?x=1")
        );
        // Another host, a page outside the dashboard, or the sign-in page: no.
        for (r, host) in [
            ("http://evil.test/_/collections", "127.0.0.1:8090"),
            ("http://127.0.0.1:8090.evil.test/_/x", "127.0.0.1:8090"),
            ("http://127.0.0.1:8090/api/x", "127.0.0.1:8090"),
            ("http://127.0.0.1:8090/_/login?next=/_/x", "127.0.0.1:8090"),
            ("javascript:alert(1)", "127.0.0.1:8090"),
        ] {
            assert_eq!(referer_page(&headers(r, host)), None, "{r}");
        }
        assert_eq!(referer_page(&HeaderMap::new()), None);
    }
}
