//! Health: a one-screen summary of the figures `GET /api/metrics` exports
//! (the same `ops::metrics_snapshot`), for a superuser without Prometheus.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::session::Admin;
use super::shell::{base, with};
use super::view;
use crate::app::App;

pub async fn page(State(app): State<Arc<App>>, admin: Admin) -> Response {
    let s = crate::ops::metrics_snapshot(&app);
    let mib = |b: i64| format!("{:.1} MiB", b as f64 / 1_048_576.0);
    let rows = json!([
        ["Memory in use (RSS)", mib(s.rss_bytes)],
        ["Open files", s.open_files],
        ["Write-ahead log size", mib(s.wal_bytes)],
        ["Writes queued", s.writer_queue],
        ["Realtime clients", s.realtime_clients],
        ["Request logs written", s.log_written],
        ["Request logs dropped", s.log_dropped],
        ["Backups succeeded", s.backups_ok],
        ["Backups failed", s.backups_failed],
        ["Restores", s.restores],
        ["Cron runs", s.cron_runs],
        ["Cron failures", s.cron_failures],
    ]);
    let ctx = with(
        base(&app, &admin, "/_/health", ""),
        json!({"title": "Health", "rows": rows, "version": env!("CARGO_PKG_VERSION")}),
    );
    view::render("health.html", ctx)
}
