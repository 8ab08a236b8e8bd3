//! The PostgreSQL change feed (`store/changes/feed.rs`) with transactions
//! interleaved by hand on separate sessions, as several nodes' write groups
//! interleave: a change whose `seq` was taken early but committed late is
//! not skipped, and two changes of one record arrive in commit order even
//! when the later one has the lower transaction id.

use super::fresh_pg_url;
use crate::store::changes::{self, Change, Pos};
use crate::store::pg::PgConn;
use crate::store::sql::{Db, Val};
use crate::store::{Schema, bootstrap};

fn change(db: &PgConn, record: &str) {
    db.exec(
        "INSERT INTO _changes (collection_id, collection_name, record_id, action, created)
         VALUES ('c1', 'gone', ?1, 'create', '')",
        &[Val::Text(record)],
    )
    .expect("insert a change");
}

/// The `top` of a reader that has passed everything committed so far
/// (no crash in between: every change below its position is at most that).
fn passed(db: &PgConn) -> i64 {
    changes::last_seq(db).expect("the last seq")
}

/// Reads everything final after `cursor`, moving it.
fn drain(db: &PgConn, cursor: &mut Pos) -> Vec<Change> {
    drain_top(db, cursor, &mut passed(db))
}

/// `drain` for a reader that has passed every `seq` up to `top`.
fn drain_top(db: &PgConn, cursor: &mut Pos, top: &mut i64) -> Vec<Change> {
    let schema = Schema::default();
    let mut out = Vec::new();
    loop {
        let (batch, next) =
            changes::next(db, &schema, *cursor, top, 2, &mut |_| Ok(())).expect("read the feed");
        let moved = next != *cursor;
        out.extend(batch);
        *cursor = next;
        if !moved {
            return out;
        }
    }
}

/// `drain` until `n` changes came: the horizon is the whole cluster's, so
/// other tests' transactions (in other databases of the test server) may
/// hold it back for a moment.
fn drain_until(db: &PgConn, cursor: &mut Pos, n: usize) -> Vec<Change> {
    drain_top_until(db, cursor, &mut passed(db), n)
}

/// `drain_until` for a reader that has passed every `seq` up to `top`.
fn drain_top_until(db: &PgConn, cursor: &mut Pos, top: &mut i64, n: usize) -> Vec<Change> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n && std::time::Instant::now() < end {
        out.extend(drain_top(db, cursor, top));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    out
}

fn ids(list: &[Change]) -> Vec<&str> {
    list.iter().map(|c| c.record_id.as_str()).collect()
}

#[test]
fn late_commits_are_not_skipped_and_records_stay_in_commit_order() {
    let Some(url) = fresh_pg_url() else { return };
    let open = || PgConn::connect(&url).expect("connect");
    let reader = open();
    bootstrap::bootstrap(&reader).expect("bootstrap");
    let mut cursor = changes::head(&reader).expect("head");

    // t2 takes its transaction id first and writes `x`; t3 takes the next
    // and stays open (it holds the horizon); t1 writes `r` and commits;
    // then t2 writes `r` too (after t1, as a row lock would order them)
    // and commits.
    let (t1, t2, t3) = (open(), open(), open());
    t2.batch("BEGIN").expect("begin");
    change(&t2, "x");
    t3.batch("BEGIN").expect("begin");
    change(&t3, "held");
    t1.batch("BEGIN").expect("begin");
    change(&t1, "r");
    t1.batch("COMMIT").expect("commit");
    change(&t2, "r");
    t2.batch("COMMIT").expect("commit");

    // t2's changes are final, but t1's `r` is above the horizon: handing
    // out t2's `r` now would put it before t1's. Nothing of t2 goes out.
    let first = drain(&reader, &mut cursor);
    assert!(
        !ids(&first).contains(&"r"),
        "no change of r before t1's: {:?}",
        ids(&first)
    );

    t3.batch("COMMIT").expect("commit");
    let mut all = first;
    let more = 4usize.saturating_sub(all.len());
    all.extend(drain_until(&reader, &mut cursor, more));
    let mut got = ids(&all);
    assert_eq!(got.len(), 4, "each change once: {got:?}");
    let rs: Vec<i64> = all
        .iter()
        .filter(|c| c.record_id == "r")
        .map(|c| c.seq)
        .collect();
    assert!(rs.len() == 2 && rs[0] < rs[1], "r in commit order: {rs:?}");
    got.sort_unstable();
    assert_eq!(got, ["held", "r", "r", "x"]);

    // Every change carries the position after it, and a reader standing
    // there covers it (what a resume token means).
    for c in &all {
        assert!(c.pos.covers(c), "{:?}", c.pos);
        let token = c.pos.token();
        let text = token.as_str().expect("a string token on PostgreSQL");
        assert_eq!(Pos::parse(text, true), Some(c.pos));
    }
    assert!(drain(&reader, &mut cursor).is_empty(), "nothing twice");
}

