//! Cairn-native plugins: ES modules in `plugins/` (beside the data
//! directory, or `--pluginsDir`) that `export default definePlugin({...})`
//! with routes, record hooks and crons.
//!
//! - `instance`: one plugin = one thread with its own QuickJS runtime and a
//!   tokio event loop, so module scope lives across requests and handlers
//!   can `await` (`fetch`, timers, `db`).
//! - `ops`: the asynchronous host operations (outbound HTTP through the
//!   `$http.send` client, `db.query` / `db.tx` through `store::hooks_db`).
//! - `sandbox`: relative imports confined to the plugins directory.
//! - `http`: routes in front of the built-in API and the record hooks, on
//!   the same path-pattern matcher and write-path hook points as `pb_hooks`.
//! - `metrics`: calls, errors and time per plugin on `/api/metrics`.
//!
//! Every top-level `*.js` / `*.mjs` file is a plugin; helpers they import
//! live in subfolders. A reload (the directory is polled, as `pb_hooks` is)
//! starts each plugin afresh and swaps the set in at once; a plugin whose
//! new code fails to load keeps running its old instance.

pub mod http;
pub mod instance;
pub mod metrics;
pub mod ops;
pub mod sandbox;
#[cfg(test)]
mod tests;

pub use http::{answer, any_record_hook, record_after, record_before, wants_stored};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::app::App;
use instance::{CallError, Instance};

/// Limits of one plugin.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Budget of each run of JavaScript (a call's start or a resumed job).
    pub cpu: Duration,
    /// Heap of the plugin's runtime, in bytes.
    pub memory: usize,
    /// Wall time a call may take, waits included; also the longest a
    /// `db.tx` may stay open.
    pub timeout: Duration,
}

