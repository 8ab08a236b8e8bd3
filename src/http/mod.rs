//! The HTTP API: one route table, grouped by who calls it.

pub mod admin;
pub mod auth;
pub mod backups;
pub mod batch;
pub mod body;
pub mod collections;
pub mod console;
pub mod cors;
pub mod crons;
pub mod error;
pub mod extract;
pub mod files;
pub mod front;
pub mod identity;
pub mod json_out;
pub mod logs;
pub mod metrics;
pub mod multipart;
pub mod paths;
pub mod ratelimit;
pub mod realtime;
pub mod realtime_ws;
pub mod records;
pub mod request_log;
pub mod server;
pub mod system;
pub mod tus;
pub mod upload;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, post, put};

use crate::app::App;

/// The route table, readable top to bottom; `router` serves it and
/// `table` lists it (tests iterate every route through it).
fn routes() -> Routes {
    Routes::default()
        // Anyone
        .route("/api/health", get(system::health))
        // Records (rules decide)
        .route(
            "/api/collections/{collection}/records",
            get(records::list).post(records::create),
        )
        .route(
            "/api/collections/{collection}/records/{id}",
            get(records::view)
                .patch(records::update)
                .delete(records::delete),
        )
        .route("/api/batch", post(batch::batch))
        // Files (public, or by file token for protected fields)
        .route("/api/files/token", post(files::token))
        .route(
            "/api/files/{collection}/{record}/{filename}",
            get(files::serve),
        )
        // Resumable uploads (TUS), attached to records as "tus:<id>"
        .route("/api/tus", post(tus::create))
        .route(
            "/api/tus/{id}",
            axum::routing::head(tus::head)
                .patch(tus::patch)
                .delete(tus::delete),
        )
        // Realtime (SSE) and the OAuth2 popup flow's redirect
        .route(
            "/api/realtime",
            get(realtime::connect).post(realtime::subscribe),
        )
        .route("/api/realtime/ws", get(realtime_ws::upgrade))
        .route("/api/realtime/seq", get(realtime::seq))
        .route(
            "/api/oauth2-redirect",
            get(realtime::oauth2_redirect).post(realtime::oauth2_redirect),
        )
        // Auth collections
        .route(
            "/api/collections/{collection}/auth-with-password",
            post(auth::with_password),
        )
        .route(
            "/api/collections/{collection}/auth-refresh",
            post(auth::refresh),
        )
        .route(
            "/api/collections/{collection}/auth-methods",
            get(auth::methods),
        )
        .route(
            "/api/collections/{collection}/auth-with-otp",
            post(auth::with_otp),
        )
        .route(
            "/api/collections/{collection}/request-otp",
            post(auth::request_otp),
        )
        .route(
            "/api/collections/{collection}/auth-with-oauth2",
            post(auth::oauth2::with_oauth2),
        )
        .route(
            "/api/collections/{collection}/impersonate/{id}",
            post(auth::impersonate),
        )
        .route(
            "/api/collections/{collection}/request-verification",
            post(auth::flows::request_verification),
        )
        .route(
            "/api/collections/{collection}/confirm-verification",
            post(auth::flows::confirm_verification),
        )
        .route(
            "/api/collections/{collection}/request-password-reset",
            post(auth::flows::request_password_reset),
        )
        .route(
            "/api/collections/{collection}/confirm-password-reset",
            post(auth::flows::confirm_password_reset),
        )
        .route(
            "/api/collections/{collection}/request-email-change",
            post(auth::flows::request_email_change),
        )
        .route(
            "/api/collections/{collection}/confirm-email-change",
            post(auth::flows::confirm_email_change),
        )
        // Authenticator apps (Cairn extension)
        .route(
            "/api/collections/{collection}/totp-setup",
            post(auth::totp::setup),
        )
        .route(
            "/api/collections/{collection}/totp-confirm",
            post(auth::totp::confirm),
        )
        .route(
            "/api/collections/{collection}/totp-disable",
            post(auth::totp::disable),
        )
        .route(
            "/api/collections/{collection}/auth-with-totp",
            post(auth::totp::with_totp),
        )
        // Superusers: schema and settings
        .route(
            "/api/collections",
            get(collections::list).post(collections::create),
        )
        .route("/api/collections/import", put(collections::import))
        .route(
            "/api/collections/meta/scaffolds",
            get(collections::scaffolds),
        )
        .route(
            "/api/collections/{collection}",
            get(collections::view)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/api/collections/{collection}/truncate",
            delete(collections::truncate),
        )
        .route(
            "/api/settings",
            get(system::get_settings).patch(system::patch_settings),
        )
        // Superusers: operations
        .route("/api/crons", get(crons::list))
        .route("/api/crons/{id}", post(crons::run))
        .route("/api/backups", get(backups::list).post(backups::create))
        .route(
            "/api/backups/upload",
            post(backups::upload).layer(DefaultBodyLimit::max(backups::MAX_UPLOAD)),
        )
        .route(
            "/api/backups/{key}",
            get(backups::download).delete(backups::delete),
        )
        .route("/api/backups/{key}/restore", post(backups::restore))
        .route("/api/metrics", get(metrics::metrics))
        .route("/api/sql", post(console::run))
        .route("/api/logs", get(logs::list))
        .route("/api/logs/stats", get(logs::stats))
        .route("/api/logs/{id}", get(logs::view))
        .route("/api/settings/test/s3", post(files::test_s3))
        // Superusers: webhook endpoints and the delivery log (docs/webhooks.md)
        .route("/api/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/api/webhooks/deliveries", get(webhooks::deliveries))
        .route("/api/webhooks/deliveries/{id}", get(webhooks::delivery))
        .route(
            "/api/webhooks/deliveries/{id}/resend",
            post(webhooks::resend),
        )
        .route(
            "/api/webhooks/{id}",
            get(webhooks::view)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/api/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/api/webhooks/{id}/test", post(webhooks::test))
        .route("/api/webhooks/{id}/replay", post(webhooks::replay))
        .route("/api/webhooks/{id}/recover", post(webhooks::recover))
        .method_not_allowed_fallback(system::wrong_method)
        .fallback(system::fallback)
}

/// Every path in the route table, in order (`{param}` placeholders kept).
pub fn route_paths() -> Vec<&'static str> {
    routes().table.iter().map(|r| r.path).collect()
}

