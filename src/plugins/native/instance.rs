//! One loaded plugin: its own thread, QuickJS runtime and event loop.
//!
//! Module scope must outlive a request (a counter in a module is the point
//! of ES modules), so a plugin is not a pool of engines like `pb_hooks` but
//! one engine on one thread that owns it. The thread runs a current-thread
//! tokio runtime: calls arrive on a channel, JavaScript runs until it waits,
//! and whatever it waits for (`fetch`, timers, `db`) is a host operation
//! spawned on that runtime (`ops.rs`), whose result settles the promise.
//! Many calls can be in flight at once; JavaScript itself runs one slice at
//! a time, and each slice (a call's start, or one resumed promise job) has
//! the plugin's time budget: an endless loop ends that slice with an error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rquickjs::{Context, Function, Runtime};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::ops::{self, OpsCtx};
use super::sandbox::Sandbox;
use super::{Def, Env, Limits};

const WEB_JS: &str = include_str!("web.js");
const NATIVE_JS: &str = include_str!("native.js");

/// Why a call failed.
#[derive(Debug, Clone)]
pub struct CallError {
    pub message: String,
    /// `{status, message, data}` of a thrown `ApiError`.
    pub api: Option<Value>,
    /// The plugin ran out of heap (the manager restarts it).
    pub out_of_memory: bool,
}

impl CallError {
    fn plain(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            api: None,
            out_of_memory: false,
        }
    }
}

type Reply = oneshot::Sender<Result<Value, CallError>>;

struct Msg {
    kind: &'static str,
    payload: String,
    reply: Reply,
}

/// A running plugin.
pub struct Instance {
    pub name: String,
    /// The entry file, relative to the plugins directory.
    pub file: String,
    pub def: Def,
    pub routes: Vec<crate::plugins::hooks::routes::Pattern>,
    pub limits: Limits,
    inbox: mpsc::UnboundedSender<Msg>,
}

impl Instance {
    /// Starts the plugin in `file` and waits until its module loaded.
    pub fn spawn(env: &Arc<Env>, file: &Path) -> Result<Arc<Instance>, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (inbox, rx) = mpsc::unbounded_channel();
        let rel = file
            .strip_prefix(&env.dir)
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        let stem = rel
            .trim_end_matches(".js")
            .trim_end_matches(".mjs")
            .to_owned();
        let ops = Arc::new(OpsCtx::new(env, &stem));
        let (env2, file2, ops2) = (Arc::clone(env), file.to_path_buf(), Arc::clone(&ops));
        std::thread::Builder::new()
            .name(format!("cairn-plugin-{stem}"))
            .stack_size(8 << 20)
            .spawn(move || thread(env2, file2, ops2, ready_tx, rx))
            .map_err(|e| e.to_string())?;
        let (def, limits) = ready_rx
            .recv()
            .map_err(|_| "the plugin thread stopped while loading".to_owned())??;
        let routes = def
            .routes
            .iter()
            .map(|r| crate::plugins::hooks::routes::Pattern::parse(&r.method, &r.path))
            .collect();
        Ok(Arc::new(Instance {
            name: stem,
            file: rel,
            def,
            routes,
            limits,
            inbox,
        }))
    }

    /// Runs `kind` (`route`, `hook`, `cron`) with `payload` and waits for
    /// its result, at most the plugin's call timeout.
    pub async fn call(&self, kind: &'static str, payload: Value) -> Result<Value, CallError> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg {
            kind,
            payload: payload.to_string(),
            reply,
        };
        if self.inbox.send(msg).is_err() {
            return Err(CallError::plain(format!("plugin {} is stopped", self.name)));
        }
        match tokio::time::timeout(self.limits.timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(CallError::plain(format!("plugin {} stopped", self.name))),
            Err(_) => Err(CallError::plain(format!(
                "the call did not finish within {} ms",
                self.limits.timeout.as_millis()
            ))),
        }
    }
}

type Ready = std::sync::mpsc::Sender<Result<(Def, Limits), String>>;