/// What a plugin's `definePlugin` declared (as the loader describes it).
#[derive(Debug, Clone, Deserialize)]
pub struct Def {
    #[serde(rename = "allowHosts")]
    pub allow_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub limits: DefLimits,
    pub routes: Vec<RouteDef>,
    pub hooks: Vec<HookDef>,
    pub crons: Vec<CronDef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DefLimits {
    #[serde(rename = "cpuMs")]
    pub cpu_ms: Option<u64>,
    #[serde(rename = "memoryMb")]
    pub memory_mb: Option<u64>,
    #[serde(rename = "timeoutMs")]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RouteDef {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HookDef {
    pub name: String,
    pub collections: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CronDef {
    pub id: String,
    pub schedule: String,
}

/// What every plugin of an app shares.
pub struct Env {
    pub app: Weak<App>,
    pub dir: PathBuf,
    pub defaults: Limits,
    /// `plugins.json` in the directory: per-plugin overrides by the
    /// operator (`{"name": {"allowHosts": [...], "cpuMs": 100}}`).
    config: RwLock<Value>,
    pub metrics: metrics::Metrics,
}

impl Env {
    fn overrides(&self, plugin: &str) -> Value {
        self.config
            .read()
            .map(|c| c[plugin].clone())
            .unwrap_or_default()
    }

    /// The operator's settings over the plugin's own, over the defaults.
    pub fn limits_for(&self, plugin: &str, def: &Def) -> Limits {
        let o = self.overrides(plugin);
        let pick = |key: &str, own: Option<u64>| o[key].as_u64().or(own);
        Limits {
            cpu: pick("cpuMs", def.limits.cpu_ms)
                .map(Duration::from_millis)
                .unwrap_or(self.defaults.cpu)
                .max(Duration::from_millis(1)),
            memory: pick("memoryMb", def.limits.memory_mb)
                .map(|mb| (mb.max(1) as usize) << 20)
                .unwrap_or(self.defaults.memory),
            timeout: pick("timeoutMs", def.limits.timeout_ms)
                .map(Duration::from_millis)
                .unwrap_or(self.defaults.timeout)
                .max(Duration::from_millis(1)),
        }
    }

    /// The hosts `fetch` may reach: the operator's list, else the plugin's.
    pub fn allow_for(&self, plugin: &str, def: &Def) -> Option<Vec<String>> {
        let o = self.overrides(plugin);
        match o["allowHosts"].as_array() {
            Some(a) => Some(
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect(),
            ),
            None => def.allow_hosts.clone(),
        }
    }
}

/// The loaded plugins of a running app.
pub struct Plugins {
    env: Arc<Env>,
    current: RwLock<Arc<Vec<Arc<Instance>>>>,
    /// The last load error of each plugin file.
    pub errors: Mutex<BTreeMap<String, String>>,
    /// Cron ids registered last time.
    crons: Mutex<Vec<String>>,
    reloading: Mutex<()>,
}

impl Plugins {
    /// The plugins requests should use now.
    pub fn current(&self) -> Arc<Vec<Arc<Instance>>> {
        self.current
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// `(plugin, method, path)` of every route, for listings.
    pub fn routes(&self) -> Vec<(String, String, String)> {
        self.current()
            .iter()
            .flat_map(|p| {
                p.def
                    .routes
                    .iter()
                    .map(|r| (p.name.clone(), r.method.clone(), r.path.clone()))
            })
            .collect()
    }

    /// Calls `plugin` and counts the call; a plugin that ran out of heap is
    /// started again in the background (the others keep their state).
    pub async fn call(
        self: &Arc<Self>,
        plugin: &Arc<Instance>,
        kind: &'static str,
        payload: Value,
    ) -> Result<Value, CallError> {
        let t = Instant::now();
        let out = plugin.call(kind, payload).await;
        let failed = out.is_err();
        self.env
            .metrics
            .call(&plugin.name, kind, t.elapsed().as_secs_f64(), failed);
        if let Err(e) = &out {
            if e.api.is_none() {
                tracing::error!(plugin = %plugin.name, kind, error = %e.message, "plugin call failed");
            }
            if e.out_of_memory {
                let (me, file) = (Arc::clone(self), plugin.file.clone());
                tokio::task::spawn_blocking(move || me.restart(&file));
            }
        }
        out
    }

    /// Starts the plugin of `file` again from its file and swaps it in.
    pub fn restart(&self, file: &str) {
        let Ok(_one_at_a_time) = self.reloading.lock() else {
            return;
        };
        match Instance::spawn(&self.env, &self.env.dir.join(file)) {
            Ok(fresh) => {
                let mut next: Vec<Arc<Instance>> = self.current().as_ref().clone();
                for slot in next.iter_mut().filter(|p| p.file == file) {
                    *slot = Arc::clone(&fresh);
                }
                if let Ok(mut g) = self.current.write() {
                    *g = Arc::new(next);
                }
                tracing::info!(file, "plugin restarted");
            }
            Err(e) => tracing::error!(file, error = %e, "plugin could not be restarted"),
        }
    }

    /// Starts every plugin file again and swaps the set in. A file that
    /// fails keeps its running instance (if any); the error is logged.
    pub fn reload(&self) {
        let Ok(_one_at_a_time) = self.reloading.lock() else {
            return;
        };
        let config = std::fs::read_to_string(self.env.dir.join("plugins.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if let Ok(mut c) = self.env.config.write() {
            *c = config;
        }
        let old = self.current();
        let mut next = Vec::new();
        let files = plugin_files(&self.env.dir);
        let Ok(mut errors) = self.errors.lock() else {
            return;
        };
        errors.retain(|f, _| files.iter().any(|p| rel(&self.env.dir, p) == *f));
        for path in &files {
            let name = rel(&self.env.dir, path);
            match Instance::spawn(&self.env, path) {
                Ok(p) => {
                    errors.remove(&name);
                    next.push(p);
                }
                Err(e) => {
                    tracing::error!(file = %name, error = %e, "failed to load plugin {name}; keeping its previous version");
                    errors.insert(name.clone(), e);
                    if let Some(p) = old.iter().find(|p| p.file == name) {
                        next.push(Arc::clone(p));
                    }
                }
            }
        }
        let routes: usize = next.iter().map(|p| p.routes.len()).sum();
        tracing::info!(plugins = next.len(), routes, "plugins loaded");
        let next = Arc::new(next);
        self.sync_crons(&next);
        if let Ok(mut g) = self.current.write() {
            *g = next;
        }
    }

    /// Registers the plugins' crons with the app's scheduler (a job looks
    /// its plugin up when it fires, so it runs the current code).
    fn sync_crons(&self, plugins: &[Arc<Instance>]) {
        let Some(app) = self.env.app.upgrade() else {
            return;
        };
        let Ok(mut registered) = self.crons.lock() else {
            return;
        };
        let mut now = Vec::new();
        for p in plugins {
            for c in &p.def.crons {
                let weak = Arc::downgrade(&app);
                let (plugin, id) = (p.name.clone(), c.id.clone());
                let res = app.cron.shadow(&c.id, &c.schedule, move || {
                    let (weak, plugin, id) = (weak.clone(), plugin.clone(), id.clone());
                    async move { run_cron(weak, &plugin, &id).await }
                });
                match res {
                    Ok(()) => now.push(c.id.clone()),
                    Err(e) => {
                        tracing::error!(plugin = %p.name, job = %c.id, error = %e.0, "plugin cron not scheduled")
                    }
                }
            }
        }
        for old in registered.iter().filter(|id| !now.contains(id)) {
            app.cron.unshadow(old);
        }
        *registered = now;
    }
}

async fn run_cron(app: Weak<App>, plugin: &str, id: &str) -> Result<(), String> {
    let Some(plugins) = app.upgrade().and_then(|a| a.plugins.get().cloned()) else {
        return Ok(());
    };
    let Some(p) = plugins.current().iter().find(|p| p.name == plugin).cloned() else {
        return Err(format!("plugin {plugin} is not loaded"));
    };
    plugins
        .call(&p, "cron", serde_json::json!({ "id": id }))
        .await
        .map(|_| ())
        .map_err(|e| e.message)
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// `*.js` / `*.mjs` direct children, by name.
pub fn plugin_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "js" || x == "mjs"))
        .collect();
    out.sort();
    out
}

/// The plugins directory of a configuration.
pub fn dir_of(config: &crate::config::Config) -> PathBuf {
    config
        .plugins_dir
        .clone()
        .unwrap_or_else(|| crate::plugins::migrations::beside(&config.dir, "plugins"))
}

/// Loads the plugins (if the directory exists) and starts watching it.
pub fn start(app: &Arc<App>) {
    let dir = dir_of(&app.config);
    if app.plugins.get().is_some() || !dir.is_dir() {
        return;
    }
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let dir = dir.canonicalize().unwrap_or(dir);
    let env = Arc::new(Env {
        app: Arc::downgrade(app),
        dir,
        defaults: Limits {
            cpu: Duration::from_millis(app.config.js_time_limit_ms.max(1)),
            memory: (app.config.js_memory_limit_mb.max(1) as usize) << 20,
            timeout: Duration::from_millis(app.config.js_time_limit_ms.max(1) * 6),
        },
        config: RwLock::new(Value::Null),
        metrics: metrics::Metrics::default(),
    });
    env.metrics.register(&app.metrics);
    let plugins = Arc::new(Plugins {
        env,
        current: RwLock::new(Arc::new(Vec::new())),
        errors: Mutex::new(BTreeMap::new()),
        crons: Mutex::new(Vec::new()),
        reloading: Mutex::new(()),
    });
    plugins.reload();
    if app.plugins.set(Arc::clone(&plugins)).is_err() {
        return;
    }
    watch(Arc::downgrade(&plugins));
}

/// Polls the directory (every `.js`/`.ts` file below it, and
/// `plugins.json`) and reloads on a change, until the plugins are dropped.
fn watch(plugins: Weak<Plugins>) {
    let Some(dir) = plugins.upgrade().map(|p| p.env.dir.clone()) else {
        return;
    };
    let stamp = |dir: &Path| {
        let config = std::fs::metadata(dir.join("plugins.json"))
            .and_then(|m| m.modified())
            .ok();
        (crate::plugins::hooks::snapshot(dir), config)
    };
    let _ = std::thread::Builder::new()
        .name("cairn-plugins-watch".into())
        .spawn(move || {
            let mut last = stamp(&dir);
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let Some(p) = plugins.upgrade() else { return };
                let now = stamp(&dir);
                if now != last {
                    last = crate::plugins::hooks::settle(
                        now,
                        || stamp(&dir),
                        |(files, _)| crate::plugins::hooks::any_empty(files),
                    );
                    tracing::info!("plugins changed; reloading");
                    p.reload();
                }
            }
        });
}
