//! Tests of `pool.rs`: the SQL functions every connection gets, and the
//! writer's group transactions on SQLite.

use super::*;
use std::sync::atomic::Ordering;

#[test]
fn geo_distance_and_registration() {
    let d = geo_distance_km(13.405, 52.52, 2.3522, 48.8566);
    assert!((d - 878.0).abs() < 5.0, "{d}");
    let conn = Connection::open_in_memory().expect("db");
    configure(&conn, false).expect("configure");
    let d: f64 = conn
        .query_row("SELECT cairn_geo_distance(0, 0, 0, 1)", [], |r| r.get(0))
        .expect("function");
    assert!((d - 111.19).abs() < 0.1, "{d}");
}

/// A job that inserts `x` now and `later` as a deferred write, and
/// reports `ok`; its commit result goes to `seen`.
fn job(x: i64, later: i64, ok: bool, seen: &std::sync::mpsc::Sender<(i64, bool)>) -> Job {
    let seen = seen.clone();
    Box::new(move |ctx: &mut WriteCtx<'_>| {
        ctx.conn
            .exec("INSERT INTO t (x) VALUES (?1)", &[x.into()])
            .expect("insert");
        ctx.deferred
            .push(Box::new(move |conn: &super::super::Conn| {
                conn.exec("INSERT INTO t (x) VALUES (?1)", &[later.into()])
                    .map(|_| ())
            }));
        Done {
            ok,
            deliver: Box::new(move |r| {
                let _ = seen.send((x, r.is_ok()));
            }),
        }
    })
}

fn rows(conn: &Connection) -> Vec<i64> {
    let mut st = conn.prepare("SELECT x FROM t ORDER BY x").expect("select");
    st.query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// Deferred writes commit with their job, after every job of the group;
/// a rolled-back job's are dropped; a failing one rolls the whole group
/// back and every job hears that its commit failed.
#[test]
fn deferred_writes_commit_with_their_job_or_fail_the_group() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .expect("table");
    let after: AfterCommit = std::sync::Arc::new(|_, _, _| {});
    let (tx, rx) = std::sync::mpsc::channel();
    let group = vec![
        job(1, 10, true, &tx),
        job(2, 20, false, &tx),
        job(3, 30, true, &tx),
    ];
    run_group(&conn, group, &after, None);
    assert_eq!(rows(&conn), vec![1, 3, 10, 30]);
    let told: Vec<_> = rx.try_iter().collect();
    assert_eq!(told, vec![(1, true), (2, true), (3, true)]);
    // The second job's deferred insert hits the unique key: nothing of
    // the group stays, and both jobs are told the commit failed.
    let group = vec![job(4, 40, true, &tx), job(5, 10, true, &tx)];
    run_group(&conn, group, &after, None);
    assert_eq!(rows(&conn), vec![1, 3, 10, 30]);
    let told: Vec<_> = rx.try_iter().collect();
    assert_eq!(told, vec![(4, false), (5, false)]);
    // The writer still works afterwards.
    run_group(&conn, vec![job(6, 60, true, &tx)], &after, None);
    assert_eq!(rows(&conn), vec![1, 3, 6, 10, 30, 60]);
}

/// A job alone in its group runs without a savepoint: when it fails
/// after writing, the transaction is rolled back (its row is gone, the
/// after-commit callback does not run), it is told "committed" (its
/// own error is its answer), and the next group starts clean.
#[test]
fn a_lone_failing_job_leaves_nothing() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .expect("table");
    let commits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen_commits = std::sync::Arc::clone(&commits);
    let after: AfterCommit = std::sync::Arc::new(move |_, _, _| {
        seen_commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let (tx, rx) = std::sync::mpsc::channel();
    run_group(&conn, vec![job(1, 10, false, &tx)], &after, None);
    assert_eq!(rows(&conn), Vec::<i64>::new());
    assert!(conn.is_autocommit(), "the transaction is closed");
    assert_eq!(commits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![(1, true)]);
    run_group(&conn, vec![job(2, 20, true, &tx)], &after, None);
    assert_eq!(rows(&conn), vec![2, 20]);
    assert_eq!(commits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![(2, true)]);
}

/// The first job of a transaction runs without a savepoint: when it
/// fails after writing, only its writes are undone and the jobs after it
/// (the next of which leads a new transaction) commit; a job later in the
/// group still rolls back to its savepoint alone.
#[test]
fn a_failing_first_job_leaves_the_rest_of_its_group() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .expect("table");
    let after: AfterCommit = std::sync::Arc::new(|_, _, _| {});
    let (tx, rx) = std::sync::mpsc::channel();
    let group = vec![
        job(1, 10, false, &tx),
        job(2, 20, false, &tx),
        job(3, 30, true, &tx),
        job(4, 40, false, &tx),
        job(5, 50, true, &tx),
    ];
    run_group(&conn, group, &after, None);
    assert_eq!(rows(&conn), vec![3, 5, 30, 50]);
    assert!(conn.is_autocommit(), "the transaction is closed");
    let told: Vec<_> = rx.try_iter().collect();
    assert_eq!(
        told,
        vec![(1, true), (2, true), (3, true), (4, true), (5, true)]
    );
}

/// A job that notes whether it runs inside the writer's savepoint
/// (`ROLLBACK TO job` fails when there is none; run before any write, it
/// undoes nothing) and then reports `ok`.
fn probe(x: i64, ok: bool, seen: &std::sync::mpsc::Sender<(i64, bool)>) -> Job {
    let seen = seen.clone();
    Box::new(move |ctx: &mut WriteCtx<'_>| {
        let inside = ctx.conn.exec("ROLLBACK TO job", &[]).is_ok();
        let _ = seen.send((x, inside));
        Done {
            ok,
            deliver: Box::new(|_| {}),
        }
    })
}

