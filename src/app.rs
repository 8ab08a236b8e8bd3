//! The application: owns the store and configuration, serves HTTP, and
//! shuts down gracefully (in-flight requests finish, the writer drains, the
//! WAL is checkpointed).

use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::config::Config;
use crate::http::ratelimit::Limiter;
use crate::store::{Store, StoreError, settings};

/// Everything a request handler can reach.
pub struct App {
    pub config: Config,
    pub store: Store,
    /// File storage, thumbs and clean-up.
    pub files: Arc<crate::service::files::Files>,
    /// The settings document, replaced whole after every saved change.
    settings: RwLock<Arc<Value>>,
    /// Held while settings are installed, and by the cluster follower from
    /// its read of the stored settings to their install: an older read can
    /// then never be installed over a newer local save.
    installing: std::sync::Mutex<()>,
    /// The request-log layer's view of the settings, replaced with them.
    log_config: RwLock<crate::http::request_log::LogConfig>,
    pub limiter: Limiter,
    /// Auth flows' resend and attempt counters.
    pub throttle: crate::service::auth::throttle::Throttle,
    /// Connected realtime clients.
    pub broker: crate::realtime::Broker,
    /// The last change the fan-out has delivered (or skipped).
    pub fanned_out: tokio::sync::watch::Sender<i64>,
    /// Commands for the realtime fan-out task (resumes).
    pub fanout: tokio::sync::mpsc::UnboundedSender<crate::realtime::fanout::Command>,
    /// Request logs (`auxiliary.db`, its own writer).
    pub logs: crate::store::logs::LogDb,
    /// Backups of the data directory (`DATA/backups`).
    pub backups: crate::service::backups::Backups,
    /// Prometheus metrics (`GET /api/metrics`).
    pub metrics: crate::service::metrics::Metrics,
    /// The one cron scheduler (built-in jobs, backups, plugins).
    pub cron: Arc<crate::service::cron::Scheduler>,
    /// Webhook endpoints, outbox hook and dispatcher state.
    pub webhooks: Arc<crate::service::webhooks::Webhooks>,
    fanout_rx: std::sync::Mutex<
        Option<tokio::sync::mpsc::UnboundedReceiver<crate::realtime::fanout::Command>>,
    >,
    /// Loaded `pb_hooks` (set once when serving starts, if the dir exists).
    pub hooks: std::sync::OnceLock<Arc<crate::plugins::hooks::Hooks>>,
    /// Loaded Cairn-native `plugins/` (set once when serving starts).
    pub plugins: std::sync::OnceLock<Arc<crate::plugins::native::Plugins>>,
}

impl App {
    pub fn open(config: Config) -> Result<Arc<Self>, StoreError> {
        let store = match config.db.postgres_url() {
            Some(url) => Store::open_postgres(url, &config.dir)?,
            None if config.db.url.trim().is_empty() => Store::open(&config.dir)?,
            None => {
                return Err(StoreError::Corrupt(
                    "db.url must start with postgres:// or postgresql://".into(),
                ));
            }
        };
        let logs = crate::store::logs::LogDb::open(&config.dir)?;
        let backups = crate::service::backups::Backups::new(&config.dir);
        let stats = store.writer_stats();
        let metrics =
            crate::service::metrics::Metrics::new(stats.group_sizes.clone(), stats.reruns.clone());
        let files = crate::service::files::Files::open_local(&config.dir, config.file_limits())
            .map_err(StoreError::Io)?;
        let current = store.read(settings::load)?;
        files.configure(&current);
        let limiter = Limiter::new(&current);
        let (fanout, fanout_rx) = tokio::sync::mpsc::unbounded_channel();
        let (fanned_out, _) = tokio::sync::watch::channel(0);
        let webhooks = crate::service::webhooks::Webhooks::open(
            &config.webhooks,
            config
                .sealer(|k| std::env::var(k).ok())
                .map_err(|e| StoreError::Corrupt(e.0))?,
            &store,
        )?;
        webhooks.metrics.register(&metrics);
        Ok(Arc::new(Self {
            config,
            store,
            files: Arc::new(files),
            log_config: RwLock::new(crate::http::request_log::LogConfig::from_settings(&current)),
            settings: RwLock::new(Arc::new(current)),
            installing: Default::default(),
            limiter,
            throttle: Default::default(),
            broker: Default::default(),
            fanned_out,
            fanout,
            cron: Default::default(),
            backups,
            metrics,
            logs,
            webhooks,
            fanout_rx: std::sync::Mutex::new(Some(fanout_rx)),
            hooks: Default::default(),
            plugins: Default::default(),
        }))
    }

    /// The current settings (secrets included: never send this to clients).
    pub fn settings(&self) -> Arc<Value> {
        self.settings
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default()
    }

