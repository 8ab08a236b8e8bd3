//! One embedded JavaScript engine (QuickJS through rquickjs).
//!
//! An `Engine` owns a runtime and one context and is used from one thread
//! only. Every evaluation runs under a time budget (the interrupt handler
//! aborts it once the deadline has passed, so `while (true) {}` ends that
//! call with an error and nothing else) and the runtime has a memory limit.
//!
//! JavaScript reaches Rust through a single host function, `__host(op,
//! json)`, answered by the `Host` given at construction. Arguments and
//! results cross as JSON text: the PocketBase-shaped objects (`Collection`,
//! `Record`, `$app`...) are written in JavaScript on top of it (`prelude.js`),
//! which keeps the Rust side a plain table of operations.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Runtime};
use serde_json::{Value, json};

/// The PocketBase-compatible API, written in JavaScript over `__host`.
const PRELUDE: &str = include_str!("prelude.js");
const DBX: &str = include_str!("dbx.js");
/// `$os`, `process` and `$security`.
const OS: &str = include_str!("os.js");

/// Limits for one engine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock budget of one evaluation or call.
    pub time: Duration,
    /// Heap limit of the runtime, in bytes.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(5),
            memory: 64 << 20,
        }
    }
}

/// An error raised by a host operation, shaped like PocketBase's API errors.
#[derive(Debug, Clone)]
pub struct HostError {
    pub status: u16,
    pub message: String,
    pub data: Value,
}

impl HostError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            data: json!({}),
        }
    }
}

/// Answers `__host(op, args)` calls.
pub type Host = Rc<dyn Fn(&str, Value) -> Result<Value, HostError>>;

/// A JavaScript failure: the message, where it happened and, for thrown
/// `ApiError`s, the status and data to answer with.
#[derive(Debug, Clone)]
pub struct JsError {
    pub message: String,
    /// `file:line` frames, when QuickJS knows them.
    pub stack: String,
    /// `{status, message, data}` of a thrown `ApiError`.
    pub api: Option<Value>,
    /// The time budget ran out.
    pub timed_out: bool,
}

impl JsError {
    /// The engine ran out of heap; its state is unreliable afterwards.
    pub fn out_of_memory(&self) -> bool {
        self.message.contains("out of memory")
    }
}

impl std::fmt::Display for JsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(at) = self.stack.lines().map(str::trim).find(|l| !l.is_empty()) {
            write!(f, " ({at})")?;
        }
        Ok(())
    }
}

/// The budget of an engine's own start (the prelude scripts): Cairn's
/// code, not a script's, so a small per-call budget on a busy machine
/// cannot keep engines from starting.
const PRELUDE_BUDGET: Duration = Duration::from_secs(30);

/// How long a call may keep an async runtime worker to itself before the
/// worker's other tasks are handed to another thread (and how often that is
/// tried again while the call goes on).
const RELEASE_AFTER: Duration = Duration::from_millis(10);

/// One runtime and context with a budget.
pub struct Engine {
    _rt: Runtime,
    ctx: Context,
    deadline: Arc<AtomicU64>,
    /// When the running call should release its async worker
    /// (`release_worker`); `u64::MAX` for calls on plain threads.
    release_at: Arc<AtomicU64>,
    epoch: Instant,
    limits: Limits,
}

impl Engine {
    /// A fresh engine with the prelude loaded and `globals` (JSON values)
    /// defined, e.g. `__hooks`.
    pub fn new(limits: Limits, host: Host, globals: &[(&str, Value)]) -> Result<Self, JsError> {
        let rt = Runtime::new().map_err(plain)?;
        rt.set_memory_limit(limits.memory);
        rt.set_max_stack_size(512 << 10);
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let release_at = Arc::new(AtomicU64::new(u64::MAX));
        let epoch = Instant::now();
        let d = Arc::clone(&deadline);
        let r = Arc::clone(&release_at);
        rt.set_interrupt_handler(Some(Box::new(move || {
            let now = epoch.elapsed().as_micros() as u64;
            if now > r.load(Ordering::Relaxed) {
                r.store(now + RELEASE_AFTER.as_micros() as u64, Ordering::Relaxed);
                release_worker();
            }
            now > d.load(Ordering::Relaxed)
        })));
        let ctx = Context::full(&rt).map_err(plain)?;
        let mut engine = Self {
            _rt: rt,
            ctx,
            deadline,
            release_at,
            epoch,
            limits: Limits {
                time: limits.time.max(PRELUDE_BUDGET),
                ..limits
            },
        };
        engine.ctx.with(|ctx| -> Result<(), JsError> {
            let find = Rc::clone(&host);
            let f = Function::new(ctx.clone(), move |op: String, args: String| -> String {
                let args = serde_json::from_str(&args).unwrap_or(Value::Null);
                answer(host(&op, args))
            })
            .map_err(plain)?;
            ctx.globals().set("__host", f).map_err(plain)?;
            ctx.globals()
                .set(
                    "__hostFind",
                    super::host_find::function(&ctx, find).map_err(plain)?,
                )
                .map_err(plain)?;
            let json = super::json_text::function(&ctx).map_err(plain)?;
            ctx.globals().set("__jsonText", json).map_err(plain)?;
            for (name, v) in globals {
                let v = ctx.json_parse(v.to_string()).map_err(plain)?;
                ctx.globals().set(*name, v).map_err(plain)?;
            }
            Ok(())
        })?;
        engine.eval("prelude.js", PRELUDE)?;
        engine.eval("dbx.js", DBX)?;
        engine.eval("os.js", OS)?;
        engine.limits = limits;
        Ok(engine)
    }

