//! Operations wiring (app layer): the built-in cron jobs and the
//! background parts of request logging and backups, started once per
//! served `App`.
//!
//! Jobs hold a `Weak<App>`: the scheduler lives inside the `App`, so a
//! strong handle would keep it alive forever. A job that finds the app
//! gone does nothing.

use std::sync::{Arc, Weak};

use crate::app::App;
use crate::schema::datetime;
use crate::service::cron::JobResult;

/// PocketBase's ids for the jobs it also has; Cairn's own are `__cairn*`.
pub const DB_OPTIMIZE: &str = "__pbDBOptimize__";
pub const LOGS_CLEANUP: &str = "__pbLogsCleanup__";
pub const CHANGES_TRIM: &str = "__cairnChangeLogTrim__";

/// Registers `f(app)` as job `id` on `expr`.
pub fn add_job<F, Fut>(app: &Arc<App>, id: &str, expr: &str, f: F)
where
    F: Fn(Arc<App>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = JobResult> + Send + 'static,
{
    let weak: Weak<App> = Arc::downgrade(app);
    let f = Arc::new(f);
    let res = app.cron.add(id, expr, move || {
        let (weak, f) = (weak.clone(), Arc::clone(&f));
        async move {
            match weak.upgrade() {
                Some(app) => f(app).await,
                None => Ok(()),
            }
        }
    });
    if let Err(e) = res {
        tracing::error!(job = id, error = %e, "built-in cron job not registered");
    }
}

/// Registers the built-in jobs.
pub fn register_builtin_jobs(app: &Arc<App>) {
    add_job(app, DB_OPTIMIZE, "0 0 * * *", |app| async move {
        app.store
            .write(|ctx| {
                ctx.conn
                    .execute_batch("PRAGMA optimize;")
                    .map_err(crate::store::StoreError::Sqlite)
            })
            .await
            .map_err(|e: crate::store::StoreError| e.to_string())
    });
    add_job(app, LOGS_CLEANUP, "0 */6 * * *", |app| async move {
        let s = crate::service::logs::LogSettings::from_settings(&app.settings());
        let days = s.max_days;
        tokio::task::spawn_blocking(move || crate::service::logs::cleanup(&app.logs, days))
            .await
            .map_err(|e| e.to_string())?
            .map(|n| tracing::debug!(deleted = n, "old request logs deleted"))
            .map_err(|e| format!("{e:?}"))
    });
    add_job(app, CHANGES_TRIM, "*/10 * * * *", |app| async move {
        let hours = app.config.changes_retention_hours as i64;
        let rows = app.config.changes_retention_rows as i64;
        let before =
            datetime::format(time::OffsetDateTime::now_utc() - time::Duration::hours(hours));
        app.store
            .write(move |ctx| crate::store::changes::trim(ctx.conn, &before, rows))
            .await
            .map(|_| ())
            .map_err(|e: crate::store::StoreError| e.to_string())
    });
}

/// Starts the scheduler's ticks; returns the task to abort on shutdown.
pub fn start(app: &Arc<App>) -> tokio::task::JoinHandle<()> {
    register_builtin_jobs(app);
    app.cron.start(std::future::pending())
}
