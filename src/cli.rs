//! The command line, flag-compatible with `pocketbase`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::{self, App};
use crate::config::Config;
use crate::service::auth::{self, UpsertMode};

#[derive(Parser)]
#[command(
    name = "cairn",
    version = concat!("version ", env!("CARGO_PKG_VERSION")),
    about = "A PocketBase-compatible backend in one binary"
)]
pub struct Cli {
    /// Data directory (default ./cairn_data).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    /// PostgreSQL database URL (postgres://…); default: SQLite in the data directory.
    #[arg(long, global = true)]
    db: Option<String>,
    /// Configuration file (default ./config.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Directory of JS migrations (default pb_migrations beside the data directory).
    #[arg(long = "migrationsDir", global = true)]
    migrations_dir: Option<PathBuf>,
    /// Directory of JS hooks (default pb_hooks beside the data directory).
    #[arg(long = "hooksDir", global = true)]
    hooks_dir: Option<PathBuf>,
    /// Directory of Cairn-native plugins (default plugins beside the data directory).
    #[arg(long = "pluginsDir", global = true)]
    plugins_dir: Option<PathBuf>,
    /// Write a migration file for each collection change made through the API.
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    automigrate: Option<bool>,
    /// The environment variable whose 32-byte value encrypts stored secrets.
    #[arg(long = "encryptionEnv", global = true)]
    encryption_env: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts the web server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8090; port 0 picks a free one).
        #[arg(long)]
        http: Option<String>,
    },
    /// Applies or reverts JS migrations (pb_migrations).
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manages superusers.
    Superuser {
        #[command(subcommand)]
        action: SuperuserAction,
    },
    /// Creates or restores backups (in DATA/backups).
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Manages webhook endpoints' stored secrets.
    Webhooks {
        #[command(subcommand)]
        action: WebhooksAction,
    },
}

#[derive(Subcommand)]
enum WebhooksAction {
    /// Re-encrypts every stored signing secret with the --encryptionEnv key
    /// (none: stored plain), reading them with the --oldEncryptionEnv key
    /// (none: they were plain). Stop the server first.
    Rekey {
        /// The environment variable holding the key the secrets are sealed with now.
        #[arg(long = "oldEncryptionEnv")]
        old_encryption_env: Option<String>,
    },
}

#[derive(Subcommand)]
enum BackupAction {
    /// Creates a backup NAME.zip (a consistent snapshot; a server may be running).
    Create { name: String },
    /// Restores backup NAME into the data directory.
    Restore { name: String },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Applies every pending migration (in one transaction).
    Up,
    /// Reverts the last N applied migrations (default 1).
    Down { n: Option<usize> },
    /// Creates a blank migration file.
    Create { name: String },
    /// Writes a snapshot of every collection as a migration.
    Collections,
    /// Forgets applied migrations whose file no longer exists.
    HistorySync,
}

#[derive(Subcommand)]
enum SuperuserAction {
    /// Creates a superuser or updates its password.
    Upsert { email: String, password: String },
    /// Creates a new superuser.
    Create { email: String, password: String },
    /// Changes an existing superuser's password.
    Update { email: String, password: String },
    /// Deletes a superuser.
    Delete { email: String },
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if let Some(d) = cli.dir {
        config.dir = d;
    }
    if let Some(url) = cli.db {
        config.db.url = url;
    }
    if let Command::Serve { http: Some(h) } = &cli.command {
        config.http = h.clone();
    }
    config.migrations_dir = cli.migrations_dir.or(config.migrations_dir);
    config.hooks_dir = cli.hooks_dir.or(config.hooks_dir);
    config.plugins_dir = cli.plugins_dir.or(config.plugins_dir);
    if let Some(a) = cli.automigrate {
        config.automigrate = a;
    }
    if let Some(e) = cli.encryption_env {
        config.encryption_env = e;
    }
    if let Err(e) = config.sealer(|k| std::env::var(k).ok()) {
        eprintln!("Error: {e}");
        return 1;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if let Command::Migrate { action } = &cli.command {
        return migrate(&config, action);
    }
    // PocketBase applies pending migrations before serving: a failure
    // applies nothing and the server does not start.
    if matches!(cli.command, Command::Serve { .. })
        && let Err(e) = crate::plugins::migrations_of(&config).up()
    {
        eprintln!("Error: {e}");
        return 1;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let app = match App::open(config) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("Error: failed to open the data directory: {e}");
                return 1;
            }
        };
        let code = match cli.command {
            Command::Serve { .. } => match app::serve(std::sync::Arc::clone(&app)).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("Error: {e}");
                    1
                }
            },
            Command::Superuser { action } => superuser(&app, action).await,
            Command::Backup { action } => crate::ops::backup_cli(&app, action_parts(action)).await,
            Command::Webhooks { action } => webhooks(&app, action).await,
            Command::Migrate { .. } => 0,
        };
        app.store.shutdown();
        app.logs.shutdown();
        code
    })
}

