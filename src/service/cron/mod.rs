//! The one cron scheduler: jobs with an id, a five-field cron expression
//! (or `@hourly`-style macros) and an async function.
//!
//! Why one: PocketBase runs every periodic task (log cleanup, database
//! optimize, auto backups, plugin `cronAdd`) on one scheduler, and the
//! dashboard lists them all from `GET /api/crons`. Registering is one line:
//!
//! ```ignore
//! app.cron.add("__myRetention__", "0 * * * *", move || async move { work().await })?;
//! ```
//!
//! Guarantees:
//! - a job never runs twice at the same time: a tick (or a manual run) that
//!   finds it still running is skipped and logged;
//! - a job that fails (returns `Err`) or panics is logged and simply runs
//!   again at its next matching minute;
//! - adding a job with an existing id replaces it (plugins reload);
//! - plugin jobs (`pb_hooks` `cronAdd`/`cronRemove`) live in an overlay:
//!   one with a built-in job's id shadows it (or hides it), as PocketBase's
//!   hooks replace the job, and clearing the overlay brings the built-in job
//!   back, because Cairn reloads hooks in-process where PocketBase restarts.
//!
//! Ticks happen at the start of every UTC minute; each job whose expression
//! matches that minute is spawned on the Tokio runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// What a job returns: `Err` is logged (never shown to clients).
pub type JobResult = Result<(), String>;
type BoxFut = Pin<Box<dyn Future<Output = JobResult> + Send>>;
type JobFn = Arc<dyn Fn() -> BoxFut + Send + Sync>;

/// A cron expression that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct CronError(pub String);

impl std::fmt::Display for CronError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

/// Parses a five-field expression or a macro (`@yearly`, `@monthly`,
/// `@weekly`, `@daily`, `@midnight`, `@hourly`), like PocketBase.
pub fn parse(expr: &str) -> Result<Cron, CronError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr.trim())
        .map_err(|e| CronError(e.to_string()))
}

struct Job {
    id: String,
    expression: String,
    schedule: Cron,
    run: JobFn,
    running: AtomicBool,
}

/// A job as listed by `GET /api/crons`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Listed {
    pub id: String,
    pub expression: String,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    pub skipped: AtomicU64,
}

/// The scheduler. Cheap to share (`Arc`); jobs may be added at any time.
#[derive(Default)]
pub struct Scheduler {
    jobs: RwLock<BTreeMap<String, Arc<Job>>>,
    /// Plugin jobs by id: `Some` shadows a job of `jobs`, `None` hides it.
    overlay: RwLock<BTreeMap<String, Option<Arc<Job>>>>,
    pub stats: Stats,
    /// Several nodes on one database: scheduled ticks run only on the node
    /// this says leads (manual runs run where they are asked for).
    leads: RwLock<Option<LeadFn>>,
}

type LeadFn = Arc<dyn Fn() -> bool + Send + Sync>;

fn new_job<F, Fut>(id: &str, expression: &str, f: F) -> Result<Arc<Job>, CronError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = JobResult> + Send + 'static,
{
    if id.trim().is_empty() {
        return Err(CronError("empty job id".into()));
    }
    let schedule = parse(expression)?;
    let run: JobFn = Arc::new(move || Box::pin(f()) as BoxFut);
    Ok(Arc::new(Job {
        id: id.to_owned(),
        expression: expression.trim().to_owned(),
        schedule,
        run,
        running: AtomicBool::new(false),
    }))
}

