//! One writer thread (several on PostgreSQL), many readers.
//!
//! SQLite allows one writer at a time, so one thread owns the write
//! connection and drains a queue of jobs. Every job that is waiting when the
//! writer wakes is committed in the same transaction (group commit: one WAL
//! append and one sync decision for many requests), each inside its own
//! SAVEPOINT so a failing job rolls back only itself. Replies are sent only
//! after COMMIT returns, so nothing is acknowledged before it is durable.
//! The first job of a transaction needs no savepoint (if it fails, the
//! transaction is rolled back and begun again for the jobs after it), and
//! [`Writer::run_leading`] puts the webhook dispatcher's jobs there, so
//! their writes are never copied into a savepoint's journal.
//!
//! PostgreSQL takes concurrent writers and groups their WAL flushes itself,
//! and a write group there would hold every row lock of its jobs until the
//! group commits: two nodes' groups touching the same rows in different
//! orders then wait for each other up to `deadlock_timeout` (updates of
//! random rows through two nodes completed none in 4 s). So on PostgreSQL
//! a few writer threads, each on a session of its own, take one job at a
//! time from the same queue and run it in a transaction of its own: a
//! job's row locks last as long as the job.
//!
//! Readers are plain read-only connections in a small pool
//! (`store/readers.rs`); WAL lets them run alongside the writer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::Connection;

use super::StoreError;
pub use super::readers::{Opener, Readers};

/// Most jobs committed together in one transaction.
pub const MAX_GROUP: usize = 256;
pub use super::connection::{STATEMENT_CACHE, configure, geo_distance_km, temp_dir_writable};

/// Opens the read-write connection (creating the file).
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(StoreError::Sqlite)?;
    configure(&conn, true).map_err(StoreError::Sqlite)?;
    Ok(conn)
}

/// What a job tells the writer after running.
pub struct Done {
    ok: bool,
    deliver: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// State a job can touch besides the connection.
pub struct WriteCtx<'a> {
    pub conn: &'a super::Conn<'a>,
    /// Set by jobs that changed `_collections`; the writer reloads the
    /// schema cache after commit, before replying.
    pub schema_changed: bool,
    /// The last change-log sequence number this job appended, if any.
    pub last_seq: Option<i64>,
    /// Runs in the transaction of every appended change (the webhook outbox).
    pub change_hook: Option<&'a dyn super::changes::ChangeHook>,
    /// Writes the job asks for at the end of its group (see [`Deferred`]).
    pub deferred: Vec<Deferred>,
}

/// A write a job leaves for the end of its group transaction: it runs after
/// every job of the group, outside their savepoints but before `COMMIT`, and
/// only if its job was kept. It commits with the job or not at all; if it
/// fails, the whole group rolls back and every job is told so. The webhook
/// outbox's delivery rows go this way: written inside the job's savepoint,
/// each first touch of a page copied it into the savepoint's journal (three
/// b-trees, about a sixth of a create's instructions).
pub type Deferred = Box<dyn FnOnce(&super::Conn) -> Result<(), StoreError> + Send>;

impl<'a> WriteCtx<'a> {
    /// A context for one job (or a write made outside the writer thread).
    pub fn new(
        conn: &'a super::Conn<'a>,
        change_hook: Option<&'a dyn super::changes::ChangeHook>,
    ) -> Self {
        Self {
            conn,
            schema_changed: false,
            last_seq: None,
            change_hook,
            deferred: Vec::new(),
        }
    }

    /// Runs the deferred writes now (a write made outside the writer
    /// thread, where no other job shares the transaction).
    pub fn run_deferred(&mut self) -> Result<(), StoreError> {
        for d in self.deferred.drain(..) {
            d(self.conn)?;
        }
        Ok(())
    }
}

type Job = Box<dyn for<'a> FnOnce(&mut WriteCtx<'a>) -> Done + Send>;

/// A job in the queue, and whether it leads its group (see
/// [`Writer::run_leading`]).
type Queued = (Job, bool);

/// Called on the writer thread after each commit, before replies go out,
/// with whether the schema changed and the last change-log seq committed
/// (shared by the writer threads on PostgreSQL).
pub type AfterCommit = std::sync::Arc<dyn Fn(&super::Conn, bool, Option<i64>) + Send + Sync>;

/// A connection of either engine that can move to the thread using it.
pub type Owned = Box<dyn super::sql::Db + Send>;