fn action_parts(a: BackupAction) -> (bool, String) {
    match a {
        BackupAction::Create { name } => (true, name),
        BackupAction::Restore { name } => (false, name),
    }
}

fn migrate(config: &Config, action: &MigrateAction) -> i32 {
    let m = crate::plugins::migrations_of(config);
    let res = match action {
        MigrateAction::Up => m.up().map(|files| {
            if files.is_empty() {
                println!("No new migrations to apply.");
            }
            for f in files {
                println!("Applied {f}");
            }
        }),
        MigrateAction::Down { n } => m.down(n.unwrap_or(1)).map(|files| {
            for f in files {
                println!("Reverted {f}");
            }
        }),
        MigrateAction::Create { name } => m
            .create(name)
            .map(|p| println!("Successfully created file {:?}", p.display())),
        MigrateAction::Collections => m
            .snapshot()
            .map(|p| println!("Successfully created file {:?}", p.display())),
        MigrateAction::HistorySync => m
            .history_sync()
            .map(|n| println!("Removed {n} _migrations rows without a file.")),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

async fn webhooks(app: &App, action: WebhooksAction) -> i32 {
    let WebhooksAction::Rekey { old_encryption_env } = action;
    let name = old_encryption_env.unwrap_or_default();
    let old = match Config::sealer_named(&name, |k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let res = crate::service::webhooks::rekey::rekey(&app.webhooks, &app.store, old).await;
    report(res.map(|r| {
        let to = if app.webhooks.seal.has_key() {
            "sealed with the new key"
        } else {
            "stored plain (no --encryptionEnv key)"
        };
        format!(
            "Re-encrypted {} secrets of {} webhooks: {to}.",
            r.secrets, r.endpoints
        )
    }))
}

/// Prints the success message or the error; the exit code.
fn report(res: Result<String, crate::service::Error>) -> i32 {
    match res {
        Ok(what) => {
            println!("{what}");
            0
        }
        Err(e) => {
            let msg = match e {
                crate::service::Error::BadRequest(m, _) => m,
                crate::service::Error::NotFound(m)
                | crate::service::Error::Forbidden(m)
                | crate::service::Error::ForbiddenData(m, _)
                | crate::service::Error::Unauthorized(m) => m.to_owned(),
                crate::service::Error::Internal(m) => m,
                crate::service::Error::Raw(_, body) => serde_json::Value::Object(body).to_string(),
            };
            eprintln!("Error: {msg}");
            1
        }
    }
}

async fn superuser(app: &App, action: SuperuserAction) -> i32 {
    let (res, what) = match action {
        SuperuserAction::Upsert { email, password } => (
            auth::upsert_superuser(&app.store, &email, &password, UpsertMode::Upsert).await,
            format!("Successfully saved superuser \"{email}\"!"),
        ),
        SuperuserAction::Create { email, password } => (
            auth::upsert_superuser(&app.store, &email, &password, UpsertMode::Create).await,
            format!("Successfully saved superuser \"{email}\"!"),
        ),
        SuperuserAction::Update { email, password } => (
            auth::upsert_superuser(&app.store, &email, &password, UpsertMode::Update).await,
            format!("Successfully changed superuser \"{email}\" password!"),
        ),
        SuperuserAction::Delete { email } => (
            auth::delete_superuser(&app.store, &email).await,
            format!("Successfully deleted superuser \"{email}\"!"),
        ),
    };
    report(res.map(|()| what))
}
