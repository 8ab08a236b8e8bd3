//! Positions in the change feed and reading it in order, on both engines.
//!
//! On SQLite one writer assigns `seq` in commit order, so "every change up
//! to `seq`" is a complete position ([`Pos::Seq`]).
//!
//! On PostgreSQL several transactions (one per node's write group) commit
//! concurrently, and a `seq` taken early can commit late: reading
//! `seq > cursor` would skip it (docs/scaling.md). Rows are therefore read
//! in *spans* of transaction ids below the horizon
//! `pg_snapshot_xmin(pg_current_snapshot())`: every transaction with an
//! id below it has ended and no later one can get such an id, so a span
//! `[lo, hi)` below the horizon is final and is read whole, sorted by
//! `seq`. Two changes of one record are in `seq` order (the second writer
//! waited for the first's row lock), but the earlier one can have the
//! higher transaction id; a span is cut short so that it never holds a
//! change whose record has an earlier change above the span
//! ([`cut`]), which keeps each record's changes in commit order across
//! spans. A position is then `(lo, hi, seq)`: everything below `lo`, and
//! the changes in `[lo, hi)` up to `seq` ([`Pos::Span`]).

use serde_json::Value;

use super::read::{Change, raw_span_row, resolve};
use crate::store::sql::{Db, Val};
use crate::store::{Schema, StoreError};

/// Where a reader of the change feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// SQLite: every change with `seq` up to this.
    Seq(i64),
    /// PostgreSQL: every change with a transaction id below `lo`, and those
    /// in `[lo, hi)` with `seq` up to `seq`.
    Span { lo: u64, hi: u64, seq: i64 },
}

impl Pos {
    /// Has the change at `ch` been delivered by a reader standing here?
    pub fn covers(&self, ch: &Change) -> bool {
        match *self {
            Pos::Seq(s) => ch.seq <= s,
            Pos::Span { lo, hi, seq } => ch.xid < lo || (ch.xid < hi && ch.seq <= seq),
        }
    }

    /// The resume token clients see: a number on SQLite; on PostgreSQL a
    /// string of three zero-padded numbers, so tokens of one stream still
    /// compare in delivery order as strings.
    pub fn token(&self) -> Value {
        match *self {
            Pos::Seq(s) => Value::from(s),
            Pos::Span { lo, hi, seq } => Value::String(format!("{lo:020}.{hi:020}.{seq:020}")),
        }
    }

    /// Reads a client's token for the engine in use; `None` for one this
    /// engine cannot place (it gets a `reset`). `0` means "from the
    /// beginning" on both.
    pub fn parse(text: &str, postgres: bool) -> Option<Pos> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i64>() {
            return match (postgres, n) {
                (false, n) if n >= 0 => Some(Pos::Seq(n)),
                (true, 0) => Some(Pos::Span {
                    lo: 0,
                    hi: 0,
                    seq: 0,
                }),
                _ => None,
            };
        }
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        match (parts.next()??, parts.next()??, parts.next()??, parts.next()) {
            (lo, hi, seq, None) if postgres && lo <= hi => Some(Pos::Span {
                lo,
                hi,
                seq: i64::try_from(seq).ok()?,
            }),
            _ => None,
        }
    }

    /// A number that grows as the reader moves on, for "has the reader
    /// passed X" waits (`flush_mark`).
    pub fn mark(&self) -> i64 {
        match *self {
            Pos::Seq(s) => s,
            Pos::Span { lo, .. } => i64::try_from(lo).unwrap_or(i64::MAX),
        }
    }
}

/// What a new subscription has "seen" already: the changes committed
/// before it was made. A position, or on PostgreSQL the snapshot of that
/// moment (a horizon alone would leave out what committed above a
/// transaction still open elsewhere, and hand it out as news).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    At(Pos),
    /// `pg_current_snapshot()`: ids below `xmin` had ended, and those
    /// below `xmax` but not in `xip` had too.
    Snapshot {
        xmin: u64,
        xmax: u64,
        xip: Vec<u64>,
    },
}

