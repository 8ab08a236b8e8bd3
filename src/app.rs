//! The application: owns the store and configuration, serves HTTP, and
//! shuts down gracefully (in-flight requests finish, the writer drains, the
//! WAL is checkpointed).

use std::sync::Arc;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// Everything a request handler can reach.
pub struct App {
    pub config: Config,
    pub store: Store,
}

impl App {
    pub fn open(config: Config) -> Result<Arc<Self>, StoreError> {
        let store = Store::open(&config.dir)?;
        Ok(Arc::new(Self { config, store }))
    }
}

/// Binds, prints the real address and serves until SIGINT/SIGTERM.
pub async fn serve(app: Arc<App>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&app.config.http).await?;
    let addr = listener.local_addr()?;
    println!("Server started at http://{addr}");
    println!("├─ REST API:  http://{addr}/api/");
    println!("└─ Dashboard: http://{addr}/_/");
    serve_on(Arc::clone(&app), listener, shutdown_signal()).await?;
    app.store.shutdown();
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
    let router = crate::http::router(app);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
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
