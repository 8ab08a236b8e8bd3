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
use crate::service::Error;
use crate::service::cron::JobResult;
use serde_json::Value;

/// PocketBase's ids for the jobs it also has; Cairn's own are `__cairn*`.
pub const DB_OPTIMIZE: &str = "__pbDBOptimize__";
pub const LOGS_CLEANUP: &str = "__pbLogsCleanup__";
pub const CHANGES_TRIM: &str = "__cairnChangeLogTrim__";
pub const AUTO_BACKUP: &str = "__pbAutoBackup__";
pub const MFA_CLEANUP: &str = "__pbMFACleanup__";
pub const OTP_CLEANUP: &str = "__pbOTPCleanup__";
pub const FILES_SWEEP: &str = "__cairnFilesSweep__";

/// Deletes expired rows of `_otps`/`_mfas` (`table`), per auth collection
/// with its own `option.duration` (seconds, default `default_secs`).
async fn delete_expired(
    app: &App,
    table: &'static str,
    option: &'static str,
    default_secs: i64,
) -> JobResult {
    let now = time::OffsetDateTime::now_utc();
    let cuts: Vec<(String, String)> = app
        .store
        .schema()
        .collections
        .iter()
        .filter(|c| c.is_auth())
        .map(|c| {
            let secs = c
                .options
                .get(option)
                .and_then(|o| o.get("duration"))
                .and_then(Value::as_i64)
                .unwrap_or(default_secs);
            (
                c.id.clone(),
                datetime::format(now - time::Duration::seconds(secs)),
            )
        })
        .collect();
    app.store
        .write(move |ctx| {
            for (id, before) in &cuts {
                crate::store::expired::delete_before(ctx.conn, table, id, before)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await
        .map_err(|e| e.to_string())
}

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
            .write(|ctx| crate::store::maintenance::optimize(ctx.conn))
            .await
            .map_err(|e: crate::store::StoreError| e.to_string())
    });
    add_job(app, MFA_CLEANUP, "0 * * * *", |app| async move {
        delete_expired(&app, "_mfas", "mfa", 600).await
    });
    add_job(app, OTP_CLEANUP, "0 * * * *", |app| async move {
        delete_expired(&app, "_otps", "otp", 180).await
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
        // On PostgreSQL the realtime clients a dead node left go too.
        let pg = app.store.is_postgres();
        app.store
            .write(move |ctx| {
                crate::store::changes::trim(ctx.conn, &before, rows)?;
                match pg {
                    true => crate::store::realtime_clients::sweep(ctx.conn).map(|_| ()),
                    false => Ok(()),
                }
            })
            .await
            .map_err(|e: crate::store::StoreError| e.to_string())
    });
    let every = crate::service::files::cleanup::sweep_schedule(app.files.limits.sweep_every);
    add_job(app, FILES_SWEEP, &every, |app| async move {
        crate::service::files::cleanup::sweep(&app.store, &app.files).await
    });
}

