//! The dispatcher: one task that claims due deliveries, hands them to
//! senders with bounded concurrency (per endpoint and overall) and records
//! each attempt and the delivery's next state.
//!
//! Each turn is one write job: the outcomes waiting are recorded and, when
//! an endpoint has less than a round of sends in hand, due rows are
//! claimed (`pending → inflight`), up to four rounds of its `maxInFlight`
//! at once. Claimed rows wait in the dispatcher until a send slot is free,
//! so a backlog costs the single writer a claim per four rounds, not one
//! per finished send. Outcomes wait to share a write job until the
//! endpoint has no send left running (a round of sends, one job), the
//! dispatcher has no free slot, or the oldest has waited 50 ms, and a
//! claim turn takes them along whenever one
//! runs. The turn's write job leads its group on the store's writer
//! (`Store::write_leading`: no savepoint). Claims start after a
//! commit that queued a delivery (the store's `seq` watch plus
//! `enqueued_seq`), when the service pokes `wake`, when the next retry
//! falls due, and every few seconds regardless. Commits that queued
//! nothing cost no turn.
//!
//! A send slot is held until the attempt's outcome is committed, not just
//! until the response came back. At start every `inflight` row goes back
//! to `pending`: a crash can only send again what was sent and not yet
//! recorded, at most `max_in_flight` per endpoint per kill (rows claimed
//! and not yet sent were never sent), and never loses a delivery.
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

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio::sync::mpsc;

use super::endpoints::{Endpoint, Status};
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
    /// Endpoints whose claim was cut at its limit.
    full: Vec<String>,
    /// Endpoints whose failure streak this turn already set (true) or
    /// ended (false): writing the same again would change nothing.
    streaks: HashMap<String, bool>,
}

impl Turn {
    /// Starts (`Some`) or ends (`None`) an endpoint's failure streak,
    /// once per endpoint and direction in a turn.
    fn streak(&mut self, conn: &Conn, id: &str, at: Option<i64>) -> Result<(), StoreError> {
        if self.streaks.get(id) == Some(&at.is_some()) {
            return Ok(());
        }
        db::set_first_failure(conn, id, at)?;
        self.streaks.insert(id.to_owned(), at.is_some());
        Ok(())
    }
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

/// How many deliveries per endpoint a claim takes at most, in rounds of
/// its `maxInFlight`: the rest wait claimed (`inflight`, not yet sent) in
/// the dispatcher, so a backlog costs a claim per four rounds of sends
/// instead of one per finished send. Bounded so that a claimed delivery is
/// sent well within PostgreSQL's claim lease (four rounds of the longest
/// timeout, 30 s, against five minutes).
const PREFETCH_ROUNDS: usize = 4;
/// Outcomes wait at most this long to share a write job with others.
const FLUSH_AFTER: Duration = Duration::from_millis(50);

/// The dispatcher's view of what it holds (see [`run`]).
#[derive(Default)]
struct Held {
    /// Claimed and not yet sent, per endpoint, oldest due first.
    queued: HashMap<String, VecDeque<Claimed>>,
    /// Send slots taken per endpoint: sending, or sent with the outcome
    /// not yet committed (a slot is freed only once its outcome is, so
    /// what a crash can send twice stays within `maxInFlight`).
    slots: HashMap<String, usize>,
    total: usize,
    /// Endpoints that may have due rows not claimed yet (marked on every
    /// new delivery, due retry or wake-up; cleared by a claim that took
    /// less than its limit).
    stale: std::collections::HashSet<String>,
    /// Outcomes not yet recorded, and since when the oldest waits.
    done: Vec<Done>,
    since: Option<Instant>,
}

impl Held {
    fn used(&self, id: &str) -> usize {
        self.slots.get(id).copied().unwrap_or(0)
    }

    fn queued(&self, id: &str) -> usize {
        self.queued.get(id).map_or(0, VecDeque::len)
    }