/// Every route: its path (`{param}` placeholders kept) and methods.
pub fn table() -> Vec<Route> {
    routes().table
}

/// Builds the whole route table.
///
/// The middleware goes on as one layer made of the whole stack: every
/// `Router::layer` call boxes each route anew, and a request clones its
/// route, so with one call per middleware a request cloned (and allocated)
/// each level again inside every outer one. It stays on the routes (not
/// around the router) because the request log reads the matched route.
pub fn router(app: Arc<App>) -> Router {
    // The dashboard (`/_/`) has its own session and CSRF layers.
    let api = routes().router.merge(admin::router(Arc::clone(&app)));
    // `front` says why there is one middleware.
    let stack = tower::ServiceBuilder::new()
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(from_fn_with_state(Arc::clone(&app), front::layer));
    api.layer(stack).with_state(app)
}

/// One row of the route table.
#[derive(Debug, Clone)]
pub struct Route {
    pub path: &'static str,
    /// Upper-case method names (`GET` implies `HEAD`, not listed).
    pub methods: Vec<&'static str>,
}

/// A `Router` that remembers the routes it was given (the dashboard's
/// table is built with it too).
#[derive(Default)]
pub(crate) struct Routes {
    pub(crate) router: Router<Arc<App>>,
    pub(crate) table: Vec<Route>,
}

impl Routes {
    pub(crate) fn route(mut self, path: &'static str, method: MethodRouter<Arc<App>>) -> Self {
        // axum exposes a method router's methods only through `Debug`
        // (`post: None` for a method it does not answer).
        let shown = format!("{method:?}");
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .into_iter()
            .filter(|m| !shown.contains(&format!("{}: None", m.to_lowercase())))
            .collect();
        self.router = self.router.route(path, method);
        self.table.push(Route { path, methods });
        self
    }

    fn method_not_allowed_fallback<H, T>(mut self, handler: H) -> Self
    where
        H: axum::handler::Handler<T, Arc<App>>,
        T: 'static,
    {
        self.router = self.router.method_not_allowed_fallback(handler);
        self
    }

    fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: axum::handler::Handler<T, Arc<App>>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_lists_methods() {
        let t = super::table();
        let rec = t
            .iter()
            .find(|r| r.path == "/api/collections/{collection}/records/{id}")
            .unwrap();
        assert_eq!(rec.methods, ["GET", "PATCH", "DELETE"]);
        let batch = t.iter().find(|r| r.path == "/api/batch").unwrap();
        assert_eq!(batch.methods, ["POST"]);
        assert_eq!(super::route_paths().len(), t.len());
    }
}