/// What the writer reports to metrics: jobs waiting, and how many jobs
/// each group commit carried.
pub struct WriterStats {
    pub queued: std::sync::atomic::AtomicI64,
    pub group_sizes: prometheus_client::metrics::histogram::Histogram,
    /// Jobs run again after losing a deadlock or serialization conflict.
    pub reruns: prometheus_client::metrics::counter::Counter,
}

impl Default for WriterStats {
    fn default() -> Self {
        let buckets = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
        Self {
            queued: Default::default(),
            group_sizes: prometheus_client::metrics::histogram::Histogram::new(buckets),
            reruns: Default::default(),
        }
    }
}

/// How many times `run_again` runs a job that keeps losing conflicts.
const RETRIES: u64 = 5;

/// Handle to the writer threads.
pub struct Writer {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
    pub stats: std::sync::Arc<WriterStats>,
}

/// How the writer threads work: one thread grouping jobs (SQLite), or
/// several sessions with a job each (PostgreSQL).
pub struct Lanes {
    /// Writer threads, each with a session of its own.
    pub threads: usize,
    /// Most jobs one transaction carries.
    pub group: usize,
}

impl Lanes {
    /// SQLite: one writer, group commits of up to [`MAX_GROUP`] jobs.
    pub const GROUPED: Lanes = Lanes {
        threads: 1,
        group: MAX_GROUP,
    };

    /// PostgreSQL: `threads` sessions, a transaction per job.
    pub fn concurrent(threads: usize) -> Self {
        Lanes {
            threads: threads.max(1),
            group: 1,
        }
    }
}

/// What a writer thread starts with.
struct Lane {
    conn: Option<Owned>,
    reopen: Option<std::sync::Arc<Opener>>,
    rx: std::sync::Arc<Mutex<mpsc::Receiver<Queued>>>,
    after_commit: AfterCommit,
    stats: std::sync::Arc<WriterStats>,
    hook: HookSlot,
    group: usize,
}

impl Writer {
    /// Starts the writer threads, the first on `conn`; the others open
    /// their sessions with `reopen` when they first get a job. `reopen`
    /// (PostgreSQL) also opens a new session when one broke (the server
    /// restarted or failed over), so writes resume without restarting
    /// Cairn.
    pub fn start(
        conn: Owned,
        reopen: Option<Opener>,
        after_commit: AfterCommit,
        hook: HookSlot,
        lanes: Lanes,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Queued>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let reopen = reopen.map(std::sync::Arc::new);
        let stats = std::sync::Arc::new(WriterStats::default());
        let mut first = Some(conn);
        let handles = (0..lanes.threads)
            .filter_map(|_| {
                let lane = Lane {
                    conn: first.take(),
                    reopen: reopen.clone(),
                    rx: std::sync::Arc::clone(&rx),
                    after_commit: std::sync::Arc::clone(&after_commit),
                    stats: std::sync::Arc::clone(&stats),
                    hook: std::sync::Arc::clone(&hook),
                    group: lanes.group,
                };
                std::thread::Builder::new()
                    .name("cairn-writer".into())
                    .spawn(move || writer_loop(lane))
                    .ok()
            })
            .collect();
        Self {
            tx: Mutex::new(Some(tx)),
            handles: Mutex::new(handles),
            stats,
        }
    }

