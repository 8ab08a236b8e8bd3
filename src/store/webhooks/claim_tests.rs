//! The SQLite claim stays one prepared statement: a new time or endpoint
//! bound to it does not make SQLite prepare it again, even after
//! `ANALYZE` (the daily `PRAGMA optimize`) has left STAT4 samples.

use rusqlite::{Connection, StatementStatus};

use super::*;

/// A database with `n` deliveries for endpoints `a` (even ids) and `b`
/// (odd ids), due later the lower their id, every third one already
/// sent, and the planner's statistics.
fn outbox(conn: &Connection, n: i64) {
    conn.execute_batch(TABLES).expect("tables");
    for seq in 1..=n {
        super::upgrade_tests::add(conn, if seq % 2 == 0 { "a" } else { "b" }, seq);
    }
    conn.execute_batch(
        "UPDATE _webhook_deliveries SET next_attempt_at = 1000 - id;
         UPDATE _webhook_deliveries SET state = 'succeeded' WHERE id % 3 = 0;
         ANALYZE;",
    )
    .expect("analyze");
}

/// Claims four at a time for each endpoint, at a later time each round,
/// and returns how often the claim's statement was prepared again.
fn claims_reprepared(conn: &Connection) -> (i32, Vec<i64>) {
    let mut ids = Vec::new();
    for round in 0..10 {
        for webhook in ["a", "b"] {
            let got = claim(conn, webhook, 700 + round * 10, 4).expect("claim");
            ids.extend(got.iter().map(|c| c.id));
        }
    }
    let stmt = conn
        .prepare_cached(&super::deliveries::claim_sql(4))
        .expect("cached");
    (stmt.get_status(StatementStatus::RePrepare), ids)
}

#[test]
fn the_claim_is_not_prepared_again_for_new_values() {
    let conn = Connection::open_in_memory().expect("db");
    crate::store::pool::configure(&conn, false).expect("configure");
    outbox(&conn, 400);
    let (reprepared, ids) = claims_reprepared(&conn);
    assert_eq!(reprepared, 0);
    // Soonest due first (the highest ids here), each claimed once, none
    // already sent.
    let a: Vec<i64> = ids.iter().copied().filter(|id| id % 2 == 0).collect();
    assert_eq!(&a[..4], &[392, 394, 398, 400]);
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.iter().all(|id| id % 3 != 0));
    assert_eq!(ids.len(), 80);
}

/// The control: without the connection's settings the same claims are
/// prepared again (so the test above can fail).
#[test]
fn without_the_planner_guarantee_the_claim_is_prepared_again() {
    let conn = Connection::open_in_memory().expect("db");
    conn.set_prepared_statement_cache_capacity(64);
    outbox(&conn, 400);
    let (reprepared, _) = claims_reprepared(&conn);
    assert!(reprepared > 0, "{reprepared}");
}
