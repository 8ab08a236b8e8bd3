//! Log database tests: ids, batching, the queue, old table shapes.

use super::*;

#[test]
fn ids_are_pocketbase_shaped_and_grow() {
    let mut prev = String::new();
    for _ in 0..1000 {
        let mut id = String::new();
        // The same microsecond every time: each id still grows.
        next_id_at(1_764_960_000_000_000, &mut id);
        assert_eq!(id.len(), 15);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert!(id > prev, "{id} after {prev}");
        prev = id;
    }
    let mut max = String::new();
    push_base36(u64::MAX, &mut max);
    assert_eq!(max, "003w5e11264sgsf");
}

fn entry(id: &str, created: &str, level: i64) -> Entry {
    Entry {
        id: id.into(),
        created: created.into(),
        level,
        message: "GET /".into(),
        data: json!({"status": 200}),
    }
}

#[test]
fn queue_drops_and_counts_when_closed_and_rows_round_trip() {
    let dir = tempfile::tempdir().expect("dir");
    let db = LogDb::open(dir.path()).expect("open");
    assert!(db.push(entry("a", "2026-01-01 10:05:00.000Z", 0)));
    assert!(db.push(entry("b", "2026-01-01 10:59:00.000Z", 8)));
    assert!(db.push(entry("c", "2026-01-01 11:00:00.000Z", 0)));
    db.shutdown();
    assert!(!db.push(entry("d", "x", 0)));
    assert_eq!(db.dropped(), 1);
    let got = db.get("b").expect("read").expect("row");
    assert_eq!(got, entry("b", "2026-01-01 10:59:00.000Z", 8));
    let s = db.read(|c| stats(c, None)).expect("stats");
    assert_eq!(
        s,
        vec![
            ("2026-01-01 10:00:00".to_owned(), 2),
            ("2026-01-01 11:00:00".to_owned(), 1)
        ]
    );
    assert_eq!(
        db.delete_before("2026-01-01 11:00:00.000Z").expect("del"),
        2
    );
}

#[test]
fn batches_larger_than_a_chunk_keep_every_row() {
    let dir = tempfile::tempdir().expect("dir");
    let db = LogDb::open(dir.path()).expect("open");
    let n = CHUNK * 3 + 4;
    for i in 0..n {
        assert!(db.push(entry(&format!("r{i}"), "2026-01-01 10:05:00.000Z", 0)));
    }
    db.shutdown();
    let count: i64 = db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM _logs", [], |r| r.get(0))?))
        .expect("count");
    assert_eq!(count, n as i64);
    for id in ["r0", "r33", "r97", &format!("r{}", n - 1)] {
        let got = db.get(id).expect("read").expect("row");
        assert_eq!(got, entry(id, "2026-01-01 10:05:00.000Z", 0));
    }
}

#[test]
fn ids_are_rowids_and_the_table_has_no_index() {
    let dir = tempfile::tempdir().expect("dir");
    let db = LogDb::open(dir.path()).expect("open");
    let ids: Vec<String> = (0..40).map(|_| new_id()).collect();
    for id in &ids {
        assert!(db.push(entry(id, "2026-01-01 10:05:00.000Z", 0)));
    }
    db.shutdown();
    for id in [&ids[0], &ids[17], &ids[39]] {
        assert_eq!(
            db.get(id).expect("read"),
            Some(entry(id, "2026-01-01 10:05:00.000Z", 0))
        );
        let rowid: i64 = db
            .read(|c| Ok(c.query_row("SELECT rowid FROM _logs WHERE id = ?1", [id], |r| r.get(0))?))
            .expect("rowid");
        assert_eq!(Some(rowid), rowid_of(id));
    }
    // A well-formed id that was never stored, and malformed ones.
    let mut missing = String::new();
    push_base36(1, &mut missing);
    for id in [missing.as_str(), "", "UPPERCASE000000", "zzzzzzzzzzzzzzz"] {
        assert_eq!(db.get(id).expect("read"), None, "{id}");
    }
    assert_eq!(rowid_of("zzzzzzzzzzzzzzz"), None, "past i64");
    let indexes: Vec<String> = db
        .read(|c| {
            let mut st = c.prepare("SELECT name FROM pragma_index_list('_logs') ORDER BY name")?;
            let names = st
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(names)
        })
        .expect("indexes");
    assert!(indexes.is_empty(), "{indexes:?}");
}

/// Every batch size goes through the power-of-two statements exactly once
/// per row, and rows whose build keeps nothing are left out.
#[test]
fn every_batch_size_inserts_each_row_once() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch(SCHEMA).expect("schema");
    let mut inserts = Inserts::prepare(&conn).expect("prepare");
    let mut rows: Vec<Row> = (0..CHUNK).map(|_| Row::default()).collect();
    let mut total = 0;
    for n in 0..=(2 * CHUNK + 7) {
        let builds = (0..n).map(move |i| -> Build {
            Box::new(move |row: &mut Row| {
                row.id = format!("b{n}_{i}");
                row.created = "2026-01-01 10:05:00.000Z".into();
                row.data = b"{}".to_vec();
                i % 5 != 4
            })
        });
        insert(&conn, &mut inserts, builds, &mut rows).expect("insert");
        total += (0..n).filter(|i| i % 5 != 4).count() as i64;
        let (count, distinct): (i64, i64) = conn
            .query_row("SELECT count(*), count(DISTINCT id) FROM _logs", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("count");
        assert_eq!((count, distinct), (total, total), "batch of {n}");
    }
    let skipped: i64 = conn
        .query_row("SELECT count(*) FROM _logs WHERE id = 'b9_4'", [], |r| {
            r.get(0)
        })
        .expect("skipped");
    assert_eq!(skipped, 0);
}

#[test]
fn tables_with_an_id_primary_key_keep_working() {
    // PocketBase's table (and Cairn's before ids became rowids).
    let dir = tempfile::tempdir().expect("dir");
    {
        let conn = Connection::open(dir.path().join("auxiliary.db")).expect("db");
        conn.execute_batch(
            "CREATE TABLE _logs (id TEXT PRIMARY KEY NOT NULL, level INTEGER NOT NULL DEFAULT 0,
             message TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}',
             created TEXT NOT NULL DEFAULT '');
             INSERT INTO _logs (id, level, message, data, created)
             VALUES ('pbrandomid0001x', 0, 'GET /', '{\"status\":200}', '2026-01-01 10:05:00.000Z');",
        )
        .expect("old table");
    }
    let db = LogDb::open(dir.path()).expect("open");
    let fresh = new_id();
    assert!(db.push(entry(&fresh, "2026-01-01 10:05:00.000Z", 0)));
    db.shutdown();
    let created_index: bool = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM pragma_index_list('_logs') WHERE name = '_logs_idx_created'",
                [],
                |r| r.get::<_, i64>(0),
            )? == 1)
        })
        .expect("indexes");
    assert!(created_index, "a table keyed by id keeps its created index");
    let old = entry("pbrandomid0001x", "2026-01-01 10:05:00.000Z", 0);
    assert_eq!(db.get("pbrandomid0001x").expect("read"), Some(old));
    assert_eq!(
        db.get(&fresh).expect("read"),
        Some(entry(&fresh, "2026-01-01 10:05:00.000Z", 0))
    );
}