fn thread(
    env: Arc<Env>,
    file: PathBuf,
    ops: Arc<OpsCtx>,
    ready: Ready,
    inbox: mpsc::UnboundedReceiver<Msg>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    rt.block_on(async move {
        let mut js = match Js::new(&env, ops) {
            Ok(js) => js,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        match js.load(&file, env.defaults.timeout).await {
            Ok(loaded) => {
                let _ = ready.send(Ok(loaded));
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        }
        js.serve(inbox).await;
    });
}

/// What the host functions share with the loop.
struct State {
    replies: HashMap<u64, Reply>,
    next: u64,
    /// Host operations in flight.
    inflight: usize,
    /// The call whose JavaScript runs now (its start, or the jobs after one
    /// of its host operations settled): the call an interrupted promise job
    /// fails, since an interrupt cannot reject the call's own promise.
    current: Option<u64>,
    /// The call that started each host operation in flight.
    owner: HashMap<u64, u64>,
    done: mpsc::UnboundedSender<(u64, String)>,
    loaded: Option<Result<Value, String>>,
    ops: Arc<OpsCtx>,
    /// A reply reported running out of heap.
    oom: bool,
    budget: Duration,
    memory: usize,
}

struct Js {
    rt: Runtime,
    ctx: Context,
    deadline: Arc<AtomicU64>,
    epoch: Instant,
    state: Rc<RefCell<State>>,
    done: mpsc::UnboundedReceiver<(u64, String)>,
}

impl Js {
    fn new(env: &Env, ops: Arc<OpsCtx>) -> Result<Self, String> {
        let err = |e: rquickjs::Error| e.to_string();
        let rt = Runtime::new().map_err(err)?;
        rt.set_memory_limit(env.defaults.memory);
        rt.set_max_stack_size(512 << 10);
        rt.set_loader(Sandbox::new(&env.dir), Sandbox::new(&env.dir));
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let epoch = Instant::now();
        let d = Arc::clone(&deadline);
        rt.set_interrupt_handler(Some(Box::new(move || {
            epoch.elapsed().as_micros() as u64 > d.load(Ordering::Relaxed)
        })));
        let ctx = Context::full(&rt).map_err(err)?;
        let (done_tx, done) = mpsc::unbounded_channel();
        let state = Rc::new(RefCell::new(State {
            replies: HashMap::new(),
            next: 1,
            inflight: 0,
            current: None,
            owner: HashMap::new(),
            done: done_tx,
            loaded: None,
            ops,
            oom: false,
            budget: env.defaults.cpu,
            memory: env.defaults.memory,
        }));
        let js = Self {
            rt,
            ctx,
            deadline,
            epoch,
            state,
            done,
        };
        let st = Rc::clone(&js.state);
        js.ctx.with(|ctx| -> Result<(), String> {
            let f = Function::new(ctx.clone(), move |op: String, args: String| -> String {
                let args = serde_json::from_str(&args).unwrap_or(Value::Null);
                match host(&st, &op, args) {
                    Ok(v) => json!({ "ok": v }).to_string(),
                    Err(m) => json!({"err": {"message": m}}).to_string(),
                }
            })
            .map_err(err)?;
            ctx.globals().set("__host", f).map_err(err)?;
            for (name, src) in [("web.js", WEB_JS), ("native.js", NATIVE_JS)] {
                let mut o = rquickjs::context::EvalOptions::default();
                o.filename = Some(name.to_owned());
                ctx.eval_with_options::<(), _>(src, o)
                    .map_err(|e| format!("{name}: {}", caught(&ctx, e)))?;
            }
            Ok(())
        })?;
        Ok(js)
    }

    /// Imports the entry module and returns its definition.
    async fn load(&mut self, file: &Path, timeout: Duration) -> Result<(Def, Limits), String> {
        let entry = file.to_string_lossy().into_owned();
        self.enter("__load", (entry,))?;
        let end = Instant::now() + timeout;
        loop {
            self.drain();
            let loaded = self.state.borrow_mut().loaded.take();
            if let Some(res) = loaded {
                let def: Def = serde_json::from_value(res?).map_err(|e| e.to_string())?;
                let limits = self.apply_limits(&def);
                return Ok((def, limits));
            }
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.done.recv()).await {
                Ok(Some((id, text))) => self.settle(id, &text),
                _ => return Err("the module did not finish loading in time".into()),
            }
        }
    }

    fn apply_limits(&mut self, def: &Def) -> Limits {
        let env = self.state.borrow().ops.env.clone();
        let plugin = self.state.borrow().ops.plugin.clone();
        let limits = env.limits_for(&plugin, def);
        self.rt.set_memory_limit(limits.memory);
        let mut st = self.state.borrow_mut();
        st.budget = limits.cpu;
        st.memory = limits.memory;
        st.ops.set_allow(env.allow_for(&plugin, def));
        limits
    }

    /// Serves calls until the instance is dropped and its calls finished.
    async fn serve(mut self, mut inbox: mpsc::UnboundedReceiver<Msg>) {
        let mut closed = false;
        loop {
            {
                let st = self.state.borrow();
                if closed && (st.replies.is_empty() || st.inflight == 0) {
                    break;
                }
            }
            tokio::select! {
                m = inbox.recv(), if !closed => match m {
                    Some(m) => self.dispatch(m),
                    None => closed = true,
                },
                Some((id, text)) = self.done.recv() => self.settle(id, &text),
            }
            self.drain();
            if self.broken() {
                break;
            }
        }
        let left: Vec<Reply> = self
            .state
            .borrow_mut()
            .replies
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in left {
            let _ = r.send(Err(CallError::plain("the plugin stopped")));
        }
    }

    /// After a call ran out of heap: a heap that stays full after a
    /// collection cannot be trusted, so the loop ends (the manager starts
    /// the plugin again).
    fn broken(&mut self) -> bool {
        let (oom, memory) = {
            let st = self.state.borrow();
            (st.oom, st.memory)
        };
        if !oom {
            return false;
        }
        self.state.borrow_mut().oom = false;
        self.rt.run_gc();
        let used = self.rt.memory_usage().memory_used_size.max(0) as usize;
        used > memory / 2
    }

    fn dispatch(&mut self, m: Msg) {
        let id = {
            let mut st = self.state.borrow_mut();
            let id = st.next;
            st.next += 1;
            st.replies.insert(id, m.reply);
            st.current = Some(id);
            id
        };
        if let Err(message) = self.enter("__dispatch", (id, m.kind, m.payload)) {
            // An interrupt cannot be caught in JavaScript: answer here.
            let mut st = self.state.borrow_mut();
            if let Some(reply) = st.replies.remove(&id) {
                let err = call_error(&json!({ "message": message }), st.budget, st.memory);
                st.oom |= err.out_of_memory;
                let _ = reply.send(Err(err));
            }
        }
    }

    fn settle(&mut self, id: u64, text: &str) {
        {
            let mut st = self.state.borrow_mut();
            st.inflight -= 1;
            st.current = st.owner.remove(&id);
        }
        let _ = self.enter("__settle", (id, text.to_owned()));
    }

    /// Calls a global function of the prelude under the time budget; an
    /// exception that escapes it is logged and returned.
    fn enter<A: for<'js> rquickjs::function::IntoArgs<'js>>(
        &self,
        name: &str,
        args: A,
    ) -> Result<(), String> {
        self.arm();
        let res = self.ctx.with(|ctx| {
            let f: Function = ctx.globals().get(name)?;
            f.call::<_, ()>(args).map_err(|e| caught_err(&ctx, e))
        });
        self.disarm();
        res.map_err(|e| {
            let message = match e {
                rquickjs::Error::Loading { message, .. } => message.unwrap_or_default(),
                e => e.to_string(),
            };
            tracing::debug!(plugin = %self.state.borrow().ops.plugin, error = %message, "plugin: {name} failed");
            message
        })
    }

    /// Runs the promise jobs that are ready, each under the budget.
    fn drain(&self) {
        loop {
            self.arm();
            let step = self.rt.execute_pending_job();
            self.disarm();
            match step {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    let msg = e.0.with(|ctx| caught(&ctx, rquickjs::Error::Exception));
                    tracing::error!(plugin = %self.state.borrow().ops.plugin, error = %msg, "plugin job failed");
                    self.fail_current(&msg);
                }
            }
        }
        self.state.borrow_mut().current = None;
    }

    /// A promise job of the current call died (its budget ran out, or the
    /// heap): the call is answered now instead of at its timeout.
    fn fail_current(&self, message: &str) {
        let mut st = self.state.borrow_mut();
        let Some(reply) = st.current.and_then(|id| st.replies.remove(&id)) else {
            return;
        };
        let err = call_error(&json!({ "message": message }), st.budget, st.memory);
        st.oom |= err.out_of_memory;
        let _ = reply.send(Err(err));
    }

    fn arm(&self) {
        let budget = self.state.borrow().budget;
        let end = self.epoch.elapsed() + budget;
        self.deadline
            .store(end.as_micros() as u64, Ordering::Relaxed);
    }

    fn disarm(&self) {
        let start = self.deadline.swap(u64::MAX, Ordering::Relaxed);
        let st = self.state.borrow();
        let ran =
            self.epoch.elapsed().as_micros() as i64 - (start as i64 - st.budget.as_micros() as i64);
        st.ops
            .metrics
            .js_seconds(&st.ops.plugin, ran.max(0) as f64 / 1e6);
    }
}

