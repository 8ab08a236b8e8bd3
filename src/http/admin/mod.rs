//! The dashboard at `/_/`: server-rendered pages (minijinja templates in
//! `admin-ui/templates`, small ES modules in `admin-ui/static`) over a
//! cookie session. Pages call the same services as `/api/*`, so the two
//! cannot drift; the session cookie is scoped to `/_/` and `/api/*` never
//! reads it.
//!
//! Layout: `session.rs` (store, `Admin` extractor, CSRF layer), `view.rs`
//! (templates, headers), `login.rs` (sign-in, MFA, first superuser),
//! `links.rs` (the public email-link pages), `account.rs` (a superuser's
//! own password), `collections.rs` and `fields.rs` (schema editor), `records.rs`, `record_count.rs`,
//! `preview.rs` and `record_form.rs` (records), `settings.rs`, `storage.rs` (file storage and backup
//! settings with the S3 test). Operations pages: `logs.rs`, `backups.rs`,
//! `crons.rs`, `health.rs`, `sql.rs`, `webhooks.rs` and `webhook_log.rs`.

mod account;
mod auth_actions;
mod auth_config;
mod auth_options;
mod backups;
mod collections;
mod collections_io;
mod crons;
mod csv_import;
mod fields;
mod health;
mod links;
mod login;
mod logs;
mod multipart;
mod oauth2_map;
mod preview;
mod record_count;
mod record_files;
mod record_form;
mod records;
mod relation_picker;
mod session;
mod settings;
mod shell;
mod sql;
mod storage;
mod view;
mod webhook_log;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::App;

pub use login::{install_token, print_install_link};

#[derive(rust_embed::RustEmbed)]
#[folder = "admin-ui/static/"]
struct Static;

