//! Hook code inside the write transaction.
//!
//! Cairn writes on one thread (`store/pool.rs`), and hook code runs on the
//! JavaScript workers. For `$app.runInTransaction(fn)` and for the code a
//! REST write's hooks run after `e.next()`, the two meet in a *session*: a
//! write job that holds its savepoint open and serves the worker's requests
//! from a channel. Once a session is open on a worker, the script's `$app`
//! reads and writes (`conn_host`'s operations, the same ones migrations run
//! on their connection) go to the writer's connection, so they see the
//! transaction's own writes and commit or roll back with it; each runs in
//! its own savepoint, so a failed save a script catches leaves no trace.
//!
//! Why a channel rather than running JavaScript on the writer thread: the
//! engines (and their compiled handlers) live on the workers, and the
//! writer must stay plain Rust. Why not hold a transaction for the whole
//! hook chain: the session opens only when the chain reaches the write (the
//! last `e.next()`), so code before `e.next()` (usually the bulk of a hook,
//! often an `$http.send`) never holds the writer.
//!
//! The writer is never held longer than the per-call budget
//! (`js_time_limit_ms`): the job rolls back and moves on when the script has
//! not ended the session by then, or as soon as the worker drops it (a call
//! that failed or ran out of time). Other writes wait meanwhile; that is
//! the price of one transaction, as in PocketBase, where a transaction holds
//! SQLite's write lock.
//!
//! The state is per thread (a pool worker, or the async worker a route
//! runs on, runs one call at a time); `reset` after each call rolls back
//! whatever the call left open.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::app::App;
use crate::plugins::conn_host;
use crate::plugins::runtime::HostError;
use crate::store::savepoint::{ItemSavepoint, item_savepoint};
use crate::store::{Schema, WriteCtx};

/// Work to run inside the session's transaction, with the collections as
/// the transaction sees them. Its answer goes back to the script.
pub type Job =
    Box<dyn for<'a> FnOnce(&mut WriteCtx<'a>, &Arc<Schema>) -> Result<Value, HostError> + Send>;

/// The write a REST request's hook chain ends with: given the data the
/// hooks left (`{data}`, and `{index}` in a batch), the job that writes it
/// inside the open transaction, or the answer of a write it did itself.
pub type Terminal = Box<dyn FnMut(Value) -> Result<Step, HostError> + Send>;

/// What a terminal did.
pub enum Step {
    /// Run this inside the session.
    Job(Job),
    /// Written already (with no transaction open): this is the answer.
    Done(Value),
}

/// A terminal for one write only.
pub fn once(f: impl FnOnce(Value) -> Result<Step, HostError> + Send + 'static) -> Terminal {
    let mut f = Some(f);
    Box::new(move |v| match f.take() {
        Some(f) => f(v),
        None => Err(HostError::new(500, "this write has already run")),
    })
}

enum Cmd {
    Op(String, Value, mpsc::Sender<Result<Value, HostError>>),
    Job(Job, mpsc::Sender<Result<Value, HostError>>),
    End(bool),
}

/// An open session: the write job serving this worker.
struct Session {
    cmds: mpsc::Sender<Cmd>,
    done: mpsc::Receiver<Result<(), String>>,
    /// When the writer gives up on it.
    deadline: Instant,
    budget: Duration,
}

#[derive(Default)]
struct State {
    session: Option<Session>,
    /// Nested `tx.begin`s (runInTransaction inside a hook's transaction).
    depth: u32,
    terminal: Option<Terminal>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Installs the REST write of the call about to run on this worker.
pub fn set_terminal(t: Option<Terminal>) {
    STATE.with(|s| s.borrow_mut().terminal = t);
}

/// After each call: rolls back a session the call left open (it failed or
/// ran out of time) and forgets its write.
pub fn reset() {
    let old = STATE.with(|s| std::mem::take(&mut *s.borrow_mut()));
    drop(old); // dropping the channel ends the job: it rolls back
}

/// Whether `route` may answer `op`: a transaction operation, or any
/// operation while a session is open on this thread. A cheap test, so the
/// host asks it first and hands the worker on (`runtime::blocking`) only
/// for what waits on the writer.
pub fn routes(op: &str) -> bool {
    op.starts_with("tx.") || STATE.with(|s| s.borrow().session.is_some())
}

/// Answers the transaction operations (`tx.begin`, `tx.end`, `tx.write`)
/// and, while a session is open, the reads and writes it must serve.
/// `None`: an operation for the ordinary host.
pub fn route(
    app: &Arc<App>,
    rt: &tokio::runtime::Handle,
    op: &str,
    args: &Value,
) -> Option<Result<Value, HostError>> {
    match op {
        "tx.begin" => Some(begin(app, rt)),
        "tx.end" => Some(end(args["commit"] == true)),
        "tx.write" => Some(write(args.clone())),
        _ => {
            let open = STATE.with(|s| s.borrow().session.is_some());
            if !open {
                return None;
            }
            if conn_host::answers(op) {
                return Some(request(|reply| Cmd::Op(op.to_owned(), args.clone(), reply)));
            }
            if matches!(op, "settings.save") {
                return Some(Err(HostError::new(
                    400,
                    format!("{op} is not available inside a transaction in Cairn"),
                )));
            }
            None
        }
    }
}

fn begin(app: &Arc<App>, rt: &tokio::runtime::Handle) -> Result<Value, HostError> {
    let open = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.depth += 1;
        s.session.is_some()
    });
    if open {
        return Ok(json!(false));
    }
    let budget = Duration::from_millis(app.config.js_time_limit_ms.max(1));
    match Session::open(app, rt, budget) {
        Ok(session) => {
            STATE.with(|s| s.borrow_mut().session = Some(session));
            Ok(json!(true))
        }
        Err(e) => {
            STATE.with(|s| s.borrow_mut().depth -= 1);
            Err(e)
        }
    }
}

