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
    /// Log filter (tracing's env-filter syntax).
    pub log: String,
    /// How long the change log keeps changes for resuming realtime
    /// clients (hours), and at most how many.
    pub changes_retention_hours: u64,
    pub changes_retention_rows: u64,
    /// `pb_migrations` directory (default: beside the data directory).
    pub migrations_dir: Option<PathBuf>,
    /// `pb_hooks` directory (default: beside the data directory).
    pub hooks_dir: Option<PathBuf>,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: "127.0.0.1:8090".into(),
            dir: PathBuf::from("cairn_data"),
            log: "info".into(),
            changes_retention_hours: 24,
            changes_retention_rows: 100_000,
            migrations_dir: None,
            hooks_dir: None,
            automigrate: true,
            js_time_limit_ms: 5_000,
            js_memory_limit_mb: 64,
            js_allowed_hosts: Vec::new(),
        }
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
        if let Some(v) = get("CAIRN_LOG") {
            self.log = v;
        }
        if let Some(v) = get("CAIRN_JS_ALLOWED_HOSTS") {
            self.js_allowed_hosts = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        if let Some(v) = get("CAIRN_JS_TIME_LIMIT_MS").and_then(|v| v.parse().ok()) {
            self.js_time_limit_ms = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let mut c: Config = toml::from_str("http = \"0.0.0.0:1\"\n").expect("toml");
        assert_eq!(c.http, "0.0.0.0:1");
        assert_eq!(c.dir, PathBuf::from("cairn_data"));
        c.apply_env(|k| (k == "CAIRN_HTTP").then(|| "127.0.0.1:2".to_owned()));
        assert_eq!(c.http, "127.0.0.1:2");
        assert!(toml::from_str::<Config>("nope = 1").is_err());
    }
}
