//! Configuration: built-in defaults < `config.toml` < `CAIRN_*` environment
//! variables < command-line flags. `config.toml` at the repository root
//! documents every key with its default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Every setting, after layering.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub http: String,
    /// Data directory.
    pub dir: PathBuf,
    /// The database (`[db]`): SQLite in the data directory unless a
    /// PostgreSQL URL is given.
    pub db: DbConfig,
    /// Log filter (tracing's env-filter syntax).
    pub log: String,
    /// How long the change log keeps changes for resuming realtime
    /// clients (hours), and at most how many.
    pub changes_retention_hours: u64,
    pub changes_retention_rows: u64,
    /// Seconds a client has to send a request's headers, counted from when
    /// the server starts waiting for them (slow-header connections).
    pub http_header_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in progress
    /// (idle keep-alive); realtime streams are never idle.
    pub http_idle_timeout_secs: u64,
    /// Most connections open at once (also capped below the open-file
    /// limit); past it new connections get an immediate 503.
    pub http_max_connections: usize,
    /// The sendmail program mail goes to while SMTP is disabled ("" =
    /// PocketBase's lookup: /usr/sbin/sendmail, /usr/bin/sendmail, PATH).
    pub sendmail: String,
    /// A bearer token that may read `GET /api/metrics` besides superusers
    /// (empty: superusers only).
    pub metrics_token: String,
    /// Largest multipart record write accepted, all files together (bytes).
    pub files_max_body: u64,
    /// How often the orphan-file sweep runs (seconds).
    pub files_sweep_interval_secs: u64,
    /// How old an unreferenced stored file must be before the sweep
    /// deletes it (seconds).
    pub files_orphan_grace_secs: u64,
    /// How long an untouched resumable (TUS) upload is kept (seconds).
    pub files_tus_expiry_secs: u64,
    /// `pb_migrations` directory (default: beside the data directory).
    pub migrations_dir: Option<PathBuf>,
    /// `pb_hooks` directory (default: beside the data directory).
    pub hooks_dir: Option<PathBuf>,
    /// Cairn-native `plugins` directory (default: beside the data directory).
    pub plugins_dir: Option<PathBuf>,
    /// Write a migration file for every collection change made through the
    /// API (only when the migrations directory exists).
    pub automigrate: bool,
    /// Time budget of one JavaScript call (hooks, routes), in milliseconds.
    pub js_time_limit_ms: u64,
    /// Heap limit of each JavaScript engine, in MiB.
    pub js_memory_limit_mb: u64,
    /// Hosts `$http.send` may reach although they resolve to private or
    /// loopback addresses (comma-separated in `CAIRN_JS_ALLOWED_HOSTS`).
    pub js_allowed_hosts: Vec<String>,
    /// Webhook delivery (`[webhooks]`, `docs/webhooks.md`).
    pub webhooks: crate::service::webhooks::config::WebhooksConfig,
    /// The name of the environment variable holding the 32-byte key that
    /// encrypts stored secrets (PocketBase's `--encryptionEnv`; empty: none).
    pub encryption_env: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: "127.0.0.1:8090".into(),
            dir: PathBuf::from("cairn_data"),
            db: DbConfig::default(),
            log: "info".into(),
            changes_retention_hours: 24,
            changes_retention_rows: 100_000,
            http_header_timeout_secs: 60,
            http_idle_timeout_secs: 60,
            http_max_connections: 10_000,
            sendmail: String::new(),
            metrics_token: String::new(),
            files_max_body: 8 << 30,
            files_sweep_interval_secs: 3600,
            files_orphan_grace_secs: 3600,
            files_tus_expiry_secs: 86_400,
            migrations_dir: None,
            hooks_dir: None,
            plugins_dir: None,
            automigrate: true,
            js_time_limit_ms: 5_000,
            js_memory_limit_mb: 64,
            js_allowed_hosts: Vec::new(),
            webhooks: Default::default(),
            encryption_env: String::new(),
        }
    }
}

/// `[db]`: which store the server runs on.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    /// `postgres://user:password@host:port/database?sslmode=...`; empty:
    /// SQLite (`data.db` in the data directory).
    pub url: String,
}

impl DbConfig {
    /// The PostgreSQL URL, when one is configured.
    pub fn postgres_url(&self) -> Option<&str> {
        let url = self.url.trim();
        (url.starts_with("postgres://") || url.starts_with("postgresql://")).then_some(url)
    }
}

impl std::fmt::Debug for DbConfig {
    // The URL carries the database password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = if self.url.is_empty() {
            "sqlite"
        } else {
            "postgres"
        };
        f.debug_struct("DbConfig").field("engine", &engine).finish()
    }
}