impl Seen {
    pub fn covers(&self, ch: &Change) -> bool {
        match self {
            Seen::At(p) => p.covers(ch),
            Seen::Snapshot { xmin, xmax, xip } => {
                ch.xid < *xmin || (ch.xid < *xmax && !xip.contains(&ch.xid))
            }
        }
    }
}

/// What has committed as of now (for a subscription made now).
pub fn now(db: &dyn Db) -> Result<Seen, StoreError> {
    if db.postgres().is_none() {
        return Ok(Seen::At(Pos::Seq(super::last_seq(db)?)));
    }
    let text = db
        .row("SELECT pg_current_snapshot()::text", &[], |r| r.text(0))?
        .unwrap_or_default();
    let mut parts = text.split(':');
    let num = |p: Option<&str>| p.and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
    let (xmin, xmax) = (num(parts.next()), num(parts.next()));
    let xip = parts
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| t.parse().ok())
        .collect();
    Ok(Seen::Snapshot { xmin, xmax, xip })
}

fn xid(db: &dyn Db, sql: &str, params: &[Val<'_>]) -> Result<Option<u64>, StoreError> {
    Ok(db
        .row(sql, params, |r| r.opt_text(0))?
        .flatten()
        .and_then(|t| t.parse().ok()))
}

/// The transaction-id horizon: every id below it has ended.
fn horizon(db: &dyn Db) -> Result<u64, StoreError> {
    Ok(xid(
        db,
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text",
        &[],
    )?
    .unwrap_or(0))
}

/// Seconds since the oldest transaction with a transaction id began, in
/// any database of the cluster (PostgreSQL; 0 on SQLite): how long the
/// horizon, and with it every node's realtime events, may be held back.
/// Other roles' sessions count only when the database user may see them
/// (`pg_read_all_stats`).
pub fn horizon_age(db: &dyn Db) -> Result<f64, StoreError> {
    if db.postgres().is_none() {
        return Ok(0.0);
    }
    let age = db.row(
        "SELECT COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(xact_start)), 0)::float8
         FROM pg_stat_activity WHERE backend_xid IS NOT NULL",
        &[],
        |r| r.real(0),
    )?;
    Ok(age.unwrap_or(0.0).max(0.0))
}

/// The feed's current end: where a reader starting now stands.
pub fn head(db: &dyn Db) -> Result<Pos, StoreError> {
    if db.postgres().is_some() {
        let h = horizon(db)?;
        return Ok(Pos::Span {
            lo: h,
            hi: h,
            seq: 0,
        });
    }
    Ok(Pos::Seq(super::last_seq(db)?))
}

/// What a reader must reach for every change committed before this call
/// to be behind it, as a [`Pos::mark`]: on PostgreSQL the next transaction
/// id (every transaction that has committed has an id below it).
pub fn flush_mark(db: &dyn Db) -> Result<i64, StoreError> {
    let next = xid(
        db,
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text",
        &[],
    )?;
    Ok(next.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)))
}

/// The horizon, and the lowest transaction id below `lo` of a change whose
/// `seq` is above `top` (one a reader standing at `lo` has not passed:
/// see [`rewind`]), in one round trip.
fn horizon_and_new_below(db: &dyn Db, lo: u64, top: i64) -> Result<(u64, Option<u64>), StoreError> {
    let l = lo.to_string();
    let row = db.row(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text,
                (SELECT xid::text FROM _changes WHERE seq > ?1 AND xid < ?2::text::xid8
                 ORDER BY _changes.xid LIMIT 1)",
        &[Val::Int(top), Val::Text(&l)],
        |r| Ok((r.opt_text(0)?, r.opt_text(1)?)),
    )?;
    let (h, first) = row.unwrap_or_default();
    let num = |t: Option<String>| t.and_then(|t| t.parse::<u64>().ok());
    Ok((num(h).unwrap_or(0), num(first)))
}