/// Ends one `tx.begin`; the outermost commits (or rolls back) and waits for
/// the commit, so what runs next (after-success hooks) sees it durable.
fn end(commit: bool) -> Result<Value, HostError> {
    let session = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.depth = s.depth.saturating_sub(1);
        if s.depth == 0 { s.session.take() } else { None }
    });
    match session {
        Some(session) => session.end(commit).map(|()| Value::Null),
        None => Ok(Value::Null),
    }
}

/// The REST write, inside the open session.
fn write(args: Value) -> Result<Value, HostError> {
    let terminal = STATE.with(|s| s.borrow_mut().terminal.take());
    let mut terminal =
        terminal.ok_or_else(|| HostError::new(500, "no record write is pending on this call"))?;
    let step = terminal(args);
    STATE.with(|s| s.borrow_mut().terminal = Some(terminal));
    match step? {
        Step::Job(job) => request(|reply| Cmd::Job(job, reply)),
        Step::Done(v) => Ok(v),
    }
}

/// Sends one command to the open session and waits for its answer.
fn request(
    cmd: impl FnOnce(mpsc::Sender<Result<Value, HostError>>) -> Cmd,
) -> Result<Value, HostError> {
    let sent = STATE.with(|s| {
        let s = s.borrow();
        let session = s.session.as_ref()?;
        let (reply, rx) = mpsc::channel();
        session.cmds.send(cmd(reply)).ok()?;
        Some((rx, session.deadline, session.budget))
    });
    let Some((rx, deadline, budget)) = sent else {
        return Err(closed(None));
    };
    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .map_err(|_| closed(Some(budget)))?
}

fn closed(budget: Option<Duration>) -> HostError {
    match budget {
        Some(b) => HostError::new(
            400,
            format!(
                "the transaction was rolled back: it was still open after {} ms",
                b.as_millis()
            ),
        ),
        None => HostError::new(400, "the transaction has already ended"),
    }
}

impl Session {
    /// Queues the job and waits (at most `budget`) for the writer to start it.
    fn open(
        app: &Arc<App>,
        rt: &tokio::runtime::Handle,
        budget: Duration,
    ) -> Result<Self, HostError> {
        let (cmds, rx) = mpsc::channel::<Cmd>();
        let (started_tx, started) = mpsc::channel::<Instant>();
        let (done_tx, done) = mpsc::channel();
        let app2 = Arc::clone(app);
        rt.spawn(async move {
            let schema = app2.store.schema();
            let res = app2
                .store
                .write(move |ctx| {
                    let deadline = Instant::now() + budget;
                    let _ = started_tx.send(deadline);
                    serve(ctx, &rx, schema, deadline, budget)
                })
                .await;
            let _ = done_tx.send(res.map_err(|e: HostError| e.message));
        });
        let deadline = started.recv_timeout(budget).map_err(|_| {
            HostError::new(
                400,
                format!(
                    "the transaction could not start within {} ms (the writer is busy)",
                    budget.as_millis()
                ),
            )
        })?;
        Ok(Self {
            cmds,
            done,
            deadline,
            budget,
        })
    }

    fn end(self, commit: bool) -> Result<(), HostError> {
        let _ = self.cmds.send(Cmd::End(commit));
        // The job returns at once; the wait is for the group commit.
        let res = self
            .done
            .recv_timeout(self.budget + Duration::from_secs(30))
            .map_err(|_| HostError::new(500, "the transaction's commit did not finish"))?;
        match res {
            Err(e) if commit => Err(HostError::new(400, e)),
            _ => Ok(()),
        }
    }
}

/// The session's write job: serves commands until the script ends it, it
/// is dropped, or `deadline` passes (an `Err` rolls the job back).
fn serve(
    ctx: &mut WriteCtx<'_>,
    rx: &mpsc::Receiver<Cmd>,
    mut schema: Arc<Schema>,
    deadline: Instant,
    budget: Duration,
) -> Result<(), HostError> {
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Cmd::Op(op, args, reply)) => {
                let changes = conn_host::changes_schema(&op);
                let res = in_savepoint(ctx, |ctx| conn_host::dispatch(ctx, &schema, &op, args));
                if changes && res.is_ok() {
                    ctx.schema_changed = true;
                    if let Ok(s) = Schema::load(ctx.conn) {
                        schema = Arc::new(s);
                    }
                }
                let _ = reply.send(res);
            }
            Ok(Cmd::Job(job, reply)) => {
                let res = in_savepoint(ctx, |ctx| job(ctx, &schema));
                let _ = reply.send(res);
            }
            Ok(Cmd::End(true)) => return Ok(()),
            Ok(Cmd::End(false)) => return Err(HostError::new(400, "rolled back")),
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    budget_ms = budget.as_millis() as u64,
                    "a hook kept a transaction open past its budget; rolled back"
                );
                return Err(closed(Some(budget)));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(HostError::new(400, "the transaction was abandoned"));
            }
        }
    }
}

/// Runs `f` in its own savepoint: a failure leaves no partial write.
fn in_savepoint(
    ctx: &mut WriteCtx<'_>,
    f: impl FnOnce(&mut WriteCtx<'_>) -> Result<Value, HostError>,
) -> Result<Value, HostError> {
    item_savepoint(ctx.conn, ItemSavepoint::Begin).map_err(conn_host::to_host)?;
    let res = f(ctx);
    let step = if res.is_ok() {
        ItemSavepoint::Keep
    } else {
        ItemSavepoint::Undo
    };
    item_savepoint(ctx.conn, step).map_err(conn_host::to_host)?;
    res
}
