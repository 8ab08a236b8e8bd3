//! The dispatcher: one task that claims due deliveries, hands them to
//! senders with bounded concurrency (per endpoint and overall) and records
//! each attempt and the delivery's next state.
//!
//! Each turn is one write job: the outcomes that arrived since the last
//! turn are recorded and new due rows are claimed (`pending → inflight`)
//! together, so a busy endpoint costs the single writer one job per turn,
//! not several per delivery. Turns start after a commit that queued a
//! delivery (the store's `seq` watch plus `enqueued_seq`), when a send
//! finishes, when the service pokes `wake`, when the next retry falls due,
//! and every few seconds regardless. Commits that queued nothing cost no
//! turn.
//!
//! At start every `inflight` row goes back to `pending`: a crash can only
//! duplicate what was in flight (at most `max_in_flight` per kill), never
//! lose a delivery.
//!
//! The dispatcher and its sends run on their own thread (`cairn-webhooks`,
//! a single-threaded runtime) at a lower CPU priority than requests (nice
//! `webhooks.nice`, 10 by default). A delivery is background work: its
//! outgoing request costs about as much CPU as the create that queued it,
//! and on a saturated machine it would take that CPU from requests. At
//! the lower priority it waits for idle CPU instead; the outbox is durable,
//! so waiting loses nothing, and the backlog drains as soon as the load
//! drops. When the CPU is not saturated the priority makes no difference
//! to delivery latency. The thread's CPU time is its own in
//! `/proc/PID/task`, so the cost of delivering can be read apart from
//! the requests' (`bench/webhooks.py` does).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio::sync::mpsc;

use super::endpoints::Status;
use super::send::{self, Result_};
use super::{Webhooks, now_ms};
use crate::schema::datetime;
use crate::store::webhooks::{self as db, Attempt, Claimed};
use crate::store::{Conn, Store, StoreError};

/// Longest sleep between checks for due retries.
const SWEEP: Duration = Duration::from_secs(1);
/// A turn runs at least this often, whatever the signals said.
const SAFETY_TURN: Duration = Duration::from_secs(5);

/// A finished attempt on its way to the log.
struct Done {
    d: Claimed,
    r: Result_,
}

/// What a turn's write job hands back.
#[derive(Default)]
struct Turn {
    claimed: Vec<Claimed>,
    next_due: Option<i64>,
    endpoints_changed: bool,
    /// Deliveries this turn dead-lettered (counted once committed).
    dead_letters: u64,
}

/// The dispatcher thread's name (as `/proc/PID/task/TID/comm` shows it).
pub const THREAD: &str = "cairn-webhooks";

pub fn start<S: AsRef<Store> + Send + Sync + 'static>(owner: Arc<S>, hub: Arc<Webhooks>) {
    let nice = hub.config.nice;
    let spawned = std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(move || {
            lower_priority(nice);
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "webhook dispatcher: no runtime");
                    return;
                }
            };
            match rt.block_on(run(owner, hub)) {
                Ok(()) | Err(StoreError::Closed) | Err(StoreError::CommitFailed) => {}
                Err(e) => tracing::error!(error = %e, "webhook dispatcher stopped"),
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "webhook dispatcher: cannot start its thread");
    }
}

/// Raises the calling thread's nice value by `nice` (Linux keeps one per
/// thread); 0 leaves it. Lowering one's own priority needs no privilege.
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    let now = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(Some(tid), (now + nice).min(19)) {
        tracing::warn!(error = %e, "webhook dispatcher: cannot lower its priority");
    }
}