/// The dashboard's route table: `router` serves it, `table` lists it (a
/// test walks every route as a scoped superuser).
fn pages() -> crate::http::Routes {
    crate::http::Routes::default()
        .route("/_/", get(shell::home))
        .route("/_/login", get(login::page).post(login::submit))
        .route("/_/login/mfa", get(login::mfa_page).post(login::mfa_submit))
        .route("/_/logout", post(login::logout))
        .route("/_/account", get(account::page).post(account::submit))
        .route(
            "/_/install",
            get(login::install_page).post(login::install_submit),
        )
        // Public email-link pages (no session needed)
        .route(
            "/_/auth/confirm-password-reset/{token}",
            get(links::reset_page).post(links::reset_submit),
        )
        .route(
            "/_/auth/confirm-verification/{token}",
            get(links::verify_page).post(links::verify_submit),
        )
        .route(
            "/_/auth/confirm-email-change/{token}",
            get(links::email_page).post(links::email_submit),
        )
        .route("/_/auth/{outcome}", get(links::oauth2_page))
        // Collections
        .route("/_/collections", get(collections::overview))
        .route(
            "/_/collections/new",
            get(collections::new_page).post(collections::new_submit),
        )
        .route(
            "/_/collections/{name}/edit",
            get(collections::edit_page).post(collections::edit_submit),
        )
        .route("/_/collections/{name}/delete", post(collections::delete))
        .route(
            "/_/collections/{name}/auth-config",
            get(auth_config::page).post(auth_config::submit),
        )
        .route(
            "/_/collections/{name}/truncate",
            post(collections::truncate),
        )
        .route("/_/export-collections", get(collections_io::export))
        .route(
            "/_/import-collections",
            get(collections_io::import_page).post(collections_io::import_submit),
        )
        // Records
        .route("/_/collections/{name}", get(records::list))
        .route("/_/collections/{name}/live", get(records::live))
        .route("/_/collections/{name}/count", get(record_count::count))
        .route("/_/collections/{name}/pick", get(relation_picker::search))
        .route("/_/collections/{name}/export", get(records::export))
        .route(
            "/_/collections/{name}/import-csv",
            get(csv_import::page).post(csv_import::submit),
        )
        .route(
            "/_/collections/{name}/records/delete",
            post(records::bulk_delete),
        )
        .route(
            "/_/collections/{name}/records/{id}",
            get(record_form::page).post(record_form::submit),
        )
        .route(
            "/_/collections/{name}/records/{id}/impersonate",
            post(auth_actions::impersonate),
        )
        .route(
            "/_/collections/{name}/records/{id}/send-verification",
            post(auth_actions::send_verification),
        )
        .route(
            "/_/collections/{name}/records/{id}/reset-tokens",
            post(auth_actions::reset_tokens),
        )
        // Settings
        .route("/_/settings", get(settings::page).post(settings::submit))
        .route(
            "/_/settings/storage",
            get(storage::files_page).post(storage::files_submit),
        )
        .route(
            "/_/backups/settings",
            get(storage::backups_page).post(storage::backups_submit),
        )
        // Operations
        .route("/_/logs", get(logs::list))
        .route("/_/logs/{id}", get(logs::detail))
        .route("/_/crons", get(crons::page))
        .route("/_/crons/{id}/run", post(crons::run))
        .route("/_/health", get(health::page))
        .route("/_/sql", get(sql::page).post(sql::run))
        .route("/_/sql/csv", post(sql::csv))
        .route("/_/backups", get(backups::page).post(backups::create))
        .route("/_/backups/{key}/delete", post(backups::delete))
        .route("/_/backups/{key}/download", get(backups::download))
        .route(
            "/_/backups/{key}/restore",
            get(backups::restore_page).post(backups::restore),
        )
        .route(
            "/_/backups/upload",
            post(backups::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::http::backups::MAX_UPLOAD,
            )),
        )
        .route("/_/webhooks", get(webhooks::list))
        .route(
            "/_/webhooks/new",
            get(webhooks::new_page).post(webhooks::create),
        )
        .route("/_/webhooks/{id}", get(webhooks::detail))
        .route(
            "/_/webhooks/{id}/edit",
            get(webhooks::edit_page).post(webhooks::update),
        )
        .route("/_/webhooks/{id}/state", post(webhooks::set_state))
        .route("/_/webhooks/{id}/delete", post(webhooks::delete))
        .route("/_/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/_/webhooks/{id}/test", post(webhook_log::test))
        .route("/_/webhooks/{id}/recover", post(webhook_log::recover))
        .route("/_/webhooks/{id}/replay", post(webhook_log::replay))
        .route(
            "/_/webhooks/{id}/deliveries/{delivery}/resend",
            post(webhook_log::resend),
        )
}

/// Every dashboard route: its path template and methods.
pub fn table() -> Vec<crate::http::Route> {
    pages().table
}

/// The dashboard's routes, with their session, CSRF and header layers.
pub fn router(app: Arc<App>) -> Router<Arc<App>> {
    let limits = session::Limits::get();
    let https = app
        .settings()
        .pointer("/meta/appURL")
        .and_then(|v| v.as_str())
        .is_some_and(|u| u.starts_with("https://"));
    let sessions = SessionManagerLayer::new(session::SqliteStore::new(Arc::clone(&app)))
        .with_name("cairn_admin")
        .with_path("/_/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(https)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(limits.idle)));
    let pages = pages()
        .router
        .route("/_/{*rest}", get(shell::not_found))
        .layer(axum::middleware::from_fn(session::csrf_layer))
        .layer(sessions);
    Router::new()
        .route("/_", get(|| async { Redirect::permanent("/_/") }))
        .route("/_/static/{*path}", get(asset))
        .merge(pages)
        .layer(axum::middleware::from_fn(view::headers))
}

/// Embedded static files; versioned by the binary, cached for an hour.
async fn asset(Path(path): Path<String>) -> Response {
    match Static::get(&path) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
            ],
            f.data.into_owned(),
        )
            .into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "File not found.").into_response(),
    }
}
