//! The HTTP API: one route table, grouped by who calls it.

pub mod admin;
pub mod auth;
pub mod batch;
pub mod collections;
pub mod error;
pub mod extract;
pub mod ratelimit;
pub mod realtime;
pub mod realtime_ws;
pub mod records;
pub mod system;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{delete, get, post, put};
use tower_http::cors::CorsLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::App;

/// Builds the whole route table.
pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
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
        // Dashboard
        .merge(admin::router(Arc::clone(&app)))
        .method_not_allowed_fallback(system::wrong_method)
        .fallback(system::fallback);

    let headers = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("x-xss-protection", "1; mode=block"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    let mut router = api
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            ratelimit::layer,
        ))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(CorsLayer::permissive());
    for (k, v) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(k),
            HeaderValue::from_static(v),
        ));
    }
    router.with_state(app)
}