#[test]
fn a_change_that_took_its_seq_early_but_committed_late_is_delivered() {
    let Some(url) = fresh_pg_url() else { return };
    let open = || PgConn::connect(&url).expect("connect");
    let reader = open();
    bootstrap::bootstrap(&reader).expect("bootstrap");
    let mut cursor = changes::head(&reader).expect("head");
    let (slow, fast) = (open(), open());
    slow.batch("BEGIN").expect("begin");
    change(&slow, "slow");
    change(&fast, "fast");
    // Polling by seq would move past `slow`'s seq here.
    let early = drain(&reader, &mut cursor);
    assert!(ids(&early).is_empty(), "{:?}", ids(&early));
    slow.batch("COMMIT").expect("commit");
    let late = drain_until(&reader, &mut cursor, 2);
    let mut got = ids(&late);
    got.sort_unstable();
    assert_eq!(got, ["fast", "slow"]);
}

/// A reader (first) and a writer on a fresh database, the reader past
/// one change: its position, and its `top` (which moved with it).
fn past_one_change(url: &str) -> (PgConn, PgConn, Pos, i64) {
    let open = || PgConn::connect(url).expect("connect");
    let reader = open();
    bootstrap::bootstrap(&reader).expect("bootstrap");
    let mut cursor = changes::head(&reader).expect("head");
    let writer = open();
    change(&writer, "before");
    let mut top = 0;
    let first = drain_top_until(&reader, &mut cursor, &mut top, 1);
    assert_eq!(ids(&first), ["before"]);
    assert_eq!(top, first[0].seq, "the reader's top moved with it");
    (reader, writer, cursor, top)
}

/// After a crash PostgreSQL may give out transaction ids again that a
/// reader's horizon had passed (those of transactions it never flushed: a
/// `NOTIFY`, a rollback; checked by hand with `pg-test-server crash`). A
/// reader standing above the horizon goes back for the changes committed
/// since, and does not hand out again the ones it had passed.
#[test]
fn a_reader_above_the_horizon_goes_back_for_new_changes_only() {
    let Some(url) = fresh_pg_url() else { return };
    let (reader, writer, mut cursor, mut top) = past_one_change(&url);
    // The ids went back: the reader stands far above what is given out now.
    let Pos::Span { lo, .. } = cursor else {
        panic!("a span position on PostgreSQL")
    };
    let ahead = lo + 1_000_000;
    cursor = Pos::Span {
        lo: ahead,
        hi: ahead,
        seq: 0,
    };
    change(&writer, "after");
    let got = drain_top_until(&reader, &mut cursor, &mut top, 1);
    assert_eq!(ids(&got), ["after"], "the new change, and only it");
    let Pos::Span { lo: now, .. } = cursor else {
        panic!("a span position")
    };
    assert!(now < ahead, "the reader went back");
    change(&writer, "later");
    let later = drain_until(&reader, &mut cursor, 1);
    assert_eq!(ids(&later), ["later"], "then on as usual");
}

