//! The outbox (`_webhook_deliveries`): inserting frozen deliveries,
//! claiming due ones for the dispatcher, re-queueing for resend, recover and
//! replay, and the change-log rows a replay starts from.

use super::active;
use crate::store::StoreError;
use crate::store::dialect::Dialect;
use crate::store::sql::{Db, Val};

/// A delivery to insert.
pub struct NewDelivery<'a> {
    pub webhook_id: &'a str,
    pub event_id: &'a str,
    pub change_seq: Option<i64>,
    pub kind: &'a str,
    pub body: &'a str,
    pub trigger: &'a str,
    pub now: i64,
}

/// The outbox's insert: a pending delivery due now, nothing if one exists
/// for the same endpoint and change.
macro_rules! insert_sql {
    () => {
        "INSERT INTO _webhook_deliveries
           (webhook_id, event_id, change_seq, type, body, state, trigger, next_attempt_at, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?7, ?7)
         ON CONFLICT DO NOTHING"
    };
}

impl NewDelivery<'_> {
    fn params(&self) -> [Val<'_>; 7] {
        [
            self.webhook_id.into(),
            self.event_id.into(),
            self.change_seq.into(),
            self.kind.into(),
            self.body.into(),
            self.trigger.into(),
            self.now.into(),
        ]
    }
}

/// Inserts a pending delivery due now and returns its id; `None` if one
/// already exists for the same endpoint and change.
pub fn insert_delivery(db: &dyn Db, d: &NewDelivery<'_>) -> Result<Option<i64>, StoreError> {
    db.row(concat!(insert_sql!(), " RETURNING id"), &d.params(), |r| {
        r.int(0)
    })
}

/// [`insert_delivery`] without the id back: the outbox's insert, run once
/// per delivery in the write path. `RETURNING` makes SQLite collect the
/// result rows in a temporary table first; nothing there needs the id.
pub fn enqueue_delivery(db: &dyn Db, d: &NewDelivery<'_>) -> Result<(), StoreError> {
    db.exec(insert_sql!(), &d.params()).map(|_| ())
}

/// The frozen body of a delivery.
pub fn delivery_body(db: &dyn Db, id: i64) -> Result<Option<String>, StoreError> {
    db.row(
        "SELECT body FROM _webhook_deliveries WHERE id = ?1",
        &[id.into()],
        |r| r.text(0),
    )
}

/// Cancels an endpoint's pending deliveries (it was disabled by hand).
pub fn cancel_pending(db: &dyn Db, webhook_id: &str) -> Result<usize, StoreError> {
    db.exec(
        concat!(
            "UPDATE _webhook_deliveries SET state = 'cancelled'
             WHERE webhook_id = ?1 AND state = 'pending' AND ",
            active!()
        ),
        &[webhook_id.into()],
    )
}

/// The event id already given to a change (by any endpoint's delivery).
pub fn event_id_for_seq(db: &dyn Db, seq: i64) -> Result<Option<String>, StoreError> {
    db.row(
        "SELECT event_id FROM _webhook_deliveries
         WHERE webhook_id IN (SELECT id FROM _webhooks) AND change_seq = ?1 LIMIT 1",
        &[seq.into()],
        |r| r.text(0),
    )
}

/// How long a claim on PostgreSQL holds before another node may take the
/// delivery over (its claimer is presumed dead): well above the longest
/// send (timeouts are capped at 30 s).
pub const LEASE_MS: i64 = 5 * 60 * 1000;

/// On PostgreSQL, an in-flight claim is orphaned when its lease ran out or
/// when the session that claimed it is gone: a claim records the claiming
/// session's backend pid, and a node that crashed or lost its connection
/// has no session left, so its deliveries are taken back at once rather
/// than after the lease. (A pid reused by a new session only delays the
/// takeover until the lease ends.)
/// `lease` is the placeholder holding the oldest claim time still leased.
fn orphaned(lease: &str) -> String {
    format!(
        "(updated < {lease} OR NOT EXISTS \
         (SELECT 1 FROM pg_stat_activity a WHERE a.pid = _webhook_deliveries.claimed_by))"
    )
}

/// At start: whatever was being sent when the process stopped is pending
/// again. On SQLite exactly one process dispatches, so nobody else owns
/// them; on PostgreSQL other nodes may be sending theirs, so only orphaned
/// claims are taken back.
pub fn reset_inflight(db: &dyn Db, now: i64) -> Result<usize, StoreError> {
    match db.dialect() {
        Dialect::Sqlite => db.exec(
            concat!(
                "UPDATE _webhook_deliveries SET state = 'pending' WHERE state = 'inflight' AND ",
                active!()
            ),
            &[],
        ),
        Dialect::Postgres => db.exec(
            &format!(
                "UPDATE _webhook_deliveries SET state = 'pending'
                 WHERE state = 'inflight' AND {}",
                orphaned("?1")
            ),
            &[Val::Int(now - LEASE_MS)],
        ),
    }
}

/// Gives claimed deliveries that were never sent back to `pending` (their
/// endpoint was paused meanwhile); ones cancelled meanwhile stay cancelled.
pub fn release(db: &dyn Db, ids: &[i64]) -> Result<(), StoreError> {
    for id in ids {
        db.exec(
            "UPDATE _webhook_deliveries SET state = 'pending' WHERE id = ?1 AND state = 'inflight'",
            &[Val::Int(*id)],
        )?;
    }
    Ok(())
}

/// A delivery handed to a sender.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: String,
    pub event_id: String,
    pub change_seq: Option<i64>,
    pub body: String,
    pub attempts: i64,
    pub schedule_base: i64,
    pub trigger: String,
}