    fn push_done(&mut self, x: Done) {
        self.since.get_or_insert_with(Instant::now);
        self.done.push(x);
    }

    /// Whether the outcomes should be written now: an endpoint has nothing
    /// left running (its slots are all held by outcomes), the dispatcher
    /// is out of slots, or the oldest has waited [`FLUSH_AFTER`]. A round
    /// of sends is recorded in one write job: each job's commit writes the
    /// pages it touched to the WAL, and written half a round at a time a
    /// backlog cost twice the pages (session 19). A queued delivery waits
    /// for its round's slowest send, at most `FLUSH_AFTER` (the 135 ms p95
    /// of session 13 was outcomes waiting 50 ms with every send done).
    fn flush_due(&self, max_total: usize) -> bool {
        let waiting = |id: &str| self.done.iter().filter(|x| x.d.webhook_id == id).count();
        !self.done.is_empty()
            && (self.total >= max_total
                || self.since.is_some_and(|t| t.elapsed() >= FLUSH_AFTER)
                || self.done.iter().any(|x| {
                    let id = x.d.webhook_id.as_str();
                    self.used(id) <= waiting(id)
                }))
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
    let mut held = Held::default();
    let mut next_due: Option<i64> = None;
    // Claim now (start, a wake-up, a due retry), and the seq handled so far.
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
            held.push_done(x);
        }
        let endpoints = hub.snapshot();
        let enabled: Vec<&Arc<Endpoint>> = endpoints
            .iter()
            .filter(|e| e.status == Status::Enabled)
            .collect();
        // Claimed rows of endpoints paused, disabled or deleted meanwhile
        // go back to pending.
        let mut release = Vec::new();
        held.queued.retain(|id, q| {
            let keep = enabled.iter().any(|e| &e.id == id);
            if !keep {
                release.extend(q.drain(..).map(|d| d.id));
            }
            keep
        });
        // A new delivery, a due retry or a wake-up may concern any endpoint.
        if needed {
            needed = false;
            handled_seq = committed;
            held.stale.extend(enabled.iter().map(|e| e.id.clone()));
        }
        held.stale.retain(|id| enabled.iter().any(|e| &e.id == id));
        // An endpoint that may have rows to claim and has less than a round
        // of sends queued claims up to its prefetch; the others have work
        // in hand, and claim once they run low.
        let below = |e: &Arc<Endpoint>| held.queued(&e.id) < e.def.max_in_flight.max(1);
        let claimable = enabled.iter().any(|e| below(e));
        let caps: Vec<(String, usize)> = enabled
            .iter()
            .filter(|e| below(e) && held.stale.contains(&e.id))
            .map(|e| {
                let want = e.def.max_in_flight.max(1) * PREFETCH_ROUNDS;
                (e.id.clone(), want.saturating_sub(held.queued(&e.id)))
            })
            .collect();
        let claim = !caps.is_empty();
        let flush = held.flush_due(hub.config.max_in_flight);
        if claim || flush || !release.is_empty() {
            last_turn = Instant::now();
            let outcomes = std::mem::take(&mut held.done);
            held.since = None;
            let recorded: Vec<String> = outcomes.iter().map(|x| x.d.webhook_id.clone()).collect();
            let cfg = hub.config.clone();
            let claims = caps.clone();
            let turn = store
                .write_leading(move |ctx| turn(ctx.conn, &cfg, outcomes, &release, &claims))
                .await?;
            // A claim cut at its limit leaves more behind: the endpoint
            // claims again once its queue runs low.
            for (id, _) in &caps {
                if !turn.full.contains(id) {
                    held.stale.remove(id);
                }
            }
            for id in recorded {
                if let Some(n) = held.slots.get_mut(&id) {
                    *n = n.saturating_sub(1);
                }
                held.total = held.total.saturating_sub(1);
            }
            hub.metrics.dead_letters(turn.dead_letters);
            if turn.endpoints_changed {
                hub.reload(store)?;
            }
            // A time already past was what set `needed`: every endpoint
            // has been marked since.
            let now = now_ms();
            next_due = [turn.next_due, next_due.filter(|t| *t > now)]
                .into_iter()
                .flatten()
                .min();
            for d in turn.claimed {
                held.queued
                    .entry(d.webhook_id.clone())
                    .or_default()
                    .push_back(d);
            }
        }
        start_sends(&hub, &mut held, &tx);
        // A due retry matters only to an endpoint that would claim it (the
        // others wake the loop as their sends finish).
        let mut wait = next_due
            .filter(|_| claimable)
            .map(|t| Duration::from_millis((t - now_ms()).max(0) as u64).min(SWEEP))
            .unwrap_or(SWEEP);
        if let Some(t) = held.since {
            wait = wait.min(FLUSH_AFTER.saturating_sub(t.elapsed()));
        }
        tokio::select! {
            Some(x) = rx.recv() => held.push_done(x),
            changed = seq_rx.changed() => if changed.is_err() { return Ok(()) },
            () = hub.wake.notified() => needed = true,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Starts sends for claimed deliveries while their endpoint and the
/// dispatcher have free slots.
fn start_sends(hub: &Arc<Webhooks>, held: &mut Held, tx: &mpsc::UnboundedSender<Done>) {
    let max_total = hub.config.max_in_flight;
    let ids: Vec<String> = held.queued.keys().cloned().collect();
    for id in ids {
        // Paused, disabled or deleted since the claim: the next turn gives
        // its rows back.
        let Some(ep) = hub.endpoint(&id).filter(|e| e.status == Status::Enabled) else {
            continue;
        };
        while held.total < max_total && held.used(&id) < ep.def.max_in_flight.max(1) {
            let Some(d) = held.queued.get_mut(&id).and_then(VecDeque::pop_front) else {
                break;
            };
            *held.slots.entry(id.clone()).or_default() += 1;
            held.total += 1;
            let (hub, tx, ep) = (Arc::clone(hub), tx.clone(), Arc::clone(&ep));
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
}

/// One turn inside a write job: record outcomes, give back released
/// claims, then claim up to each endpoint's limit.
fn turn(
    conn: &Conn,
    cfg: &super::config::WebhooksConfig,
    outcomes: Vec<Done>,
    release: &[i64],
    caps: &[(String, usize)],
) -> Result<Turn, StoreError> {
    let mut out = Turn::default();
    let now = now_ms();
    for Done { d, r } in outcomes {
        record(conn, cfg, &d, &r, now, &mut out)?;
    }
    db::release(conn, release)?;
    for (id, cap) in caps {
        let mut got = 0;
        if *cap > 0 {
            let claimed = db::claim(conn, id, now, *cap)?;
            got = claimed.len();
            if got == *cap {
                out.full.push(id.clone());
            }
            out.claimed.extend(claimed);
        }
        // Endpoints that took all there was wake the loop when their next
        // retry is due.
        if (got < *cap || *cap == 0)
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
        out.streak(conn, &d.webhook_id, None)?;
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
    out.streak(conn, &d.webhook_id, Some(r.started))?;
    let done_in_schedule = (n - d.schedule_base).max(0) as usize;
    if single || done_in_schedule >= cfg.retry_schedule.len() {
        db::record_attempt(conn, &attempt, "failed", now, now)?;
        out.dead_letters += u64::from(!single);
    } else {
        let delay = next_delay(cfg, done_in_schedule, r.retry_after);
        let at = now + delay as i64;
        db::record_attempt(conn, &attempt, "pending", at, now)?;
        // The loop wakes for it (a turn without a claim computes no other).
        out.next_due = Some(out.next_due.map_or(at, |n: i64| n.min(at)));
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
#[path = "dispatch_tests.rs"]
mod tests;