    /// Runs a script (non-strict, like PocketBase's files) and returns its
    /// completion value as JSON.
    pub fn eval(&self, filename: &str, source: &str) -> Result<Value, JsError> {
        self.run(|ctx| {
            let mut o = EvalOptions::default();
            o.strict = false;
            o.filename = Some(filename.to_owned());
            ctx.eval_with_options::<rquickjs::Value, _>(source, o)
                .map(|v| to_json(ctx, v))
        })
    }

    /// QuickJS throws `null` when it cannot even allocate the error: name
    /// that. (Outside `ctx.with`: the runtime lock is not re-entrant.)
    fn finish<R>(&self, out: Result<R, JsError>) -> Result<R, JsError> {
        out.map_err(|mut e| {
            // Whatever the failed call left unreachable goes now, not at
            // the next call's first allocation.
            self._rt.run_gc();
            if e.message == "Uncaught null"
                && self.memory_used() as usize >= self.limits.memory / 10 * 9
            {
                e.message = format!(
                    "out of memory: the script reached its limit of {} MiB",
                    self.limits.memory >> 20
                );
            }
            e
        })
    }

    /// Calls the global function `name` with one string argument; a string
    /// result is parsed as JSON.
    pub fn call(&self, name: &str, arg: &str) -> Result<Value, JsError> {
        self.run(|ctx| {
            let f: Function = ctx.globals().get(name)?;
            let v = f.call::<_, rquickjs::Value>((arg,))?;
            Ok(match v.as_string().and_then(|s| s.to_string().ok()) {
                Some(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                None => to_json(ctx, v),
            })
        })
    }

    /// Runs `f` in the engine's context under the time budget; a thrown
    /// exception becomes a `JsError`. For callers that pass and read
    /// JavaScript values directly instead of JSON text.
    pub fn run<R>(
        &self,
        f: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<R>,
    ) -> Result<R, JsError> {
        self.arm();
        let out = self
            .ctx
            .with(|ctx| f(&ctx).map_err(|e| self.caught(&ctx, e)));
        self.disarm();
        self.finish(out)
    }

    /// `run` for a call made on an async runtime's worker thread: past
    /// `RELEASE_AFTER` the worker's other tasks move to another thread, so
    /// a slow call holds up only itself.
    pub fn run_on_worker<R>(
        &self,
        f: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<R>,
    ) -> Result<R, JsError> {
        let at = self.epoch.elapsed() + RELEASE_AFTER;
        self.release_at
            .store(at.as_micros() as u64, Ordering::Relaxed);
        let out = self.run(f);
        self.release_at.store(u64::MAX, Ordering::Relaxed);
        out
    }

    /// Heap bytes in use (for metrics and tests).
    pub fn memory_used(&self) -> i64 {
        self._rt.memory_usage().memory_used_size
    }

    fn arm(&self) {
        let end = self.epoch.elapsed() + self.limits.time;
        self.deadline
            .store(end.as_micros() as u64, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.deadline.store(u64::MAX, Ordering::Relaxed);
    }

    fn caught(&self, ctx: &Ctx<'_>, e: rquickjs::Error) -> JsError {
        let timed_out =
            self.epoch.elapsed().as_micros() as u64 > self.deadline.load(Ordering::Relaxed);
        if !e.is_exception() {
            return JsError {
                message: e.to_string(),
                stack: String::new(),
                api: None,
                timed_out,
            };
        }
        let v = ctx.catch();
        let mut err = JsError {
            message: String::new(),
            stack: String::new(),
            api: None,
            timed_out,
        };
        if let Some(obj) = v.as_object() {
            let name: String = obj.get("name").unwrap_or_default();
            let msg: String = obj.get("message").unwrap_or_default();
            err.message = if name.is_empty() {
                msg.clone()
            } else {
                format!("{name}: {msg}")
            };
            err.stack = obj.get("stack").unwrap_or_default();
            if obj.get::<_, bool>("__apiError").unwrap_or(false) {
                let status: u16 = obj.get("status").unwrap_or(400);
                let data = obj
                    .get::<_, rquickjs::Value>("data")
                    .map(|d| to_json(ctx, d))
                    .unwrap_or(Value::Null);
                err.api = Some(json!({"status": status, "message": msg, "data": data}));
            }
        } else {
            err.message = format!("Uncaught {}", to_json(ctx, v));
        }
        if timed_out {
            err.message = format!(
                "the script exceeded its time budget of {} ms ({})",
                self.limits.time.as_millis(),
                err.message
            );
        }
        err
    }
}

/// True on a worker (or `block_on`) thread of a multi-threaded tokio
/// runtime, where `tokio::task::block_in_place` is allowed.
pub fn on_async_worker() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Runs blocking work (a `block_on`, a sleep, a network call) from a host
/// operation: on an async worker the worker's other tasks move to another
/// thread first (and `block_on` is allowed inside); elsewhere it just runs.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    if on_async_worker() {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Hands the current async worker's other tasks to another thread while a
/// long call keeps this one. `block_in_place` moves the worker's scheduler
/// to a fresh thread and takes it back when its closure returns if that
/// thread has not started yet; the short sleep lets it start (the caller
/// retries at the next interrupt check otherwise, and once the scheduler
/// has left this thread a retry only sleeps).
fn release_worker() {
    if on_async_worker() {
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_micros(200)));
    }
}