impl Scheduler {
    /// Registers (or replaces) job `id`.
    pub fn add<F, Fut>(&self, id: &str, expression: &str, f: F) -> Result<(), CronError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let job = new_job(id, expression, f)?;
        if let Ok(mut g) = self.jobs.write() {
            g.insert(id.to_owned(), job);
        }
        Ok(())
    }

    /// Registers (or replaces) plugin job `id`, shadowing a job of the same
    /// id added with `add` until `unshadow(id)`.
    pub fn shadow<F, Fut>(&self, id: &str, expression: &str, f: F) -> Result<(), CronError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let job = new_job(id, expression, f)?;
        if let Ok(mut g) = self.overlay.write() {
            g.insert(id.to_owned(), Some(job));
        }
        Ok(())
    }

    /// Hides job `id` (a plugin's `cronRemove`) until `unshadow(id)`.
    pub fn hide(&self, id: &str) {
        if let Ok(mut g) = self.overlay.write() {
            g.insert(id.to_owned(), None);
        }
    }

    /// Drops the plugin entry for `id`: a job added with `add` is back.
    pub fn unshadow(&self, id: &str) {
        if let Ok(mut g) = self.overlay.write() {
            g.remove(id);
        }
    }

    /// The jobs in effect: the overlay over the added jobs, by id.
    fn effective(&self) -> Vec<Arc<Job>> {
        let (Ok(jobs), Ok(overlay)) = (self.jobs.read(), self.overlay.read()) else {
            return Vec::new();
        };
        let mut all: BTreeMap<&String, &Arc<Job>> = jobs
            .iter()
            .filter(|(id, _)| !overlay.contains_key(*id))
            .collect();
        all.extend(
            overlay
                .iter()
                .filter_map(|(id, j)| j.as_ref().map(|j| (id, j))),
        );
        all.into_values().cloned().collect()
    }

    /// Removes job `id`; true if it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.jobs
            .write()
            .map(|mut g| g.remove(id).is_some())
            .unwrap_or(false)
    }

    /// Every job, by id.
    pub fn list(&self) -> Vec<Listed> {
        self.effective()
            .iter()
            .map(|j| Listed {
                id: j.id.clone(),
                expression: j.expression.clone(),
            })
            .collect()
    }

    fn get(&self, id: &str) -> Option<Arc<Job>> {
        if let Some(entry) = self.overlay.read().ok().and_then(|g| g.get(id).cloned()) {
            return entry;
        }
        self.jobs.read().ok().and_then(|g| g.get(id).cloned())
    }

    /// Starts job `id` now in the background (false if unknown). A run
    /// already in progress is not doubled.
    pub fn run_now(self: &Arc<Self>, id: &str) -> bool {
        let Some(job) = self.get(id) else {
            return false;
        };
        self.spawn(job);
        true
    }

    /// Runs job `id` now and waits for it (tests, the CLI). `None` if the
    /// job is unknown or already running.
    pub async fn run_and_wait(self: &Arc<Self>, id: &str) -> Option<JobResult> {
        let job = self.get(id)?;
        self.guarded(job).await
    }

    fn spawn(self: &Arc<Self>, job: Arc<Job>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let _ = me.guarded(job).await;
        });
    }

    /// Runs `job` unless it is already running; a panic counts as a
    /// failure. `None` when skipped.
    async fn guarded(&self, job: Arc<Job>) -> Option<JobResult> {
        if job.running.swap(true, Ordering::AcqRel) {
            self.stats.skipped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(job = %job.id, "cron job still running; this run is skipped");
            return None;
        }
        self.stats.runs.fetch_add(1, Ordering::Relaxed);
        let fut = (job.run)();
        let res = match tokio::spawn(fut).await {
            Ok(r) => r,
            Err(e) => Err(format!("job panicked: {e}")),
        };
        job.running.store(false, Ordering::Release);
        match &res {
            Ok(()) => tracing::debug!(job = %job.id, "cron job done"),
            Err(e) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(job = %job.id, error = %e, "cron job failed; it runs again at its next tick");
            }
        }
        Some(res)
    }

    /// Makes scheduled ticks run only while `leads()` says so.
    pub fn set_leader(&self, leads: impl Fn() -> bool + Send + Sync + 'static) {
        if let Ok(mut g) = self.leads.write() {
            *g = Some(Arc::new(leads));
        }
    }

    /// Spawns every job whose expression matches `minute`.
    pub fn tick(self: &Arc<Self>, minute: chrono::DateTime<chrono::Utc>) {
        let lead = self.leads.read().ok().and_then(|g| g.clone());
        if lead.is_some_and(|l| !l()) {
            tracing::debug!("cron tick left to the leading node");
            return;
        }
        for job in self.effective() {
            if job.schedule.is_time_matching(&minute).unwrap_or(false) {
                self.spawn(job);
            }
        }
    }

    /// Ticks at the start of every UTC minute until `stop` resolves.
    pub fn start(
        self: &Arc<Self>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                let now = chrono::Utc::now();
                let into = now.timestamp_millis().rem_euclid(60_000);
                let wait = std::time::Duration::from_millis((60_000 - into) as u64);
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(wait) => {}
                }
                let minute = chrono::Utc::now();
                me.tick(minute);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn ticks_run_only_on_the_leading_node() {
        let s = Arc::new(Scheduler::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        s.add("j", "* * * * *", move || {
            let r = Arc::clone(&r);
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .expect("add");
        let leads = Arc::new(AtomicBool::new(false));
        let l = Arc::clone(&leads);
        s.set_leader(move || l.load(Ordering::SeqCst));
        use chrono::TimeZone;
        let minute = chrono::Utc
            .with_ymd_and_hms(2026, 1, 1, 3, 0, 0)
            .single()
            .expect("t");
        s.tick(minute);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "a follower does not run ticks"
        );
        leads.store(true, Ordering::SeqCst);
        s.tick(minute);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the leader does");
    }

    #[test]
    fn parses_like_pocketbase() {
        for ok in [
            "0 0 * * *",
            "*/5 * * * *",
            "@hourly",
            "@daily",
            "0 */6 * * *",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "* * * *", "0 0 0 * * *", "61 * * * *", "nope"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn never_twice_at_once_and_failures_retry() {
        let s = Arc::new(Scheduler::default());
        let n = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let (n2, g2) = (Arc::clone(&n), Arc::clone(&gate));
        s.add("slow", "* * * * *", move || {
            let (n, g) = (Arc::clone(&n2), Arc::clone(&g2));
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                g.notified().await;
                Err("boom".to_owned())
            }
        })
        .expect("add");
        let first = {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.run_and_wait("slow").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(s.run_and_wait("slow").await, None, "second run skipped");
        gate.notify_one();
        assert_eq!(first.await.expect("join"), Some(Err("boom".into())));
        // Failed, then runs again.
        let s2 = Arc::clone(&s);
        let again = tokio::spawn(async move { s2.run_and_wait("slow").await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        gate.notify_one();
        assert_eq!(again.await.expect("join"), Some(Err("boom".into())));
        assert_eq!(n.load(Ordering::SeqCst), 2);
        assert_eq!(s.stats.failures.load(Ordering::SeqCst), 2);
        assert_eq!(s.stats.skipped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_panicking_job_is_caught_and_runs_again() {
        let s = Arc::new(Scheduler::default());
        s.add("panics", "@hourly", || async { panic!("kaboom") })
            .expect("add");
        assert!(matches!(s.run_and_wait("panics").await, Some(Err(_))));
        assert!(matches!(s.run_and_wait("panics").await, Some(Err(_))));
        assert!(s.add("x", "bad expr", || async { Ok(()) }).is_err());
        assert_eq!(s.list().len(), 1);
        assert!(s.remove("panics"));
        assert!(!s.run_now("panics"));
    }

    #[tokio::test]
    async fn a_shadow_replaces_a_job_until_it_is_dropped() {
        let s = Arc::new(Scheduler::default());
        let ok = || async { Ok(()) };
        s.add("__builtin__", "0 * * * *", ok).expect("add");
        s.add("other", "@daily", ok).expect("add");
        let listed = |s: &Scheduler| -> Vec<(String, String)> {
            s.list().into_iter().map(|l| (l.id, l.expression)).collect()
        };
        s.shadow("__builtin__", "5 5 * * *", || async {
            Err("plugin".into())
        })
        .expect("shadow");
        s.hide("other");
        assert!(s.shadow("bad", "not a cron", ok).is_err());
        assert_eq!(
            listed(&s),
            vec![("__builtin__".to_owned(), "5 5 * * *".to_owned())]
        );
        assert_eq!(
            s.run_and_wait("__builtin__").await,
            Some(Err("plugin".into()))
        );
        assert!(!s.run_now("other"));
        s.unshadow("__builtin__");
        s.unshadow("other");
        assert_eq!(s.run_and_wait("__builtin__").await, Some(Ok(())));
        assert_eq!(listed(&s).len(), 2);
        assert_eq!(listed(&s)[0].1, "0 * * * *");
    }

    #[tokio::test]
    async fn tick_runs_matching_jobs() {
        let s = Arc::new(Scheduler::default());
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = Arc::clone(&n);
        s.add("hourly", "0 * * * *", move || {
            let n = Arc::clone(&n2);
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .expect("add");
        use chrono::TimeZone;
        let at = |m| {
            chrono::Utc
                .with_ymd_and_hms(2026, 1, 1, 3, m, 0)
                .single()
                .expect("t")
        };
        s.tick(at(1));
        s.tick(at(0));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }
}
