//! Worker threads, each owning one engine. A job carries the generation it
//! belongs to; a worker whose engine was built for another generation
//! rebuilds it first (handlers compile lazily from their source text), so
//! requests that started before a reload finish on their old handlers.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::Generation;
use crate::plugins::runtime::{Engine, Host, JsError, Limits};

/// A call into a worker: the global function and its JSON text argument.
pub struct Call {
    pub func: &'static str,
    pub arg: String,
    /// The REST write the call's hook chain ends with (`tx`).
    pub terminal: Option<super::tx::Terminal>,
    /// The request's uploads `e.findUploadedFiles` may read.
    pub files: super::uploads::Held,
}

/// Work for an engine (or the error that kept one from starting); answers
/// its caller itself and returns whether the engine must be replaced.
type Work = Box<dyn FnOnce(Result<&Engine, JsError>) -> bool + Send>;

struct Job {
    generation: Arc<Generation>,
    work: Work,
}

/// Builds a worker's host (its `$app`).
pub type MakeHost = Arc<dyn Fn() -> Host + Send + Sync>;

/// The worker threads.
pub struct Pool {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Pool {
    pub fn start(workers: usize, limits: Limits, make_host: MakeHost, globals: Value) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = Arc::clone(&rx);
            let make_host = Arc::clone(&make_host);
            let globals = globals.clone();
            let _ = std::thread::Builder::new()
                .name(format!("cairn-js-{i}"))
                .stack_size(8 << 20)
                .spawn(move || worker(rx, limits, make_host, globals));
        }
        Self {
            tx: Mutex::new(Some(tx)),
        }
    }

    /// Runs `call` on a free worker with `generation`'s handlers (its
    /// REST write installed for `tx.write`).
    pub async fn run(&self, generation: Arc<Generation>, call: Call) -> Result<Value, JsError> {
        let Call {
            func,
            arg,
            terminal,
            files,
        } = call;
        self.run_with(generation, move |e| {
            super::tx::set_terminal(terminal);
            super::uploads::install(files);
            let out = e.call(func, &arg);
            super::uploads::clear();
            out
        })
        .await
    }

    /// Runs `f` on a free worker's engine with `generation`'s handlers.
    /// Whatever transaction `f` left open is rolled back before it answers.
    pub async fn run_with<R: Send + 'static>(
        &self,
        generation: Arc<Generation>,
        f: impl FnOnce(&Engine) -> Result<R, JsError> + Send + 'static,
    ) -> Result<R, JsError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move |engine| {
            let out = engine.and_then(f);
            super::tx::reset();
            // A full heap may not empty again: start the next job afresh.
            let broken = out.as_ref().is_err_and(JsError::out_of_memory);
            let _ = reply.send(out);
            broken
        });
        let sent = self
            .tx
            .lock()
            .ok()
            .and_then(|g| {
                g.as_ref()
                    .map(|tx| tx.send(Job { generation, work }).is_ok())
            })
            .unwrap_or(false);
        let closed = || JsError {
            message: "the JavaScript workers are shut down".into(),
            stack: String::new(),
            api: None,
            timed_out: false,
        };
        if !sent {
            return Err(closed());
        }
        rx.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Lets the workers finish their jobs and exit.
    pub fn shutdown(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
    }
}

/// The prelude of hook engines (after the common one).
pub const HOOKS_JS: &str = include_str!("hooks.js");
/// Record hook chains inside the write transaction (after `HOOKS_JS`).
const TX_JS: &str = include_str!("tx.js");
/// Record request hooks over an answer (after `TX_JS`).
const REQUEST_JS: &str = include_str!("request.js");

/// A fresh engine for `generation`: prelude, hooks API, handler table.
pub fn engine_for(
    limits: Limits,
    host: Host,
    globals: &Value,
    table: Option<&str>,
) -> Result<Engine, JsError> {
    let g: Vec<(&str, Value)> = globals
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.clone())).collect())
        .unwrap_or_default();
    let engine = Engine::new(limits, host, &g)?;
    engine.eval("hooks.js", HOOKS_JS)?;
    engine.eval("tx.js", TX_JS)?;
    engine.eval("request.js", REQUEST_JS)?;
    if let Some(t) = table {
        engine.call("__install", t)?;
    }
    Ok(engine)
}

fn worker(
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    limits: Limits,
    make_host: MakeHost,
    globals: Value,
) {
    let mut current: Option<(u64, Engine)> = None;
    loop {
        let job = match rx.lock() {
            Ok(g) => match g.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let generation = &job.generation;
        if current.as_ref().map(|(id, _)| *id) != Some(generation.id) {
            current = None;
            match engine_for(limits, make_host(), &globals, Some(&generation.table)) {
                Ok(e) => current = Some((generation.id, e)),
                Err(e) => {
                    (job.work)(Err(e));
                    continue;
                }
            }
        }
        let Some((_, engine)) = current.as_ref() else {
            continue;
        };
        if (job.work)(Ok(engine)) {
            current = None;
        }
    }
}