/// Moves up to `limit` due pending deliveries of one endpoint to
/// `inflight` (oldest due first) and returns them. On PostgreSQL the rows
/// are locked with `SKIP LOCKED`, so two nodes claiming at once take
/// different deliveries, and a claim whose lease ran out is taken over.
pub fn claim(
    db: &dyn Db,
    webhook_id: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    if db.dialect() == Dialect::Sqlite {
        return claim_sqlite(db, webhook_id, now, limit);
    }
    let sql = format!(
        "UPDATE _webhook_deliveries SET state = 'inflight', updated = ?2, claimed_by = pg_backend_pid()
         WHERE id IN (SELECT id FROM _webhook_deliveries
                      WHERE webhook_id = ?1
                        AND ((state = 'pending' AND next_attempt_at <= ?2) OR (state = 'inflight' AND {}))
                      ORDER BY next_attempt_at, id LIMIT {limit} FOR UPDATE SKIP LOCKED)
         RETURNING id, webhook_id, event_id, change_seq, body, attempts, schedule_base, trigger",
        orphaned("?3")
    );
    let params = [webhook_id.into(), now.into(), Val::Int(now - LEASE_MS)];
    let mut rows = db.rows(&sql, &params, claimed)?;
    rows.sort_by_key(|c| c.id);
    Ok(rows)
}

fn claimed(r: &dyn crate::store::sql::Row) -> Result<Claimed, StoreError> {
    Ok(Claimed {
        id: r.int(0)?,
        webhook_id: r.text(1)?,
        event_id: r.text(2)?,
        change_seq: r.opt_int(3)?,
        body: r.text(4)?,
        attempts: r.int(5)?,
        schedule_base: r.int(6)?,
        trigger: r.text(7)?,
    })
}

/// [`claim`] on SQLite: the due rows read, then each marked by id, in the
/// caller's write transaction (one writer: nobody claims in between).
/// Not one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`: SQLite
/// prepared that again on every run (about 190,000 instructions, most of
/// a claim's cost).
fn claim_sqlite(
    db: &dyn Db,
    webhook_id: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let mut rows = db.rows(&claim_sql(limit), &[webhook_id.into(), now.into()], claimed)?;
    for c in &rows {
        db.exec(
            "UPDATE _webhook_deliveries SET state = 'inflight', updated = ?2 WHERE id = ?1",
            &[c.id.into(), now.into()],
        )?;
    }
    rows.sort_by_key(|c| c.id);
    Ok(rows)
}

/// The SQLite claim's read. A literal LIMIT (a handful of values): a bound
/// one makes SQLite re-prepare the statement on every run. The bound
/// endpoint and time do not, because connections run with the query
/// planner stability guarantee (`store::pool::configure`).
pub(super) fn claim_sql(limit: usize) -> String {
    format!(
        concat!(
            "SELECT id, webhook_id, event_id, change_seq, body, attempts, schedule_base, trigger
             FROM _webhook_deliveries
             WHERE webhook_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2 AND ",
            active!(),
            " ORDER BY next_attempt_at, id LIMIT {limit}"
        ),
        limit = limit
    )
}

/// The earliest time a pending delivery is due, if any.
pub fn next_due(db: &dyn Db) -> Result<Option<i64>, StoreError> {
    Ok(db
        .row(
            concat!(
                "SELECT MIN(next_attempt_at) FROM _webhook_deliveries WHERE state = 'pending' AND ",
                active!()
            ),
            &[],
            |r| r.opt_int(0),
        )?
        .flatten())
}

/// Queues a delivery again, due now, with `trigger`; a `replay` restarts
/// the retry schedule, other triggers make one more attempt.
pub fn requeue(db: &dyn Db, id: i64, trigger: &str, now: i64) -> Result<bool, StoreError> {
    let n = db.exec(
        "UPDATE _webhook_deliveries SET state = 'pending', trigger = ?2, next_attempt_at = ?3,
            schedule_base = attempts, updated = ?3
         WHERE id = ?1 AND state != 'inflight'",
        &[id.into(), trigger.into(), now.into()],
    )?;
    Ok(n > 0)
}

/// Ids of an endpoint's failed deliveries created at or after `since`.
pub fn failed_since(db: &dyn Db, webhook_id: &str, since: i64) -> Result<Vec<i64>, StoreError> {
    db.rows(
        "SELECT id FROM _webhook_deliveries
         WHERE webhook_id = ?1 AND state = 'failed' AND created >= ?2 ORDER BY id",
        &[webhook_id.into(), since.into()],
        |r| r.int(0),
    )
}

/// The delivery of an endpoint for a change, if there is one.
pub fn delivery_for_seq(
    db: &dyn Db,
    webhook_id: &str,
    seq: i64,
) -> Result<Option<i64>, StoreError> {
    db.row(
        "SELECT id FROM _webhook_deliveries WHERE webhook_id = ?1 AND change_seq = ?2",
        &[webhook_id.into(), seq.into()],
        |r| r.int(0),
    )
}

/// Deliveries waiting or being sent (the queue depth).
pub fn queue_depth(db: &dyn Db) -> Result<i64, StoreError> {
    Ok(db
        .row(
            concat!(
                "SELECT COUNT(*) FROM _webhook_deliveries
                 WHERE webhook_id IN (SELECT id FROM _webhooks) AND ",
                active!()
            ),
            &[],
            |r| r.int(0),
        )?
        .unwrap_or(0))
}

/// When the next pending delivery of one endpoint falls due.
pub fn next_due_for(db: &dyn Db, webhook_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(db
        .row(
            concat!(
                "SELECT MIN(next_attempt_at) FROM _webhook_deliveries
                 WHERE webhook_id = ?1 AND state = 'pending' AND ",
                active!()
            ),
            &[webhook_id.into()],
            |r| r.opt_int(0),
        )?
        .flatten())
}