/// Where a reader standing at `lo` reads on, given the horizon `h` and the
/// lowest id `first` below `lo` of a change it has not passed.
/// PostgreSQL's transaction ids go back after a crash of the server (or a
/// failover): ids whose transactions wrote nothing it had to flush (a
/// `NOTIFY`, a rollback) are given out again, so new commits can get ids
/// below a horizon read before the crash, and reading on from `lo` would
/// skip them. Every change the reader passed committed before the crash
/// (with `synchronous_commit`, a commit is seen only once flushed), so
/// it has an id below the ids given out after it, and its `seq` is at
/// most `top`, which the sequence never hands out again. The changes with
/// a higher `seq` and an id below `lo` are new: the reader goes back to
/// the lowest of their ids (or to `h`, every id below which has ended,
/// when the horizon is below it). The new ids can have passed `lo` again
/// by the time the reader looks (a few writers commit faster than it
/// polls), so the horizon being above `lo` does not mean nothing is
/// below it: the search runs on every new horizon, and in normal running
/// finds nothing (every change below `lo` was read, at most `top`).
fn rewind(lo: u64, h: u64, first: Option<u64>) -> u64 {
    let back = match first {
        Some(x) => x.min(h),
        None if h < lo => h,
        None => return lo,
    };
    tracing::warn!(
        from = lo,
        to = back,
        "PostgreSQL's transaction ids went back (a crash of the server); the change feed reads on from the lower id"
    );
    back
}

/// Lowers `hi` until no change in `[lo, hi)` has an earlier change of its
/// record at or above `hi` (one that committed before it but would be read
/// in a later span). Usually one query that finds nothing.
fn cut(db: &dyn Db, lo: u64, mut hi: u64) -> Result<u64, StoreError> {
    while hi > lo {
        let (l, h) = (lo.to_string(), hi.to_string());
        let early = xid(
            db,
            "SELECT b.xid::text FROM _changes l JOIN _changes b
               ON b.collection_id = l.collection_id AND b.record_id = l.record_id
             WHERE l.xid >= ?2::text::xid8 AND b.xid >= ?1::text::xid8
               AND b.xid < ?2::text::xid8 AND b.seq > l.seq
             ORDER BY b.xid LIMIT 1",
            &[Val::Text(&l), Val::Text(&h)],
        )?;
        match early {
            Some(x) if x < hi => hi = x,
            _ => break,
        }
    }
    Ok(hi)
}

/// The changes of span `[lo, hi)` after `seq`, by `seq`, at most `limit`.
pub fn span(
    db: &dyn Db,
    schema: &Schema,
    lo: u64,
    hi: u64,
    seq: i64,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let (l, h) = (lo.to_string(), hi.to_string());
    let raws = db.rows(
        &format!(
            "SELECT {} FROM _changes
             WHERE xid >= ?1::text::xid8 AND xid < ?2::text::xid8 AND seq > ?3
             ORDER BY seq LIMIT {limit}",
            super::read::SPAN_COLUMNS
        ),
        &[Val::Text(&l), Val::Text(&h), Val::Int(seq)],
        raw_span_row,
    )?;
    let mut out = resolve(db, schema, raws)?;
    for ch in &mut out {
        ch.pos = Pos::Span {
            lo,
            hi,
            seq: ch.seq,
        };
    }
    Ok(out)
}

/// Called after a new horizon was read and before the span below it is:
/// whatever committed before a change of that span is visible to it.
pub type OnHorizon<'a> = &'a mut dyn FnMut(&dyn Db) -> Result<(), StoreError>;