    /// The settings the request-log layer reads on every request.
    pub fn log_config(&self) -> crate::http::request_log::LogConfig {
        self.log_config
            .read()
            .map(|g| *g)
            .unwrap_or_else(|_| crate::http::request_log::LogConfig::from_settings(&Value::Null))
    }

    /// Waits (briefly) until realtime subscribers have been handed every
    /// change committed so far, so a client that writes and then listens sees
    /// its own event first — PocketBase's ordering. Free when nobody is
    /// connected.
    pub async fn realtime_flush(&self) {
        if self.broker.is_empty() {
            return;
        }
        let target = match self.store.is_postgres() {
            false => *self.store.changes().borrow(),
            true => match self.store.read(crate::store::changes::flush_mark) {
                Ok(t) => t,
                Err(_) => return,
            },
        };
        let mut rx = self.fanned_out.subscribe();
        let wait = rx.wait_for(|done| *done >= target);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), wait).await;
    }

    /// Installs freshly saved settings.
    pub fn set_settings(&self, v: Value) {
        let _one = self.installing.lock();
        self.limiter.configure(&v);
        self.install_settings(v);
    }

    /// Loads the stored settings and installs them if another node changed
    /// them: as `set_settings`, but the rate-limit counters restart only if
    /// the limits changed (this node's own saves are in force already).
    fn follow_settings(&self) -> Result<(), crate::store::StoreError> {
        let _one = self.installing.lock();
        let v = self.store.read(crate::store::settings::load)?;
        if *self.settings() != v {
            self.limiter.follow(&v);
            self.install_settings(v);
        }
        Ok(())
    }

    fn install_settings(&self, v: Value) {
        self.files.configure(&v);
        if let Ok(mut g) = self.log_config.write() {
            *g = crate::http::request_log::LogConfig::from_settings(&v);
        }
        if let Ok(mut g) = self.settings.write() {
            *g = Arc::new(v);
        }
    }
}

impl AsRef<Store> for App {
    fn as_ref(&self) -> &Store {
        &self.store
    }
}

/// Binds, prints the real address and serves until SIGINT/SIGTERM.
pub async fn serve(app: Arc<App>) -> std::io::Result<()> {
    // Every realtime subscriber holds a socket: lift the soft open-file
    // limit to the hard one (Go, and so PocketBase, does the same).
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let listener = tokio::net::TcpListener::bind(&app.config.http).await?;
    let addr = listener.local_addr()?;
    println!("Server started at http://{addr}");
    println!("├─ REST API:  http://{addr}/api/");
    println!("└─ Dashboard: http://{addr}/_/");
    crate::http::admin::print_install_link(&app, addr);
    serve_on(Arc::clone(&app), listener, shutdown_signal()).await?;
    app.store.shutdown();
    app.logs.shutdown();
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Serves on an already bound listener until `shutdown` resolves (tests use
/// this with port 0).
pub async fn serve_on(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The realtime fan-out runs while the app serves (once per App).
    if let Some(rx) = app.fanout_rx.lock().ok().and_then(|mut g| g.take()) {
        crate::realtime::fanout::start(Arc::clone(&app), rx);
        crate::service::files::start_tasks(Arc::clone(&app), |a| &a.store, &app.files);
    }
    let limits = crate::http::server::Limits {
        header_timeout: std::time::Duration::from_secs(app.config.http_header_timeout_secs),
        idle_timeout: std::time::Duration::from_secs(app.config.http_idle_timeout_secs),
        max_connections: app.config.http_max_connections,
    };
    let closing = Arc::clone(&app);
    let shutdown = async move {
        shutdown.await;
        // Realtime streams never finish by themselves: end them.
        closing.broker.close_all();
    };
    if app.store.is_postgres() {
        tokio::spawn(follow_cluster(Arc::clone(&app)));
    }
    let ops = crate::ops::start(&app);
    crate::plugins::hooks::start(&app);
    crate::plugins::native::start(&app);
    app.webhooks.start(Arc::clone(&app));
    let router = crate::http::router(app);
    let served = crate::http::server::serve(listener, router, limits, shutdown).await;
    ops.abort();
    served
}

/// Several nodes on one PostgreSQL database: what another node changed in
/// the schema, the settings or the webhook endpoints is loaded here when
/// the change feed wakes (its commit notified this node, or the 250 ms
/// poll).
async fn follow_cluster(app: Arc<App>) {
    let mut wake = app.store.wakeups();
    while wake.changed().await.is_ok() {
        let followed = match app.store.follow_cluster() {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "reading what other nodes changed failed");
                continue;
            }
        };
        if followed.webhooks
            && let Err(e) = app.webhooks.reload(&app.store)
        {
            tracing::warn!(error = %e, "reloading webhook endpoints another node changed failed");
        }
        if followed.settings
            && let Err(e) = app.follow_settings()
        {
            tracing::warn!(error = %e, "reading what other nodes changed failed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