/// The ids given out again after a crash can pass the reader's position
/// again before it looks (writers on other nodes commit faster than it
/// polls): the horizon is then above it, with a new change below it
/// (issue 19: one create in 268 never reached a subscriber). The reader
/// still goes back for it, and for nothing it had passed.
#[test]
fn a_new_change_below_the_reader_is_read_once_the_horizon_passed_it_again() {
    let Some(url) = fresh_pg_url() else { return };
    let (reader, writer, _, mut top) = past_one_change(&url);
    // The crash: the reader stands just above the id the next commit gets.
    change(&writer, "after");
    let xid = |what: &str, sql: &str| -> u64 {
        let db: &dyn Db = &writer;
        let text = (db.row(sql, &[], |r| r.text(0))).expect(what).expect(what);
        text.parse().expect(what)
    };
    let lo = xid(
        "the change's id",
        "SELECT xid::text FROM _changes WHERE record_id = 'after'",
    ) + 1;
    let mut cursor = Pos::Span { lo, hi: lo, seq: 0 };
    // ... and by its next read the horizon has passed it again.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let horizon = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";
    while xid("the horizon", horizon) < lo {
        assert!(
            std::time::Instant::now() < end,
            "the horizon passed the reader"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    change(&writer, "later");
    let got = drain_top_until(&reader, &mut cursor, &mut top, 2);
    assert_eq!(
        ids(&got),
        ["after", "later"],
        "the new change, once, then on"
    );
    change(&writer, "last");
    assert_eq!(ids(&drain_until(&reader, &mut cursor, 1)), ["last"]);
}

#[test]
fn one_node_leads_and_another_takes_over_when_it_goes() {
    use std::sync::atomic::Ordering;
    let Some(url) = fresh_pg_url() else { return };
    let (a_alive, b_alive) = (std::sync::Arc::new(()), std::sync::Arc::new(()));
    let a = crate::store::pg::leader::start(&url, std::sync::Arc::downgrade(&a_alive));
    let b = crate::store::pg::leader::start(&url, std::sync::Arc::downgrade(&b_alive));
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !f() {
            assert!(std::time::Instant::now() < end, "timed out: {what}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait("a leader", &|| {
        a.load(Ordering::Acquire) || b.load(Ordering::Acquire)
    });
    std::thread::sleep(std::time::Duration::from_secs(6));
    let (la, lb) = (a.load(Ordering::Acquire), b.load(Ordering::Acquire));
    assert!(la != lb, "exactly one leads: a={la} b={lb}");
    // The leader's node goes away: its session (and lock) with it.
    let (gone, other) = if la { (a_alive, &b) } else { (b_alive, &a) };
    drop(gone);
    wait("the other node to take over", &|| {
        other.load(Ordering::Acquire)
    });
}

/// Creates resolve to their live rows (on PostgreSQL several of one
/// collection in one query: `read.rs`); a record deleted since, and one of
/// a collection that is gone, to an empty record.
#[test]
fn creates_resolve_to_their_live_rows() {
    use serde_json::json;
    for db in super::engines() {
        let d = db.dialect();
        let db = db.as_ref();
        let posts = super::posts();
        crate::store::ddl::create_table(db, &posts).expect("table");
        let schema = Schema::new(vec![posts.clone()]);
        let log = |cid: &str, id: &str| {
            db.exec(
                "INSERT INTO _changes (collection_id, collection_name, record_id, action, created)
                 VALUES (?1, 'posts', ?2, 'create', '')",
                &[Val::Text(cid), Val::Text(id)],
            )
            .expect("log");
        };
        for id in ["a", "b", "c"] {
            let rec = json!({"id": id, "title": id.to_uppercase()});
            crate::store::records::insert(db, &posts, rec.as_object().expect("object"))
                .expect("insert");
            log(&posts.id, id);
        }
        crate::store::records::delete(db, &posts, "c").expect("delete");
        log("gone", "x");
        let got: Vec<(String, Option<serde_json::Value>)> = changes::after(db, &schema, 0, 100)
            .expect("read")
            .into_iter()
            .map(|c| (c.record_id, c.snapshot.get("title").cloned()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_owned(), Some(json!("A"))),
                ("b".to_owned(), Some(json!("B"))),
                ("c".to_owned(), None),
                ("x".to_owned(), None),
            ],
            "{d:?}"
        );
    }
}