/// Why configuration could not be loaded.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Loads `config.toml` (if present), then applies `CAIRN_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("config.toml"));
        let mut cfg = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Config>(&text)
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?,
            Err(_) if file.is_none() => Config::default(),
            Err(e) => return Err(ConfigError(format!("{}: {e}", path.display()))),
        };
        cfg.apply_env(|k| std::env::var(k).ok());
        Ok(cfg)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(v) = get("CAIRN_HTTP") {
            self.http = v;
        }
        if let Some(v) = get("CAIRN_DIR") {
            self.dir = PathBuf::from(v);
        }
        if let Some(v) = get("CAIRN_DB_URL") {
            self.db.url = v;
        }
        if let Some(v) = get("CAIRN_LOG") {
            self.log = v;
        }
        let num = |k: &str| get(k).and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(v) = num("CAIRN_CHANGES_RETENTION_HOURS") {
            self.changes_retention_hours = v;
        }
        if let Some(v) = num("CAIRN_CHANGES_RETENTION_ROWS") {
            self.changes_retention_rows = v;
        }
        if let Some(v) = num("CAIRN_HTTP_HEADER_TIMEOUT_SECS") {
            self.http_header_timeout_secs = v;
        }
        if let Some(v) = num("CAIRN_HTTP_IDLE_TIMEOUT_SECS") {
            self.http_idle_timeout_secs = v;
        }
        if let Some(v) = num("CAIRN_HTTP_MAX_CONNECTIONS") {
            self.http_max_connections = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = get("CAIRN_SENDMAIL") {
            self.sendmail = v;
        }
        if let Some(v) = get("CAIRN_METRICS_TOKEN") {
            self.metrics_token = v;
        }
        if let Some(v) = num("CAIRN_FILES_MAX_BODY") {
            self.files_max_body = v;
        }
        if let Some(v) = num("CAIRN_FILES_SWEEP_INTERVAL_SECS") {
            self.files_sweep_interval_secs = v.max(1);
        }
        if let Some(v) = num("CAIRN_FILES_ORPHAN_GRACE_SECS") {
            self.files_orphan_grace_secs = v;
        }
        if let Some(v) = num("CAIRN_FILES_TUS_EXPIRY_SECS") {
            self.files_tus_expiry_secs = v;
        }
        if let Some(v) = get("CAIRN_JS_ALLOWED_HOSTS") {
            self.js_allowed_hosts = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        if let Some(v) = get("CAIRN_JS_TIME_LIMIT_MS").and_then(|v| v.parse().ok()) {
            self.js_time_limit_ms = v;
        }
        if let Some(v) = get("CAIRN_ENCRYPTION_ENV") {
            self.encryption_env = v;
        }
        self.webhooks.apply_env(&get);
    }

    /// The sealer for stored secrets: keyed with the value of the variable
    /// `encryption_env` names, which must then be 32 bytes; no key when no
    /// variable is named or it is unset or empty (as in PocketBase).
    pub fn sealer(
        &self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<crate::service::webhooks::seal::Sealer, ConfigError> {
        Self::sealer_named(&self.encryption_env, get)
    }

    /// The sealer keyed with the variable `name` names, by the same rules
    /// (`cairn webhooks rekey --oldEncryptionEnv`).
    pub fn sealer_named(
        name: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<crate::service::webhooks::seal::Sealer, ConfigError> {
        use crate::service::webhooks::seal::Sealer;
        let name = name.trim();
        match get(name).filter(|v| !name.is_empty() && !v.is_empty()) {
            None => Ok(Sealer::default()),
            Some(v) => Sealer::new(v.as_bytes()).map_err(|e| ConfigError(format!("{name}: {e}"))),
        }
    }

    /// The files service's limits.
    pub fn file_limits(&self) -> crate::service::files::Limits {
        crate::service::files::Limits {
            max_body: self.files_max_body,
            sweep_every: std::time::Duration::from_secs(self.files_sweep_interval_secs.max(1)),
            orphan_grace: std::time::Duration::from_secs(self.files_orphan_grace_secs),
            tus_expiry: std::time::Duration::from_secs(self.files_tus_expiry_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_url_comes_from_the_environment_and_is_never_printed() {
        let mut c = Config::default();
        assert_eq!(c.db.postgres_url(), None);
        c.apply_env(|k| (k == "CAIRN_DB_URL").then(|| "postgres://u:hunter2@db/x".to_owned()));
        assert_eq!(c.db.postgres_url(), Some("postgres://u:hunter2@db/x"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("postgres"),
            "{shown}"
        );
    }

    #[test]
    fn encryption_key_comes_from_the_named_variable() {
        let mut c = Config::default();
        let env = |k: &str| match k {
            "MY_KEY" => Some("0123456789abcdef0123456789abcdef".to_owned()),
            "SHORT" => Some("tooshort".to_owned()),
            _ => None,
        };
        assert!(!c.sealer(env).expect("no name").has_key());
        c.apply_env(|k| (k == "CAIRN_ENCRYPTION_ENV").then(|| "MY_KEY".to_owned()));
        assert!(c.sealer(env).expect("key").has_key());
        c.encryption_env = "UNSET".into();
        assert!(!c.sealer(env).expect("unset").has_key());
        c.encryption_env = "SHORT".into();
        assert!(c.sealer(env).is_err());
    }

    #[test]
    fn layers_apply_in_order() {
        let mut c: Config = toml::from_str("http = \"0.0.0.0:1\"\n").expect("toml");
        assert_eq!(c.http, "0.0.0.0:1");
        assert_eq!(c.dir, PathBuf::from("cairn_data"));
        c.apply_env(|k| (k == "CAIRN_HTTP").then(|| "127.0.0.1:2".to_owned()));
        assert_eq!(c.http, "127.0.0.1:2");
        assert!(toml::from_str::<Config>("nope = 1").is_err());
        c.apply_env(|k| match k {
            "CAIRN_CHANGES_RETENTION_ROWS" => Some("7".to_owned()),
            "CAIRN_HTTP_IDLE_TIMEOUT_SECS" => Some("3".to_owned()),
            "CAIRN_HTTP_MAX_CONNECTIONS" => Some("oops".to_owned()),
            _ => None,
        });
        assert_eq!(c.changes_retention_rows, 7);
        assert_eq!(c.http_idle_timeout_secs, 3);
        assert_eq!(c.http_max_connections, 10_000);
    }
}