/// The host side of `__host(op, json)`.
fn host(st: &Rc<RefCell<State>>, op: &str, args: Value) -> Result<Value, String> {
    match op {
        "start" => {
            let mut s = st.borrow_mut();
            let id = s.next;
            s.next += 1;
            s.inflight += 1;
            if let Some(call) = s.current {
                s.owner.insert(id, call);
            }
            let (done, cx) = (s.done.clone(), Arc::clone(&s.ops));
            let name = args["op"].as_str().unwrap_or_default().to_owned();
            tokio::spawn(async move {
                let out = match ops::run(&cx, &name, args["args"].clone()).await {
                    Ok(v) => json!({ "ok": v }),
                    Err(m) => json!({"err": {"message": m}}),
                };
                let _ = done.send((id, out.to_string()));
            });
            Ok(json!(id))
        }
        "reply" => {
            let mut s = st.borrow_mut();
            let Some(reply) = s.replies.remove(&args["id"].as_u64().unwrap_or(0)) else {
                return Ok(Value::Null);
            };
            let out = match args.get("err") {
                None => Ok(args["ok"].clone()),
                Some(e) => {
                    let err = call_error(e, s.budget, s.memory);
                    s.oom |= err.out_of_memory;
                    Err(err)
                }
            };
            let _ = reply.send(out);
            Ok(Value::Null)
        }
        "log" => {
            let s = st.borrow();
            let msg = args["msg"].as_str().unwrap_or_default();
            match args["level"].as_str() {
                Some("error") => tracing::error!(plugin = %s.ops.plugin, "{msg}"),
                Some("warn") => tracing::warn!(plugin = %s.ops.plugin, "{msg}"),
                Some("debug") => tracing::debug!(plugin = %s.ops.plugin, "{msg}"),
                _ => tracing::info!(plugin = %s.ops.plugin, "{msg}"),
            }
            Ok(Value::Null)
        }
        "random" => {
            use rand::RngExt;
            let n = args["n"].as_u64().unwrap_or(0).min(65536) as usize;
            let mut rng = rand::rng();
            Ok(json!(
                (0..n).map(|_| rng.random::<u8>()).collect::<Vec<u8>>()
            ))
        }
        "loaded" => {
            st.borrow_mut().loaded = Some(Ok(args));
            Ok(Value::Null)
        }
        "loadFailed" => {
            let msg = args["message"].as_str().unwrap_or_default();
            let at = first_frame(args["stack"].as_str().unwrap_or_default());
            st.borrow_mut().loaded = Some(Err(format!("{msg}{at}")));
            Ok(Value::Null)
        }
        _ => Err(format!("{op} is not a host operation")),
    }
}