/// The next changes after `cursor`, at most `limit`, and where the reader
/// stands after them. Empty when nothing new is final yet. `top` is the
/// highest `seq` the reader has passed (PostgreSQL: see [`rewind`]); it
/// moves with the changes read.
pub fn next(
    db: &dyn Db,
    schema: &Schema,
    cursor: Pos,
    top: &mut i64,
    limit: i64,
    on_horizon: OnHorizon<'_>,
) -> Result<(Vec<Change>, Pos), StoreError> {
    let (lo, hi, seq) = match cursor {
        Pos::Seq(s) => {
            let batch = super::after(db, schema, s, limit)?;
            let next = batch.last().map_or(cursor, |c| Pos::Seq(c.seq));
            return Ok((batch, next));
        }
        Pos::Span { lo, hi, seq } if lo < hi => (lo, hi, seq),
        Pos::Span { lo, .. } => {
            let (h, first) = horizon_and_new_below(db, lo, *top)?;
            let lo = rewind(lo, h, first);
            on_horizon(db)?;
            let h = cut(db, lo, h)?;
            if h <= lo {
                return Ok((Vec::new(), Pos::Span { lo, hi: lo, seq: 0 }));
            }
            (lo, h, 0)
        }
    };
    let batch = span(db, schema, lo, hi, seq, limit)?;
    *top = batch.iter().map(|c| c.seq).fold(*top, i64::max);
    let next = match batch.last() {
        Some(c) if batch.len() as i64 >= limit => Pos::Span { lo, hi, seq: c.seq },
        // The span is read whole.
        _ => Pos::Span { lo: hi, hi, seq: 0 },
    };
    Ok((batch, next))
}

/// The spans a subscription resumed at `token` still needs, for a reader
/// standing at the span boundary `at` (PostgreSQL): the rest of the
/// token's span, then everything between it and `at`.
pub fn replay_spans(token: Pos, at: Pos) -> Vec<(u64, u64, i64)> {
    let (Pos::Span { lo, hi, seq }, Pos::Span { lo: end, .. }) = (token, at) else {
        return Vec::new();
    };
    [(lo, hi.min(end), seq), (hi, end, 0)]
        .into_iter()
        .filter(|(l, h, _)| l < h)
        .collect()
}

/// Can a subscription resume at `token` without a gap, for a reader at
/// `at`? Not when it is ahead of the feed, or when rows it has not seen
/// were trimmed.
pub fn reachable(db: &dyn Db, token: Pos, at: Pos) -> Result<bool, StoreError> {
    match (token, at) {
        (Pos::Seq(since), Pos::Seq(cursor)) => {
            let oldest = super::oldest(db)?;
            Ok(since == cursor || (since < cursor && oldest.is_some_and(|o| o <= since + 1)))
        }
        (Pos::Span { lo, .. }, Pos::Span { .. }) => {
            if lo > horizon(db)? {
                return Ok(false);
            }
            let trimmed = xid(db, "SELECT xid::text FROM _changes_trim WHERE id = 1", &[])?;
            Ok(trimmed.is_none_or(|t| t < lo))
        }
        _ => Ok(false),
    }
}

/// PostgreSQL's trim: only changes below the horizon (final ones every
/// node has had the chance to read), and the highest transaction id it
/// removed is kept so `reachable` can tell a token that lost rows.
pub fn trim_span(db: &dyn Db, before: &str, keep: i64) -> Result<usize, StoreError> {
    let gone = db
        .row(
            "WITH d AS (
               DELETE FROM _changes
                WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
                  AND (created < ?1 OR seq <= (SELECT MAX(seq) FROM _changes) - ?2)
               RETURNING xid
             ), m AS (SELECT count(*) AS n, max(xid::text::numeric) AS top FROM d),
             w AS (
               INSERT INTO _changes_trim (id, xid)
               SELECT 1, top::text::xid8 FROM m WHERE top IS NOT NULL
               ON CONFLICT (id) DO UPDATE SET xid = GREATEST(_changes_trim.xid, EXCLUDED.xid)
             )
             SELECT n FROM m",
            &[Val::Text(before), Val::Int(keep.max(1))],
            |r| r.int(0),
        )?
        .unwrap_or(0);
    Ok(usize::try_from(gone).unwrap_or(0))
}
