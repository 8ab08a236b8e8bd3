//! PocketBase's `pb_hooks/*.pb.js`: custom routes, record hooks and crons.
//!
//! A loader engine runs each file's top level once (direct children of the
//! hooks directory, by file name) and records what it registers; handlers
//! are kept as source text and compiled in each worker (`pool`), as
//! PocketBase does. The registrations of all files form a `Generation`;
//! reloading builds a new one and swaps it in atomically, and a file that
//! fails to load keeps its last good registrations.

pub mod auth;
pub mod batch;
mod bridge;
pub mod collections;
mod crons;
pub mod http;
pub mod kv;
pub mod mailer;
pub mod pool;
pub mod records;
pub mod request;
pub mod routes;
pub mod store_host;
pub mod tx;
pub mod uploads;
mod watch;
pub mod write;

pub use watch::{any_empty, settle, snapshot};

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use serde_json::{Value, json};

use crate::app::App;
use crate::plugins::runtime::Limits;
use pool::{Call, Pool};

/// Everything one load of the hooks directory registered.
pub struct Generation {
    pub id: u64,
    /// The handler table as JSON text (what workers `__install`).
    pub table: String,
    pub routes: Vec<routes::Pattern>,
    /// Names of the hooks with at least one handler.
    pub hook_names: HashSet<String>,
    /// The `cronAdd` jobs in effect: `(id, expression)`.
    pub crons: Vec<(String, String)>,
    /// Ids a `cronRemove` took away (built-in jobs hidden while loaded).
    pub cron_hidden: Vec<String>,
}

impl Generation {
    fn build(files: &BTreeMap<String, Value>) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(1);
        let mut table = json!({"routes": [], "middlewares": [], "hooks": []});
        for reg in files.values() {
            for key in ["routes", "middlewares", "hooks"] {
                if let (Some(dst), Some(src)) = (table[key].as_array_mut(), reg[key].as_array()) {
                    dst.extend(src.iter().cloned());
                }
            }
        }
        let (cron_table, crons, cron_hidden) = crons::apply(files.values());
        table["crons"] = Value::Array(cron_table);
        let routes = table["routes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        routes::Pattern::parse(
                            r["method"].as_str().unwrap_or_default(),
                            r["path"].as_str().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let hook_names = table["hooks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            table: table.to_string(),
            routes,
            hook_names,
            crons,
            cron_hidden,
        }
    }
}

/// The loaded hooks of a running app.
pub struct Hooks {
    pub dir: PathBuf,
    current: RwLock<Arc<Generation>>,
    /// The last good registrations of each file.
    files: Mutex<BTreeMap<String, Value>>,
    /// The last load error of each file (shown in logs).
    pub errors: Mutex<BTreeMap<String, String>>,
    pool: Pool,
    limits: Limits,
    make_host: pool::MakeHost,
    globals: Value,
    /// Keeps `App::cron` in step with the `cronAdd` jobs.
    crons: crons::CronSync,
    /// `$app.store()`, kept across reloads.
    pub kv: kv::Kv,
}

impl Hooks {
    /// The generation requests should use now.
    pub fn current(&self) -> Arc<Generation> {
        self.current
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Runs `func(arg)` on a worker with the current handlers.
    pub async fn call(
        &self,
        generation: Arc<Generation>,
        func: &'static str,
        arg: String,
    ) -> Result<Value, crate::plugins::runtime::JsError> {
        self.call_with(generation, func, arg, None, uploads::Held::default())
            .await
    }

    /// Like `call`, for a hook chain that ends with the REST write
    /// `terminal` (run inside the write transaction, see `tx`), with the
    /// request's uploads readable (`uploads`).
    pub async fn call_with(
        &self,
        generation: Arc<Generation>,
        func: &'static str,
        arg: String,
        terminal: Option<tx::Terminal>,
        files: uploads::Held,
    ) -> Result<Value, crate::plugins::runtime::JsError> {
        let call = Call {
            func,
            arg,
            terminal,
            files,
        };
        self.pool.run(generation, call).await
    }

    /// The `cronAdd` jobs of the current generation: `(id, expression)`.
    /// The app's cron scheduler registers these after each reload (ids
    /// that disappeared are removed) and runs them through `run_cron`.
    pub fn cron_jobs(&self) -> Vec<(String, String)> {
        self.current().crons.clone()
    }

    /// Runs the `cronAdd` job `id` with the current handlers.
    pub async fn run_cron(&self, id: &str) -> Result<(), String> {
        let generation = self.current();
        if !generation.crons.iter().any(|(c, _)| c == id) {
            return Err(format!("no cron job {id:?}"));
        }
        self.call(generation, "__runCron", id.to_owned())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// (Re)loads every hook file and swaps the new generation in. Files
    /// that fail keep their previous registrations.
    pub fn reload(&self) {
        let names = hook_files(&self.dir);
        let engine = match pool::engine_for(self.limits, (self.make_host)(), &self.globals, None) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "pb_hooks: could not start the loader");
                return;
            }
        };
        let Ok(mut files) = self.files.lock() else {
            return;
        };
        let Ok(mut errors) = self.errors.lock() else {
            return;
        };
        files.retain(|f, _| names.contains(f));
        errors.retain(|f, _| names.contains(f));
        for name in &names {
            let path = self.dir.join(name);
            let src = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) => {
                    errors.insert(name.clone(), e.to_string());
                    continue;
                }
            };
            match load_file(&engine, name, &src) {
                Ok(reg) => {
                    files.insert(name.clone(), reg);
                    errors.remove(name);
                }
                Err(e) => {
                    tracing::error!(file = %name, error = %e, "failed to execute {name}; keeping its previous handlers");
                    errors.insert(name.clone(), e.to_string());
                }
            }
        }
        let generation = Arc::new(Generation::build(&files));
        tracing::info!(
            routes = generation.routes.len(),
            hooks = generation.hook_names.len(),
            "pb_hooks loaded"
        );
        self.crons.sync(&generation.crons, &generation.cron_hidden);
        if let Ok(mut g) = self.current.write() {
            *g = generation;
        }
    }
}