/// Only the first job of a transaction runs without a savepoint; after it
/// failed, the next job starts a new transaction and runs without one too.
#[test]
fn only_the_first_job_of_a_transaction_runs_without_a_savepoint() {
    let conn = Connection::open_in_memory().expect("db");
    let after: AfterCommit = std::sync::Arc::new(|_, _, _| {});
    let (tx, rx) = std::sync::mpsc::channel();
    let group = vec![probe(1, true, &tx), probe(2, true, &tx)];
    run_group(&conn, group, &after, None);
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        vec![(1, false), (2, true)]
    );
    let group = vec![
        probe(1, false, &tx),
        probe(2, true, &tx),
        probe(3, true, &tx),
    ];
    run_group(&conn, group, &after, None);
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        vec![(1, false), (2, false), (3, true)]
    );
    assert!(conn.is_autocommit());
}

/// Leading jobs (the webhook dispatcher's) run first in their group,
/// each side in queue order.
#[test]
fn leading_jobs_run_first() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .expect("table");
    let after: AfterCommit = std::sync::Arc::new(|_, _, _| {});
    let (tx, rx) = std::sync::mpsc::channel();
    let queued = vec![
        (job(1, 10, true, &tx), false),
        (job(2, 20, true, &tx), true),
        (job(3, 30, true, &tx), false),
        (job(4, 40, true, &tx), true),
    ];
    run_group(&conn, leading_first(queued), &after, None);
    let order: Vec<i64> = rx.try_iter().map(|(x, _)| x).collect();
    assert_eq!(order, vec![2, 4, 1, 3]);
    assert_eq!(rows(&conn), vec![1, 2, 3, 4, 10, 20, 30, 40]);
}

/// With every read connection in use, a read waits for one to be freed
/// and then runs (the free signals only when a reader waits).
#[test]
fn a_read_waits_for_a_freed_connection() {
    let readers = std::sync::Arc::new(Readers::new(
        Box::new(|| Ok(Box::new(Connection::open_in_memory().expect("db")) as Owned)),
        1,
    ));
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let r = std::sync::Arc::clone(&readers);
    let holder = std::thread::spawn(move || {
        r.run(|_| {
            held_tx.send(()).expect("send");
            go_rx.recv().expect("go");
            Ok(1)
        })
    });
    held_rx.recv().expect("held");
    let r = std::sync::Arc::clone(&readers);
    let waiter = std::thread::spawn(move || r.run(|_| Ok(2)));
    // The waiter counts itself before it waits; then the holder lets go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while readers.waiting.load(Ordering::Relaxed) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second read did not wait"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    go_tx.send(()).expect("go");
    assert_eq!(holder.join().expect("holder").expect("read"), 1);
    assert_eq!(waiter.join().expect("waiter").expect("read"), 2);
    assert_eq!(readers.waiting.load(Ordering::Relaxed), 0);
    // Both later reads reuse the one connection without waiting.
    assert_eq!(readers.run(|_| Ok(3)).expect("read"), 3);
}

/// The writer keeps temporary data in files (`temp_store = FILE`, readers
/// in memory) when it has a temporary directory, which holds a savepoint's
/// journal in memory up to 64 KiB
/// and spills the rest to a temporary file. A job in a group that rewrites
/// far more than that (400 rows of 1 KB: about 100 pages) and then fails
/// is undone exactly, and the jobs around it commit.
#[test]
fn a_large_failing_job_in_a_group_is_undone_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let conn = Connection::open(dir.path().join("data.db")).expect("db");
    configure(&conn, true).expect("configure");
    let temp_store = |c: &Connection| -> i64 {
        c.query_row("PRAGMA temp_store", [], |r| r.get(0))
            .expect("pragma")
    };
    // FILE where SQLite has a directory to spill to (any machine that
    // runs the tests), MEMORY otherwise.
    let writer_store = if temp_dir_writable() { 1 } else { 2 };
    assert_eq!(temp_store(&conn), writer_store, "the writer's");
    let reader = Connection::open(dir.path().join("data.db")).expect("reader");
    configure(&reader, false).expect("configure");
    assert_eq!(temp_store(&reader), 2, "a reader's: MEMORY");
    conn.execute_batch(
        "CREATE TABLE t (x INTEGER UNIQUE);
         CREATE TABLE pad (n INTEGER PRIMARY KEY, v TEXT NOT NULL);
         WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 400)
         INSERT INTO pad SELECT n, hex(zeroblob(500)) FROM k;",
    )
    .expect("tables");
    let rewrite: Job = Box::new(|ctx: &mut WriteCtx<'_>| {
        let n = ctx
            .conn
            .exec("UPDATE pad SET v = replace(v, '0', '1')", &[])
            .expect("update");
        assert_eq!(n, 400);
        Done {
            ok: false,
            deliver: Box::new(|_| {}),
        }
    });
    let after: AfterCommit = std::sync::Arc::new(|_, _, _| {});
    let (tx, rx) = std::sync::mpsc::channel();
    let group = vec![job(1, 10, true, &tx), rewrite, job(3, 30, true, &tx)];
    run_group(&conn, group, &after, None);
    assert_eq!(rows(&conn), vec![1, 3, 10, 30]);
    let untouched: i64 = conn
        .query_row(
            "SELECT count(*) FROM pad WHERE v = hex(zeroblob(500))",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(untouched, 400);
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        vec![(1, true), (3, true)]
    );
}
