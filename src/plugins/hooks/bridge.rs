//! The request bridge of `routerAdd` routes: how a request reaches its
//! handler and how the handler's response comes back.
//!
//! Two costs dominated a hook route (issue 15's benchmark): the thread
//! hand-offs (async worker → JS worker → async worker) and the JSON text
//! the request and response crossed as. So a request crosses as a handful
//! of JavaScript strings set on one object (headers as one text block, the
//! query and auth parsed only when a handler asks), the response comes back
//! as plain fields read from the returned object, and the call runs on the
//! async worker's own engine (one per thread, built for the current
//! generation) when it can. A call that runs long hands the worker's other
//! tasks to another thread (`Engine::run_on_worker`), so a slow handler
//! holds up only itself. A nested call (a route reached while this
//! thread's engine is busy) and calls outside a multi-threaded runtime go
//! to the worker pool, with the same conversion.

use std::cell::RefCell;

use rquickjs::function::Args;
use rquickjs::{Ctx, Function, Object};

use super::{Generation, Hooks, pool};
use crate::plugins::runtime::{Engine, JsError, on_async_worker};

/// One request for a route handler.
pub struct RouteRequest {
    /// Index of the route in the generation's table.
    pub idx: usize,
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub params: Vec<(String, String)>,
    /// `name: value` lines (names lower case), parsed on first use.
    pub headers: String,
    pub body: String,
    pub ip: String,
    /// `{collection, record}` of the caller as JSON text.
    pub auth: Option<String>,
    /// The store's schema generation (scripts cache collections per value).
    pub schema: u64,
}

/// What a handler answered.
#[derive(Debug, Default)]
pub struct RouteReply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// A thrown error to log (the client gets a generic message).
    pub log: String,
}

thread_local! {
    /// This thread's engine and the generation it was built for.
    static LOCAL: RefCell<Option<(u64, Engine)>> = const { RefCell::new(None) };
}

/// Runs the route on this thread's engine; `None` when this thread cannot
/// (not a multi-threaded runtime worker, or its engine is busy).
pub fn run_here(
    hooks: &Hooks,
    generation: &Generation,
    req: &RouteRequest,
) -> Option<Result<RouteReply, JsError>> {
    if !on_async_worker() {
        return None;
    }
    LOCAL.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.as_ref().map(|(id, _)| *id) != Some(generation.id) {
            *slot = None;
            let host = (hooks.make_host)();
            match pool::engine_for(hooks.limits, host, &hooks.globals, Some(&generation.table)) {
                Ok(e) => *slot = Some((generation.id, e)),
                Err(e) => return Some(Err(e)),
            }
        }
        let (_, engine) = slot.as_ref()?;
        let out = engine.run_on_worker(|ctx| call(ctx, req));
        // A `runInTransaction` the call left open (cut short) rolls back.
        super::tx::reset();
        if out.as_ref().is_err_and(JsError::out_of_memory) {
            *slot = None;
        }
        Some(out)
    })
}

/// Runs the route on a pool worker's engine.
pub async fn run_pooled(
    hooks: &Hooks,
    generation: std::sync::Arc<Generation>,
    req: RouteRequest,
) -> Result<RouteReply, JsError> {
    hooks
        .pool
        .run_with(generation, move |engine| engine.run(|ctx| call(ctx, &req)))
        .await
}

/// `__runRoute(idx, ...event parts)`: positional arguments (the script
/// builds the event object with one literal, whose shape QuickJS caches).
fn call<'js>(ctx: &Ctx<'js>, req: &RouteRequest) -> rquickjs::Result<RouteReply> {
    let params = Object::new(ctx.clone())?;
    for (k, v) in &req.params {
        params.set(k.as_str(), v.as_str())?;
    }
    let mut args = Args::new(ctx.clone(), 11);
    args.push_arg(req.idx as u32)?;
    args.push_arg(req.method.as_str())?;
    args.push_arg(req.path.as_str())?;
    args.push_arg(req.raw_query.as_str())?;
    args.push_arg(params)?;
    args.push_arg(req.headers.as_str())?;
    args.push_arg(req.body.as_str())?;
    args.push_arg(req.ip.as_str())?;
    args.push_arg(req.auth.as_deref())?;
    args.push_arg(req.schema as f64)?;
    let f: Function = ctx.globals().get("__runRoute")?;
    match f.call_arg::<rquickjs::Value>(args) {
        Ok(out) => reply(out),
        Err(e) => {
            // A call cut short by its budget skips the script's own reset.
            ctx.globals().set("__schemaGen", -1)?;
            Err(e)
        }
    }
}

/// The `[status, type, body, headers, log]` array `__runRoute` returns
/// (read by index: a property name would be made into an atom and looked
/// up, each time; issue 15: ~2k instructions a request).
fn reply(v: rquickjs::Value<'_>) -> rquickjs::Result<RouteReply> {
    let Some(a) = v.as_array() else {
        return Ok(RouteReply {
            status: 200,
            ..RouteReply::default()
        });
    };
    let text = |i: usize| -> rquickjs::Result<String> {
        Ok(a.get::<Option<String>>(i)?.unwrap_or_default())
    };
    let status = a
        .get::<rquickjs::Value>(0)?
        .as_number()
        .filter(|n| (100.0..1000.0).contains(n))
        .map_or(200, |n| n as u16);
    let mut headers = Vec::new();
    if let Some(h) = a.get::<Option<Object>>(3)? {
        for kv in h.props::<String, rquickjs::Coerced<String>>() {
            let (k, v) = kv?;
            headers.push((k, v.0));
        }
    }
    Ok(RouteReply {
        status,
        content_type: text(1)?,
        body: text(2)?,
        headers,
        log: text(4)?,
    })
}
