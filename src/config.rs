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
    /// Webhook delivery (`[webhooks]`, `docs/webhooks.md`).
    pub webhooks: crate::service::webhooks::config::WebhooksConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: "127.0.0.1:8090".into(),
            dir: PathBuf::from("cairn_data"),
            log: "info".into(),
            changes_retention_hours: 24,
            changes_retention_rows: 100_000,
            webhooks: Default::default(),
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
        self.webhooks.apply_env(&get);
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