    /// Runs `f` inside the next group transaction and waits for its commit.
    pub async fn run<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> FnOnce(&mut WriteCtx<'a>) -> Result<R, E> + Send + 'static,
    {
        self.submit(f, false).await.0
    }

    /// `run` for a job that goes first in its group, so without a
    /// savepoint: the webhook dispatcher's turns, whose writes touch
    /// several pages (outbox rows, their indexes, the attempt log). It
    /// commits with the group it would have joined anyway.
    pub async fn run_leading<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> FnOnce(&mut WriteCtx<'a>) -> Result<R, E> + Send + 'static,
    {
        self.submit(f, true).await.0
    }

    /// `run` for a job that may run again: one that failed because it lost
    /// a deadlock or a serialization conflict (PostgreSQL, another node
    /// writing the same rows) rolled back to its savepoint, so it is run
    /// again in a later group, a few times, before its error is answered.
    pub async fn run_again<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> Fn(&mut WriteCtx<'a>) -> Result<R, E> + Send + Sync + 'static,
    {
        let f = std::sync::Arc::new(f);
        let mut tries = 0u64;
        loop {
            let g = std::sync::Arc::clone(&f);
            let (out, conflict) = self.submit(move |ctx| g(ctx), false).await;
            tries += 1;
            if !conflict || tries >= RETRIES {
                return out;
            }
            tracing::debug!(tries, "a write job lost a conflict; running it again");
            self.stats.reruns.inc();
            // Apart from the other side's retry, which may be waiting too.
            let jitter = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::from(d.subsec_nanos()) % 5_000);
            tokio::time::sleep(std::time::Duration::from_micros(1_000 * tries + jitter)).await;
        }
    }

    /// Queues `f` for the next group; its result, and whether it failed by
    /// losing a conflict.
    async fn submit<R, E, F>(&self, f: F, lead: bool) -> (Result<R, E>, bool)
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'a> FnOnce(&mut WriteCtx<'a>) -> Result<R, E> + Send + 'static,
    {
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel::<(Result<R, E>, bool)>();
        let job: Job = Box::new(move |ctx| {
            let _ = ctx.conn.take_conflict();
            let res = f(ctx);
            let conflict = res.is_err() && ctx.conn.take_conflict();
            Done {
                ok: res.is_ok(),
                deliver: Box::new(move |commit| {
                    let out = match commit {
                        Ok(()) => res,
                        Err(e) => Err(E::from(e)),
                    };
                    let _ = reply_tx.send((out, conflict));
                }),
            }
        });
        use std::sync::atomic::Ordering::Relaxed;
        self.stats.queued.fetch_add(1, Relaxed);
        let sent = match self.tx.lock() {
            Ok(g) => g
                .as_ref()
                .map(|tx| tx.send((job, lead)).is_ok())
                .unwrap_or(false),
            Err(_) => false,
        };
        if !sent {
            self.stats.queued.fetch_sub(1, Relaxed);
            return (Err(E::from(StoreError::Closed)), false);
        }
        reply_rx
            .await
            .unwrap_or_else(|_| (Err(E::from(StoreError::Closed)), false))
    }

    /// Stops accepting jobs, lets the queue drain and joins the threads.
    pub fn shutdown(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        let handles = self
            .handles
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }
}

/// Drops a worker thread's sender (its loop ends once the queue is
/// drained) and joins the thread: the writer's and the checkpointer's
/// shutdown.
pub(super) fn stop_thread<T>(
    tx: &Mutex<Option<T>>,
    handle: &Mutex<Option<std::thread::JoinHandle<()>>>,
) {
    if let Ok(mut g) = tx.lock() {
        g.take();
    }
    let handle = handle.lock().ok().and_then(|mut h| h.take());
    if let Some(h) = handle {
        let _ = h.join();
    }
}

/// Where the change hook is installed once the services exist.
pub type HookSlot =
    std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<dyn super::changes::ChangeHook>>>>;

/// The next jobs for one transaction: the first waiting (blocking until
/// there is one), then up to `group` in all that are already queued,
/// leading jobs first (otherwise in queue order). `None` once the queue
/// is closed and empty.
fn next_jobs(rx: &Mutex<mpsc::Receiver<Queued>>, group: usize) -> Option<Vec<Job>> {
    let rx = rx.lock().ok()?;
    let mut batch = vec![rx.recv().ok()?];
    while batch.len() < group {
        match rx.try_recv() {
            Ok(j) => batch.push(j),
            Err(_) => break,
        }
    }
    Some(leading_first(batch))
}

/// Leading jobs first, each side in queue order.
fn leading_first(mut batch: Vec<Queued>) -> Vec<Job> {
    batch.sort_by_key(|(_, lead)| !*lead);
    batch.into_iter().map(|(job, _)| job).collect()
}

fn writer_loop(lane: Lane) {
    let Lane {
        mut conn,
        reopen,
        rx,
        after_commit,
        stats,
        hook,
        group,
    } = lane;
    while let Some(batch) = next_jobs(&rx, group) {
        stats
            .queued
            .fetch_sub(batch.len() as i64, std::sync::atomic::Ordering::Relaxed);
        stats.group_sizes.observe(batch.len() as f64);
        if conn.as_ref().is_none_or(|c| c.is_broken())
            && let Some(open) = &reopen
        {
            match open() {
                Ok(fresh) => {
                    if conn.is_some() {
                        tracing::warn!("a writer's database session broke; reconnected");
                    }
                    conn = Some(fresh);
                }
                // The jobs are dropped: their callers get an error answer,
                // and the next group tries again.
                Err(e) => tracing::error!(error = %e, "a writer could not connect"),
            }
        }
        let Some(c) = conn.as_deref() else {
            // No session yet (the database is down): the jobs are dropped.
            continue;
        };
        let hook = hook.read().ok().and_then(|g| g.clone());
        run_group(c, batch, &after_commit, hook.as_deref());
    }
    // Queue closed: fold the WAL back into the main file.
    if let Some(c) = conn.as_ref().and_then(|c| c.sqlite()) {
        let _ = c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

fn run_group(
    conn: &super::Conn,
    batch: Vec<Job>,
    after_commit: &AfterCommit,
    change_hook: Option<&dyn super::changes::ChangeHook>,
) {
    let started = std::time::Instant::now();
    let jobs = batch.len();
    let mut dones = Vec::with_capacity(batch.len());
    if let Err(e) = control(conn, conn.dialect().begin_write()) {
        let msg = e.to_string();
        for job in batch {
            // Run nothing; tell everyone the transaction could not start.
            drop(job);
            tracing::error!(error = %msg, "writer could not begin a transaction");
        }
        return;
    }
    let mut schema_changed = false;
    let mut last_seq = None;
    let mut deferred = Vec::new();
    // The first job of a transaction needs no savepoint: if it fails,
    // rolling the transaction back undoes exactly its writes, and the
    // jobs after it run in a new one. On SQLite a savepoint copies every
    // page the job touches into its sub-journal (docs/performance.md,
    // "Session 13"); on PostgreSQL, where every job is alone, it saves two
    // round trips. A lost conflict is told by the session
    // (`take_conflict`), not by the savepoint.
    let mut head = true;
    // Cached statements: these run for every job.
    let exec = |sql: &str| conn.exec(sql, &[]);
    let mut queue = batch.into_iter().peekable();
    while let Some(job) = queue.next() {
        let lead = std::mem::take(&mut head);
        if !lead && exec("SAVEPOINT job").is_err() {
            continue;
        }
        let mut ctx = WriteCtx::new(conn, change_hook);
        let done = catch_unwind(AssertUnwindSafe(|| job(&mut ctx)));
        let keep = matches!(&done, Ok(d) if d.ok);
        if keep {
            schema_changed |= ctx.schema_changed;
            last_seq = ctx.last_seq.or(last_seq);
            deferred.append(&mut ctx.deferred);
        } else if !lead {
            let _ = exec("ROLLBACK TO job");
        }
        if !lead {
            let _ = exec("RELEASE job");
        }
        match done {
            Ok(done) => dones.push(done),
            Err(_) => tracing::error!("a write job panicked; its changes were rolled back"),
        }
        if lead && !keep {
            // Nothing of the transaction to keep; the job's own error is
            // its answer. The jobs after it start a new transaction.
            let _ = conn.batch("ROLLBACK");
            if queue.peek().is_none() {
                for d in dones {
                    (d.deliver)(Ok(()));
                }
                return;
            }
            if let Err(e) = control(conn, conn.dialect().begin_write()) {
                tracing::error!(error = %e, "writer could not begin a transaction");
                for d in dones {
                    (d.deliver)(Ok(()));
                }
                // The jobs not run are dropped: their callers get an error.
                return;
            }
            head = true;
        }
    }
    let ran = started.elapsed();
    let commit = deferred
        .into_iter()
        .try_for_each(|d| d(conn))
        .and_then(|()| match schema_changed {
            // Other nodes on the same PostgreSQL database reload it.
            true => super::cluster::bump(conn, super::cluster::Cached::Schema),
            false => Ok(()),
        })
        .and_then(|()| control(conn, "COMMIT"));
    tracing::trace!(jobs, ?ran, total = ?started.elapsed(), "group commit");
    let result = match commit {
        Ok(()) => {
            after_commit(conn, schema_changed, last_seq);
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            let _ = conn.batch("ROLLBACK");
            Err(StoreError::CommitFailed)
        }
    };
    for d in dones {
        let r = match &result {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::CommitFailed),
        };
        (d.deliver)(r);
    }
}

/// Runs a transaction's `BEGIN` or `COMMIT`: on SQLite as a cached
/// statement (`batch` prepared it anew for every group, ~2 % of a lone
/// create's instructions).
fn control(conn: &super::Conn, sql: &str) -> Result<(), StoreError> {
    match conn.sqlite() {
        Some(_) => conn.exec(sql, &[]).map(|_| ()),
        None => conn.batch(sql),
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