async fn run<S: AsRef<Store> + Send + Sync + 'static>(
    owner: Arc<S>,
    hub: Arc<Webhooks>,
) -> Result<(), StoreError> {
    let store: &Store = (*owner).as_ref();
    let reset = store
        .write(|ctx| db::reset_inflight(ctx.conn, now_ms()))
        .await?;
    if reset > 0 {
        tracing::info!(
            deliveries = reset,
            "webhooks: in-flight deliveries queued again after a restart"
        );
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let mut seq_rx = store.changes();
    let mut inflight: HashMap<String, usize> = HashMap::new();
    let mut total = 0usize;
    let mut done: Vec<Done> = Vec::new();
    let mut next_due: Option<i64> = None;
    // Run a turn now (start, a wake-up, a due retry), and the seq handled so far.
    let mut needed = true;
    let mut handled_seq = i64::MIN;
    let mut last_turn = Instant::now();
    loop {
        // Deliveries committed since the last turn? (Seqs are handed out in
        // commit order, so everything up to `committed` is visible to the
        // turn's write job.)
        let committed = *seq_rx.borrow_and_update();
        let enqueued = hub.enqueued_seq.load(std::sync::atomic::Ordering::SeqCst);
        needed |= enqueued > handled_seq
            || next_due.is_some_and(|t| t <= now_ms())
            || last_turn.elapsed() >= SAFETY_TURN;
        while let Ok(x) = rx.try_recv() {
            done.push(x);
        }
        for x in &done {
            if let Some(n) = inflight.get_mut(&x.d.webhook_id) {
                *n = n.saturating_sub(1);
            }
            total = total.saturating_sub(1);
        }
        let endpoints = hub.snapshot();
        // Room overall; each endpoint takes what it has due, up to its own limit.
        let room = hub.config.max_in_flight.saturating_sub(total);
        let mut caps = Vec::new();
        for e in endpoints.iter().filter(|e| e.status == Status::Enabled) {
            let used = inflight.get(&e.id).copied().unwrap_or(0);
            caps.push((e.id.clone(), e.def.max_in_flight.saturating_sub(used)));
        }
        // Without room nothing can be claimed: the next finished send
        // brings a turn. (A turn with no room was a write job per commit
        // while the senders were busy.)
        let room_left = room > 0 && caps.iter().any(|(_, cap)| *cap > 0);
        if !done.is_empty() || (needed && room_left) {
            needed = false;
            handled_seq = committed;
            last_turn = Instant::now();
            let outcomes = std::mem::take(&mut done);
            let cfg = hub.config.clone();
            let turn = store
                .write(move |ctx| turn(ctx.conn, &cfg, outcomes, &caps, room))
                .await?;
            hub.metrics.dead_letters(turn.dead_letters);
            if turn.endpoints_changed {
                hub.reload(store)?;
            }
            next_due = turn.next_due;
            for d in turn.claimed {
                let Some(ep) = hub.endpoint(&d.webhook_id) else {
                    continue;
                };
                *inflight.entry(d.webhook_id.clone()).or_default() += 1;
                total += 1;
                let (hub, tx) = (Arc::clone(&hub), tx.clone());
                tokio::spawn(async move {
                    let r = send::attempt(&hub, &ep, &d).await;
                    hub.metrics.attempt(r.error_kind, r.duration_ms);
                    if let Some(kind) = r.error_kind {
                        tracing::warn!(webhook = %d.webhook_id, delivery = d.id, kind, status = ?r.status, "webhook attempt failed");
                    }
                    let _ = tx.send(Done { d, r });
                });
            }
        }
        // A due retry matters only with room to send it (else the next
        // finished send wakes the loop, and waiting on it would spin).
        let wait = next_due
            .filter(|_| room_left)
            .map(|t| Duration::from_millis((t - now_ms()).max(0) as u64).min(SWEEP))
            .unwrap_or(SWEEP);
        tokio::select! {
            Some(x) = rx.recv() => done.push(x),
            changed = seq_rx.changed() => if changed.is_err() { return Ok(()) },
            () = hub.wake.notified() => needed = true,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One turn inside a write job: record outcomes, then claim.
fn turn(
    conn: &Conn,
    cfg: &super::config::WebhooksConfig,
    outcomes: Vec<Done>,
    caps: &[(String, usize)],
    mut room: usize,
) -> Result<Turn, StoreError> {
    let mut out = Turn::default();
    let now = now_ms();
    for Done { d, r } in outcomes {
        record(conn, cfg, &d, &r, now, &mut out)?;
    }
    for (id, cap) in caps {
        let cap = (*cap).min(room);
        let mut got = 0;
        if cap > 0 {
            let claimed = db::claim(conn, id, now, cap)?;
            got = claimed.len();
            room -= got;
            out.claimed.extend(claimed);
        }
        // Endpoints with room left wake the loop when their next retry is due.
        if (got < cap || cap == 0)
            && let Some(t) = db::next_due_for(conn, id)?
        {
            out.next_due = Some(out.next_due.map_or(t, |n: i64| n.min(t)));
        }
    }
    Ok(out)
}

/// Logs one attempt and decides what happens next; notes in `out` when the
/// endpoint was disabled or the delivery dead-lettered. A resend or
/// recover that fails leaves a delivery that was already a dead letter
/// `failed`: it is not counted again.
fn record(
    conn: &Conn,
    cfg: &super::config::WebhooksConfig,
    d: &Claimed,
    r: &Result_,
    now: i64,
    out: &mut Turn,
) -> Result<(), StoreError> {
    let n = d.attempts + 1;
    let attempt = Attempt {
        delivery_id: d.id,
        n,
        trigger: d.trigger.clone(),
        started: r.started,
        duration_ms: r.duration_ms,
        status_code: r.status.map(i64::from),
        error_kind: r.error_kind.map(str::to_owned),
        response: r.response.clone(),
        truncated: r.truncated,
    };
    if r.ok() {
        db::record_attempt(conn, &attempt, "succeeded", now, now)?;
        db::set_first_failure(conn, &d.webhook_id, None)?;
        return Ok(());
    }
    let single = matches!(d.trigger.as_str(), "manual" | "recover");
    if r.status == Some(410) {
        db::record_attempt(conn, &attempt, "failed", now, now)?;
        disable(conn, &d.webhook_id, "gone")?;
        out.endpoints_changed = true;
        out.dead_letters += u64::from(!single);
        return Ok(());
    }
    db::set_first_failure(conn, &d.webhook_id, Some(r.started))?;
    let done_in_schedule = (n - d.schedule_base).max(0) as usize;
    if single || done_in_schedule >= cfg.retry_schedule.len() {
        db::record_attempt(conn, &attempt, "failed", now, now)?;
        out.dead_letters += u64::from(!single);
    } else {
        let delay = next_delay(cfg, done_in_schedule, r.retry_after);
        db::record_attempt(conn, &attempt, "pending", now + delay as i64, now)?;
    }
    let failing_since = db::get_endpoint(conn, &d.webhook_id)?.and_then(|e| e.first_failure_at);
    if failing_since.is_some_and(|t| now - t >= cfg.disable_after as i64 * 1000) {
        disable(conn, &d.webhook_id, "failing")?;
        out.endpoints_changed = true;
    }
    Ok(())
}

/// The delay before attempt `index` (0-based) of the schedule, jittered,
/// raised to `Retry-After` within the cap.
fn next_delay(
    cfg: &super::config::WebhooksConfig,
    index: usize,
    retry_after: Option<Duration>,
) -> u64 {
    let base = cfg.retry_schedule.get(index).copied().unwrap_or(0) as f64;
    let j = cfg.jitter.clamp(0.0, 1.0);
    let factor = if j > 0.0 {
        1.0 + rand::rng().random_range(-j..=j)
    } else {
        1.0
    };
    let mut delay = (base * factor).max(0.0) as u64;
    if let Some(ra) = retry_after {
        delay = delay
            .max(ra.as_millis() as u64)
            .min(cfg.retry_after_cap_ms.max(delay));
    }
    delay
}

fn disable(conn: &Conn, id: &str, reason: &str) -> Result<(), StoreError> {
    let at_seq = db::oldest_unfinished_seq(conn, id)?;
    tracing::warn!(webhook = %id, reason, "webhook endpoint disabled");
    db::disable(conn, id, reason, at_seq, &datetime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's nice value as the kernel reports it.
    fn nice_here() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
            .split(' ')
            .collect();
        // Field 19 of stat(5); the split starts at field 3.
        fields[16].parse().expect("nice")
    }

    #[test]
    fn the_dispatcher_thread_lowers_only_its_own_priority() {
        let main = nice_here();
        let (before, after, unchanged) = std::thread::spawn(|| {
            let before = nice_here();
            lower_priority(5);
            let after = nice_here();
            lower_priority(0);
            (before, after, nice_here())
        })
        .join()
        .expect("thread");
        assert_eq!(after, (before + 5).min(19));
        assert_eq!(unchanged, after, "0 leaves the priority as it is");
        assert_eq!(nice_here(), main, "other threads keep theirs");
    }

    #[test]
    fn delays_follow_schedule_jitter_and_retry_after() {
        let mut cfg = super::super::config::WebhooksConfig {
            retry_schedule: vec![0, 1000, 2000],
            jitter: 0.0,
            retry_after_cap_ms: 5000,
            ..Default::default()
        };
        assert_eq!(next_delay(&cfg, 1, None), 1000);
        assert_eq!(next_delay(&cfg, 1, Some(Duration::from_secs(3))), 3000);
        assert_eq!(next_delay(&cfg, 1, Some(Duration::from_secs(60))), 5000);
        cfg.jitter = 0.2;
        for _ in 0..100 {
            let d = next_delay(&cfg, 2, None);
            assert!((1600..=2400).contains(&d), "{d}");
        }
    }
}
