//! A cache of list totals (`totalItems`).
//!
//! Every list page carries a `COUNT(*)` over everything its filter and rule
//! match: at 10,000 rows that count costs more than the page itself, and it
//! is the same for every page, every client and every request until the
//! next write. So totals are kept per (database, count SQL, bound values)
//! and thrown away as a whole after every commit: the writer calls
//! [`bump`] right after `COMMIT`, before any reply goes out, so a client
//! that saw its write acknowledged never gets a total from before it.
//!
//! A total is stored only under the generation read *before* its query ran,
//! so a count that raced with a commit is never kept past that commit's
//! bump. Counts whose SQL reads the clock or randomness (`strftime`,
//! `random`) are not cached, and neither are system collections: the
//! `superuser` CLI may write `_superusers` from another process, which
//! does not bump this process's generation.
//!
//! On PostgreSQL other nodes commit too, so a commit counter of this
//! process says nothing. There a total is kept with the snapshot it was
//! counted in ([`STAMP`]: `pg_current_snapshot()`, which changes whenever
//! any transaction of the cluster gets an id, i.e. before it can write),
//! and served to a list whose page was read in the very same snapshot:
//! two statements that see the same snapshot see the same rows. The page
//! query reads its stamp as one more column, so a hit costs no round trip.
//! The stamp also names the database (snapshots are cluster-wide) and the
//! server's start (transaction ids that wrote nothing durable are handed
//! out again after a crash).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use super::sql::{Db, Val};

use super::StoreError;
use crate::filter::compile::Param;

/// Most totals kept at once; the map is emptied when it is full.
const MAX_ENTRIES: usize = 1024;

static GENERATION: AtomicU64 = AtomicU64::new(1);

struct Totals {
    generation: u64,
    map: HashMap<String, i64>,
}

static TOTALS: LazyLock<Mutex<Totals>> = LazyLock::new(|| {
    Mutex::new(Totals {
        generation: 0,
        map: HashMap::new(),
    })
});

/// Invalidates every cached total (called after each commit).
pub fn bump() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// `SELECT COUNT(*) FROM {from}` with `params`, from the cache when no
/// commit happened since it was counted.
///
/// Only SQLite totals are cached: the generation counts this process's
/// commits, and on PostgreSQL other nodes commit too.
pub fn count(
    db: &dyn Db,
    cacheable: bool,
    from: &str,
    params: &[Param],
) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {from}");
    let lower = sql.to_ascii_lowercase();
    let Some(conn) = db.sqlite().filter(|_| cacheable) else {
        return query(db, &sql, params);
    };
    if lower.contains("strftime") || lower.contains("random") {
        return query(db, &sql, params);
    }
    let key = format!("{}\u{1}{sql}\u{1}{params:?}", conn.path().unwrap_or(""));
    let generation = GENERATION.load(Ordering::SeqCst);
    if let Ok(t) = TOTALS.lock()
        && t.generation == generation
        && let Some(n) = t.map.get(&key)
    {
        return Ok(*n);
    }
    let n = query(db, &sql, params)?;
    if let Ok(mut t) = TOTALS.lock() {
        if t.generation < generation {
            t.generation = generation;
            t.map.clear();
        }
        if t.generation == generation {
            if t.map.len() >= MAX_ENTRIES {
                t.map.clear();
            }
            t.map.insert(key, n);
        }
    }
    Ok(n)
}

/// The SQL of a PostgreSQL statement's stamp (see the module docs); NULL
/// inside a transaction that has written: its own rows are not in the
/// snapshot, and a savepoint rolled back changes them but not it.
pub const STAMP: &str = "pg_current_snapshot()::text || ' ' || current_database() || ' ' \
     || pg_postmaster_start_time()::text \
     || CASE WHEN pg_current_xact_id_if_assigned() IS NULL THEN '' END";

/// PostgreSQL totals: key -> (stamp, total).
static STAMPED: LazyLock<Mutex<HashMap<String, (String, i64)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// `count` on PostgreSQL, for a list page read under `stamp` (`None` when
/// the page had no row to carry it).
pub fn count_stamped(
    db: &dyn Db,
    cacheable: bool,
    from: &str,
    params: &[Param],
    stamp: Option<&str>,
) -> Result<i64, StoreError> {
    let lower = from.to_ascii_lowercase();
    if !cacheable || lower.contains("strftime") || lower.contains("random") {
        return query(db, &format!("SELECT COUNT(*) FROM {from}"), params);
    }
    let key = format!("{from}\u{1}{params:?}");
    if let (Some(stamp), Ok(map)) = (stamp, STAMPED.lock())
        && let Some((at, n)) = map.get(&key)
        && at == stamp
    {
        return Ok(*n);
    }
    let vals: Vec<Val<'_>> = params.iter().map(Val::from).collect();
    let sql = format!("SELECT COUNT(*), {STAMP} FROM {from}");
    let Some((n, at)) = db.row(&sql, &vals, |r| Ok((r.int(0)?, r.opt_text(1)?)))? else {
        return Ok(0);
    };
    if let (Some(at), Ok(mut map)) = (at, STAMPED.lock()) {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (at, n));
    }
    Ok(n)
}

fn query(db: &dyn Db, sql: &str, params: &[Param]) -> Result<i64, StoreError> {
    let vals: Vec<Val<'_>> = params.iter().map(Val::from).collect();
    Ok(db.row(sql, &vals, |r| r.int(0))?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn totals_are_cached_until_the_next_commit() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = Connection::open(dir.path().join("t.db")).expect("db");
        conn.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .expect("setup");
        let from = "\"t\" WHERE v >= ?1";
        let p = [Param::Int(2)];
        assert_eq!(count(&conn, true, from, &p).expect("count"), 2);
        let before = GENERATION.load(Ordering::SeqCst);
        conn.execute("INSERT INTO t VALUES (4)", [])
            .expect("insert");
        // No bump: the cached total is still served (the writer always
        // bumps after its commits, so this only shows the cache is used;
        // other tests' writers may bump meanwhile).
        let n = count(&conn, true, from, &p).expect("count");
        if GENERATION.load(Ordering::SeqCst) == before {
            assert_eq!(n, 2);
        }
        // Other bound values are another entry; uncached counts query.
        assert_eq!(count(&conn, true, from, &[Param::Int(4)]).expect("c"), 1);
        assert_eq!(count(&conn, false, from, &p).expect("count"), 3);
        bump();
        assert_eq!(count(&conn, true, from, &p).expect("count"), 3);
        // Clock-dependent SQL is never cached.
        let clock = "\"t\" WHERE v >= ?1 AND strftime('%Y', 'now') > '2000'";
        assert_eq!(count(&conn, true, clock, &p).expect("count"), 3);
        conn.execute("INSERT INTO t VALUES (5)", [])
            .expect("insert");
        assert_eq!(count(&conn, true, clock, &p).expect("count"), 4);
    }
}