/// A host operation's result as the script reads it (`__answer`).
pub(super) fn answer(out: Result<Value, HostError>) -> String {
    match out {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({"err": {"status": e.status, "message": e.message, "data": e.data}}),
    }
    .to_string()
}

fn plain(e: rquickjs::Error) -> JsError {
    JsError {
        message: e.to_string(),
        stack: String::new(),
        api: None,
        timed_out: false,
    }
}

fn to_json<'js>(ctx: &Ctx<'js>, v: rquickjs::Value<'js>) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    match ctx.json_stringify(v) {
        Ok(Some(s)) => s
            .to_string()
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(limits: Limits) -> Engine {
        let host: Host = Rc::new(|op, args| match op {
            "echo" => Ok(args),
            _ => Err(HostError::new(400, format!("unknown op {op}"))),
        });
        Engine::new(limits, host, &[("__hooks", json!("/h"))]).expect("engine")
    }

    #[test]
    fn evaluates_and_calls_the_host() {
        let e = engine(Limits::default());
        let v = e
            .eval("t.js", "__call('echo', {a: 1}).a + __hooks.length")
            .expect("eval");
        assert_eq!(v, json!(3));
    }

    #[test]
    fn a_found_row_is_built_as_json_parse_would_build_it() {
        let row = json!({"id": "r1", "n": 3, "big": 9_007_199_254_740_000_i64, "f": 1.5,
            "ok": true, "none": null, "tags": ["a", 2], "j": {"__proto__": {"x": 1}, "k": "v"}});
        let answer = row.clone();
        let host: Host = Rc::new(move |op, args| match op {
            "records.find" if args["id"] == "r1" => Ok(answer.clone()),
            "records.find" if args["id"] == "flat" => {
                Ok(json!({"id": "flat", "n": 1, "collectionId": "c", "collectionName": "c"}))
            }
            _ => Err(HostError::new(404, "sql: no rows in result set")),
        });
        let e = Engine::new(Limits::default(), host, &[]).expect("engine");
        let same = e
            .eval(
                "t.js",
                "const r = {}; const d = __hostFind('c', 'r1', r); \
                 [JSON.stringify(d), JSON.stringify(r.__original), r.__original !== d.j, \
                  Object.getPrototypeOf(d) === Object.prototype]",
            )
            .expect("eval");
        assert_eq!(
            same[0]
                .as_str()
                .map(serde_json::from_str::<Value>)
                .unwrap()
                .unwrap(),
            row
        );
        // Nested values: `__original` is a copy of its own.
        assert_eq!(same[1], same[0]);
        assert_eq!(same[2], json!(true));
        assert_eq!(same[3], json!(true));
        // A flat row: no `__original` copy (the record's stays null).
        let flat = "const f = {}; const fd = __hostFind('c', 'flat', f); [fd.id, 'collectionId' in fd, '__original' in f]";
        assert_eq!(
            e.eval("t.js", flat).expect("eval"),
            json!(["flat", false, false])
        );
        // `__proto__` in data is an own key, not the object's prototype.
        let own = concat!(
            "const q = {}; const j = __hostFind('c', 'r1', q).j;",
            "[Object.getPrototypeOf(j) === Object.prototype, Object.keys(j).join(), j.x === undefined]"
        );
        assert_eq!(
            e.eval("t.js", own).expect("eval"),
            json!([true, "__proto__,k", true])
        );
        // A miss is the host's error text, which `__answer` throws.
        let miss =
            "try { __answer(__hostFind('c', 'nope', {})); 'no throw' } catch (err) { err.message }";
        assert_eq!(
            e.eval("t.js", miss).expect("eval"),
            json!("sql: no rows in result set")
        );
    }

    #[test]
    fn an_endless_loop_ends_within_the_budget() {
        let e = engine(Limits {
            time: Duration::from_millis(100),
            ..Limits::default()
        });
        let t = Instant::now();
        let err = e
            .eval("loop.js", "while (true) {}")
            .expect_err("interrupted");
        assert!(err.timed_out, "{err}");
        assert!(t.elapsed() < Duration::from_secs(2));
        // The engine still works afterwards.
        assert_eq!(e.eval("ok.js", "1 + 1").expect("eval"), json!(2));
    }

    #[test]
    fn the_prelude_does_not_count_against_a_small_budget() {
        // Loading the prelude takes longer than 1 ms; a script does not get it.
        let e = engine(Limits {
            time: Duration::from_millis(1),
            ..Limits::default()
        });
        let err = e
            .eval("loop.js", "while (true) {}")
            .expect_err("interrupted");
        assert!(err.timed_out, "{err}");
        assert!(err.message.contains("time budget of 1 ms"), "{err}");
    }

    /// The loop ends only when a task queued behind it on the same (only)
    /// async worker has run: it can run only if the long call handed the
    /// worker's tasks to another thread. Without that, the call would end
    /// at its time budget with an error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_long_call_on_an_async_worker_lets_its_other_tasks_run() {
        use std::sync::atomic::AtomicBool;
        let call = tokio::spawn(async {
            let done = Arc::new(AtomicBool::new(false));
            let queued = std::cell::Cell::new(false);
            let host: Host = Rc::new(move |op, _| {
                assert_eq!(op, "done");
                if !queued.replace(true) {
                    let d = Arc::clone(&done);
                    tokio::spawn(async move { d.store(true, Ordering::SeqCst) });
                }
                Ok(json!(done.load(Ordering::SeqCst)))
            });
            let e = Engine::new(Limits::default(), host, &[]).expect("engine");
            assert!(on_async_worker());
            e.run_on_worker(|ctx| ctx.eval::<bool, _>("while (!__call('done')) {} true"))
        });
        let out = call.await.expect("task");
        assert!(out.expect("the queued task ran"));
    }

    #[test]
    fn a_memory_bomb_fails_with_out_of_memory() {
        let e = engine(Limits {
            memory: 16 << 20,
            ..Limits::default()
        });
        let err = e
            .eval(
                "bomb.js",
                "let a = []; while (true) a.push('x'.repeat(1000) + a.length);",
            )
            .expect_err("out of memory");
        assert!(err.message.contains("memory"), "{err}");
        // The heap may stay full: the worker pool replaces such an engine.
        assert!(err.out_of_memory(), "{err}");
    }

    #[test]
    fn unsupported_and_legacy_names_fail_loudly() {
        let e = engine(Limits::default());
        let cases = [
            ("onRecordBeforeCreateRequest(() => {})", "PocketBase < 0.23"),
            ("new Dao()", "PocketBase < 0.23"),
            ("migrate((db) => {})", "PocketBase < 0.23"),
            ("__makeApp().dao()", "PocketBase < 0.23"),
            ("__makeApp().newBackup()", "$app.newBackup is not supported"),
            (
                "$mails.sendRecordOTP()",
                "$mails.sendRecordOTP is not supported",
            ),
            ("$dbx.fancyExp({})", "$dbx.fancyExp is not supported"),
            (
                "__makeApp().db().select('a').from('t').join('u')",
                "$app.db().select().join() is not supported",
            ),
            (
                "__makeApp().recordQuery({}).groupBy('a')",
                ".groupBy() is not supported",
            ),
        ];
        for (src, want) in cases {
            let err = e.eval("x.js", src).expect_err(src);
            assert!(err.message.contains(want), "{src}: {err}");
        }
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = engine(Limits::default());
        let err = e
            .eval("pb_hooks/x.pb.js", "\n\nthrow new Error('nope')")
            .expect_err("throws");
        assert!(err.message.contains("nope"));
        assert!(err.to_string().contains("x.pb.js:3"), "{err}");
    }
}