/// A rejected call as the caller sees it; an interrupted slice and an
/// exhausted heap get messages that name the limit.
fn call_error(e: &Value, budget: Duration, memory: usize) -> CallError {
    let message = e["message"].as_str().unwrap_or_default().to_owned();
    if e["api"].as_bool() == Some(true) {
        return CallError {
            api: Some(json!({"status": e["status"], "message": message, "data": e["data"]})),
            message,
            out_of_memory: false,
        };
    }
    let at = first_frame(e["stack"].as_str().unwrap_or_default());
    if message.contains("interrupted") {
        return CallError::plain(format!(
            "the plugin exceeded its time budget of {} ms per call{at}",
            budget.as_millis()
        ));
    }
    if message.contains("out of memory") || message == "null" {
        return CallError {
            message: format!(
                "out of memory: the plugin reached its limit of {} MiB",
                memory >> 20
            ),
            api: None,
            out_of_memory: true,
        };
    }
    CallError::plain(format!("{message}{at}"))
}

fn caught_err(ctx: &rquickjs::Ctx<'_>, e: rquickjs::Error) -> rquickjs::Error {
    rquickjs::Error::new_loading_message("plugin", caught(ctx, e))
}

/// The message of a thrown value.
fn caught(ctx: &rquickjs::Ctx<'_>, e: rquickjs::Error) -> String {
    if !e.is_exception() {
        return e.to_string();
    }
    let v = ctx.catch();
    match v.as_object() {
        Some(obj) => {
            let msg: String = obj.get("message").unwrap_or_default();
            let name: String = obj.get("name").unwrap_or_default();
            let stack: String = obj.get("stack").unwrap_or_default();
            let at = first_frame(&stack);
            format!("{name}: {msg}{at}")
        }
        None => format!("Uncaught {v:?}"),
    }
}

/// ` (file:line)` of the first frame of a stack, or nothing.
fn first_frame(stack: &str) -> String {
    stack
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| format!(" ({l})"))
        .unwrap_or_default()
}