/// Runs blocking work on the blocking pool with the app.
pub async fn blocking<R: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<R, Error> + Send + 'static,
) -> Result<R, Error> {
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

fn app_name(app: &App) -> String {
    app.settings()
        .pointer("/meta/appName")
        .and_then(Value::as_str)
        .unwrap_or("cairn")
        .to_owned()
}

/// Creates a backup (`None`: PocketBase's generated name).
pub async fn create_backup(app: &Arc<App>, name: Option<&str>) -> Result<String, Error> {
    let (name, app_name) = (name.map(str::to_owned), app_name(app));
    let name = blocking(app, move |app| {
        app.backups.check_new_name(name.as_deref(), &app_name)
    })
    .await?;
    write_backup(app, name).await
}

/// Writes backup `name`, already checked (or generated: the scheduled
/// backups' `@auto_pb_backup_` names are not valid API names).
async fn write_backup(app: &Arc<App>, name: String) -> Result<String, Error> {
    let n = name.clone();
    blocking(app, move |app| {
        app.backups.create(&app.store, &app.logs, &n)
    })
    .await?;
    Ok(name)
}

/// Restores backup `key` into the running app, then reloads what the app
/// caches: the schema snapshot (and with it the role cache), the settings
/// and the backup schedule. The change-log sequence never goes backwards,
/// so realtime keeps numbering events after what it already delivered.
pub async fn restore_backup(app: &Arc<App>, key: &str) -> Result<(), Error> {
    let seen = *app.store.changes().borrow();
    let k = key.to_owned();
    blocking(app, move |app| {
        app.backups.restore(&app.store, &app.logs, &k)
    })
    .await?;
    app.store
        .write(move |ctx| {
            ctx.schema_changed = true;
            crate::store::maintenance::keep_change_seq_above(ctx.conn, seen)
        })
        .await?;
    let settings = app.store.read(crate::store::settings::load)?;
    app.set_settings(settings);
    apply_backup_schedule(app);
    Ok(())
}

/// (Re)registers the scheduled backup job from `backups.cron` (removed
/// when empty); old scheduled backups beyond `cronMaxKeep` are deleted.
pub fn apply_backup_schedule(app: &Arc<App>) {
    let s = app.settings();
    configure_backups(app);
    let expr = s
        .pointer("/backups/cron")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if expr.is_empty() {
        app.cron.remove(AUTO_BACKUP);
        return;
    }
    add_job(app, AUTO_BACKUP, &expr, |app| async move {
        let keep = app
            .settings()
            .pointer("/backups/cronMaxKeep")
            .and_then(Value::as_u64)
            .unwrap_or(3) as usize;
        let name = crate::service::backups::generated_name(
            crate::service::backups::AUTO_PREFIX,
            &app_name(&app),
        );
        write_backup(&app, name)
            .await
            .map_err(|e| format!("{e:?}"))?;
        blocking(&app, move |app| app.backups.prune_auto(keep))
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    });
}

/// Points the backups at the `backups.s3` bucket, or the local directory.
fn configure_backups(app: &App) {
    let s = app.settings();
    let cfg = crate::service::files::s3::S3Settings::from_json(s.pointer("/backups/s3"));
    app.backups.configure(&cfg);
}

/// Starts the scheduler's ticks; returns the task to abort on shutdown.
pub fn start(app: &Arc<App>) -> tokio::task::JoinHandle<()> {
    register_builtin_jobs(app);
    // Several nodes on one PostgreSQL database: one runs the ticks.
    let leader = Arc::clone(app);
    app.cron.set_leader(move || leader.store.leads());
    // The files sweep also runs at start: orphans left by a crash go at once.
    app.cron.run_now(FILES_SWEEP);
    apply_backup_schedule(app);
    app.cron.start(std::future::pending())
}

/// `cairn backup create NAME` (`create = true`) / `cairn backup restore
/// NAME`; returns the exit code.
pub async fn backup_cli(app: &Arc<App>, (create, name): (bool, String)) -> i32 {
    configure_backups(app);
    let res = if create {
        create_backup(app, Some(&name))
            .await
            .map(|n| format!("Backup \"{n}\" created."))
    } else {
        restore_backup(app, &name)
            .await
            .map(|()| format!("Backup \"{name}\" restored."))
    };
    match res {
        Ok(msg) => {
            println!("{msg}");
            0
        }
        Err(e) => {
            let (_, message, data) = e.parts();
            if data.is_empty() {
                eprintln!("Error: {message}");
            } else {
                eprintln!("Error: {message} {}", Value::Object(data));
            }
            1
        }
    }
}

/// The scrape-time values for the metrics endpoint.
pub fn metrics_snapshot(app: &App) -> crate::service::metrics::Snapshot {
    use crate::service::metrics;
    use std::sync::atomic::Ordering::Relaxed;
    let wal = format!("{}-wal", app.store.path().display());
    app.webhooks.metrics.refresh(&app.store);
    metrics::Snapshot {
        writer_queue: app.store.writer_stats().queued.load(Relaxed),
        wal_bytes: std::fs::metadata(wal).map_or(0, |m| m.len() as i64),
        realtime_clients: app.broker.len() as i64,
        realtime_queued: app.broker.queued() as i64,
        log_dropped: app.logs.counters.dropped.load(Relaxed),
        log_written: app.logs.counters.written.load(Relaxed),
        backups_ok: app.backups.stats.ok.load(Relaxed),
        backups_failed: app.backups.stats.failed.load(Relaxed),
        restores: app.backups.stats.restores.load(Relaxed),
        cron_runs: app.cron.stats.runs.load(Relaxed),
        cron_failures: app.cron.stats.failures.load(Relaxed),
        rss_bytes: metrics::rss_bytes(),
        open_files: metrics::open_files(),
        feed_horizon_age: app
            .store
            .read(crate::store::changes::horizon_age)
            .unwrap_or(0.0),
    }
}

/// Free disk space below which health reports `lowDisk`.
pub const LOW_DISK_BYTES: u64 = 512 << 20;

/// Readiness detail for superusers in `/api/health`: the writer commits
/// (an empty write job within 2 s) and the data directory's free space.
pub async fn readiness(app: &App) -> Value {
    let probe = app.store.write(|_| Ok::<_, crate::store::StoreError>(()));
    let writer = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), probe).await,
        Ok(Ok(()))
    );
    let free = fs4::available_space(&app.config.dir).ok();
    serde_json::json!({
        "writer": writer,
        "diskFreeBytes": free,
        "lowDisk": free.is_some_and(|f| f < LOW_DISK_BYTES),
        "logQueueDropped": app.logs.dropped(),
    })
}