/// Runs one hook file's top level in the loader `engine` and returns what
/// it registered.
fn load_file(
    engine: &crate::plugins::runtime::Engine,
    name: &str,
    src: &str,
) -> Result<Value, crate::plugins::runtime::JsError> {
    let reset = "__reg = { routes: [], middlewares: [], hooks: [], crons: [] }";
    engine.eval("reset.js", reset)?;
    engine.eval(name, src)?;
    let text = engine.eval("collect.js", "JSON.stringify(__reg)")?;
    Ok(serde_json::from_str(text.as_str().unwrap_or("null")).unwrap_or(Value::Null))
}

/// The handler table of the hook files in `dir`, loaded with `host` (for
/// migrations, which fire the record hooks of `$app.save`); `None` when
/// no file registers a hook. Files that fail are logged and skipped.
pub fn table_for(dir: &std::path::Path, host: crate::plugins::runtime::Host) -> Option<String> {
    let names = hook_files(dir);
    if names.is_empty() {
        return None;
    }
    let globals = json!({"__hooks": dir.to_string_lossy()});
    let engine = pool::engine_for(Limits::default(), host, &globals, None).ok()?;
    let mut files = BTreeMap::new();
    for name in names {
        let loaded = std::fs::read_to_string(dir.join(&name))
            .map_err(|e| e.to_string())
            .and_then(|src| load_file(&engine, &name, &src).map_err(|e| e.to_string()));
        match loaded {
            Ok(reg) => {
                files.insert(name, reg);
            }
            Err(e) => tracing::error!(file = %name, error = %e, "failed to execute {name}"),
        }
    }
    let generation = Generation::build(&files);
    (!generation.hook_names.is_empty()).then_some(generation.table)
}

/// `*.pb.js` / `*.pb.ts` direct children, by name.
pub fn hook_files(dir: &std::path::Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pb.js") || n.ends_with(".pb.ts"))
        .collect();
    names.sort();
    names
}

/// Loads `pb_hooks` (if the directory exists), starts the workers and the
/// file watcher, and runs `onBootstrap` handlers. Called once per app.
pub fn start(app: &Arc<App>) {
    if app.hooks.get().is_some() {
        return;
    }
    let dir = crate::plugins::hooks_dir(&app.config);
    if !dir.is_dir() {
        return;
    }
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let limits = Limits {
        time: std::time::Duration::from_millis(app.config.js_time_limit_ms.max(1)),
        memory: (app.config.js_memory_limit_mb.max(1) as usize) << 20,
    };
    let weak: Weak<App> = Arc::downgrade(app);
    let handle = tokio::runtime::Handle::current();
    let make_host: pool::MakeHost =
        Arc::new(move || store_host::host(weak.clone(), handle.clone()));
    let globals = json!({"__hooks": dir.to_string_lossy()});
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8);
    let hooks = Arc::new(Hooks {
        dir: dir.clone(),
        current: RwLock::new(Arc::new(Generation::build(&BTreeMap::new()))),
        files: Mutex::new(BTreeMap::new()),
        errors: Mutex::new(BTreeMap::new()),
        pool: Pool::start(workers, limits, Arc::clone(&make_host), globals.clone()),
        limits,
        make_host,
        globals,
        crons: crons::CronSync::new(Arc::downgrade(app)),
        kv: kv::Kv::default(),
    });
    hooks.reload();
    if app.hooks.set(Arc::clone(&hooks)).is_err() {
        return;
    }
    watch::start(Arc::downgrade(&hooks));
    let generation = hooks.current();
    if generation.hook_names.contains("onBootstrap") {
        let h = Arc::clone(&hooks);
        tokio::spawn(async move {
            if let Err(e) = h.call(generation, "__runBootstrap", String::new()).await {
                tracing::error!(error = %e, "onBootstrap failed");
            }
        });
    }
}
