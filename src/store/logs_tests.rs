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
    let s = db.read(|c| stats(c, db.relation(), None)).expect("stats");
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
        .read(|c| Ok(c.query_row("SELECT count(*) FROM _logs_view", [], |r| r.get(0))?))
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
            .read(|c| {
                Ok(
                    c.query_row("SELECT rowid FROM _logs_view WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })?,
                )
            })
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
            let mut st = c.prepare(
                "SELECT name FROM pragma_index_list('_logs_rows')
                 UNION ALL SELECT name FROM pragma_index_list('_logs')",
            )?;
            let names = st
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(names)
        })
        .expect("indexes");
    assert!(indexes.is_empty(), "{indexes:?}");
    let page_size: i64 = db
        .read(|c| Ok(c.query_row("PRAGMA page_size", [], |r| r.get(0))?))
        .expect("page size");
    assert_eq!(
        page_size,
        write::PAGE_SIZE,
        "a new auxiliary.db has large pages"
    );
}

/// An `auxiliary.db` that exists but is empty (created by hand, or left by
/// a start that stopped before writing) still gets the large pages.
#[test]
fn an_empty_file_gets_large_pages() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("auxiliary.db"), b"").expect("empty file");
    let db = LogDb::open(dir.path()).expect("open");
    let fresh = new_id();
    assert!(db.push(entry(&fresh, "2026-01-01 10:05:00.000Z", 0)));
    db.shutdown();
    let page_size: i64 = db
        .read(|c| Ok(c.query_row("PRAGMA page_size", [], |r| r.get(0))?))
        .expect("page size");
    assert_eq!(page_size, write::PAGE_SIZE);
    assert!(db.get(&fresh).expect("read").is_some());
}

/// Every batch size goes through the power-of-two statements exactly once
/// per row, rows with texts of their own go in alone between them, and
/// rows whose build keeps nothing are left out.
#[test]
fn every_batch_size_inserts_each_row_once() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch(&write::compact_schema())
        .expect("schema");
    let mut inserts = write::Inserts::prepare(&conn, Layout::Compact).expect("prepare");
    let mut rows: Vec<Row> = (0..CHUNK).map(|_| Row::default()).collect();
    let (mut total, mut plain) = (0, 0);
    let kept = |i: usize| i % 5 != 4;
    let owns = |i: usize| i.is_multiple_of(3);
    for n in 0..=(2 * CHUNK + 7) {
        let builds = (0..n).map(move |i| -> Build {
            Box::new(move |row: &mut Row| {
                if owns(i) {
                    row.id = format!("b{n}_{i}");
                    row.created = "2026-01-01 10:05:00.000Z".into();
                    row.data = b"{}".to_vec();
                } else {
                    // A request row: everything derived from its key.
                    row.key = Some((EDGES[0] + (n * 1000 + i) as u64) as i64);
                    row.data = br#"{"method":"GET","url":"/b"}"#.to_vec();
                    row.derived_message = true;
                }
                kept(i)
            })
        });
        write::insert(&conn, &mut inserts, builds, &mut rows).expect("insert");
        total += (0..n).filter(|&i| kept(i)).count() as i64;
        plain += (0..n).filter(|&i| kept(i) && !owns(i)).count() as i64;
        let (count, distinct, derived): (i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE message = 'GET /b')
                 FROM _logs_view",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("count");
        assert_eq!((count, distinct), (total, total), "batch of {n}");
        let bare: i64 = conn
            .query_row(
                "SELECT count(*) FROM _logs_rows
                 WHERE own_id IS NULL AND own_created IS NULL AND own_message IS NULL",
                [],
                |r| r.get(0),
            )
            .expect("bare");
        assert_eq!((derived, bare), (plain, plain), "batch of {n}");
    }
    let skipped: i64 = conn
        .query_row(
            "SELECT count(*) FROM _logs_view WHERE id = 'b9_4'",
            [],
            |r| r.get(0),
        )
        .expect("skipped");
    assert_eq!(skipped, 0);
}

/// A lone entry is not held for more: it is readable once the writer's
/// gathering ends, within `LINGER_MAX` (polled, with room for a busy machine).
#[test]
fn a_lone_entry_is_written_without_a_shutdown() {
    let dir = tempfile::tempdir().expect("dir");
    let db = LogDb::open(dir.path()).expect("open");
    let key = EDGES[0] + 17;
    assert!(db.push_build(request_build(key, "/alone")));
    let want = request_entry(key, "/alone");
    let deadline = std::time::Instant::now() + LINGER_MAX * 10;
    while db.get(&want.id).expect("read").is_none() {
        assert!(std::time::Instant::now() < deadline, "never written");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(db.get(&want.id).expect("read"), Some(want));
    db.shutdown();
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
    let page_size: i64 = db
        .read(|c| Ok(c.query_row("PRAGMA page_size", [], |r| r.get(0))?))
        .expect("page size");
    assert_eq!(page_size, 4096, "a database made before keeps its pages");
    let old = entry("pbrandomid0001x", "2026-01-01 10:05:00.000Z", 0);
    assert_eq!(db.get("pbrandomid0001x").expect("read"), Some(old));
    assert_eq!(
        db.get(&fresh).expect("read"),
        Some(entry(&fresh, "2026-01-01 10:05:00.000Z", 0))
    );
}

/// A request row as `service::logs::write_request` fills it: a key, the
/// JSON, a message derived from it (written out only when asked).
fn request_build(key: u64, url: &'static str) -> Build {
    Box::new(move |row: &mut Row| {
        row.key = Some(key as i64);
        row.level = 8;
        row.data = format!(r#"{{"type":"request","method":"GET","url":{url:?},"status":404}}"#)
            .into_bytes();
        row.derived_message = true;
        if row.needs_message {
            row.message = format!("GET {url}");
        }
        true
    })
}

/// What a request row built by [`request_build`] reads back as.
fn request_entry(key: u64, url: &str) -> Entry {
    let (mut id, mut created) = (String::new(), String::new());
    push_base36(key, &mut id);
    push_created(key, &mut created);
    Entry {
        id,
        created,
        level: 8,
        message: format!("GET {url}"),
        data: json!({"type": "request", "method": "GET", "url": url, "status": 404}),
    }
}

/// Microsecond times around second, day and year edges and the last
/// microsecond of a millisecond.
const EDGES: [u64; 7] = [
    1_764_960_000_000_000,
    1_764_960_000_999_999,
    1_764_960_001_000_000,
    1_767_225_599_999_000,
    1_767_225_600_001_000,
    1_764_960_000_123_456,
    1,
];

#[test]
fn compact_rows_store_only_key_level_and_data_and_read_back_whole() {
    let conn = Connection::open_in_memory().expect("db");
    conn.execute_batch(&write::compact_schema())
        .expect("schema");
    assert_eq!(
        write::layout_of(&conn).expect("layout"),
        Some(Layout::Compact)
    );
    let mut inserts = write::Inserts::prepare(&conn, Layout::Compact).expect("prepare");
    let mut rows: Vec<Row> = (0..CHUNK).map(|_| Row::default()).collect();
    let urls = ["/api/x?a=1", "/a \"quoted\" é", "/"];
    let builds = EDGES
        .iter()
        .zip(urls.iter().cycle())
        .map(|(&k, &u)| request_build(k, u));
    write::insert(&conn, &mut inserts, builds, &mut rows).expect("insert");
    for (&k, &u) in EDGES.iter().zip(urls.iter().cycle()) {
        let want = request_entry(k, u);
        let got = get(&conn, "_logs_view", &want.id, false).expect("read");
        assert_eq!(got.as_ref(), Some(&want), "{k}");
        let own: (Option<String>, Option<String>, Option<String>) = conn
            .query_row(
                "SELECT own_id, own_created, own_message FROM _logs_rows WHERE rid = ?1",
                [k as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("own");
        assert_eq!(own, (None, None, None), "nothing derivable is stored");
    }
    // The generated columns filter and sort like stored ones.
    let (n, first): (i64, String) = conn
        .query_row(
            "SELECT count(*), min(id) FROM _logs_view WHERE message = 'GET /api/x?a=1'
             AND created >= '2025-12-05 18:40:00.000Z'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("filter");
    assert_eq!((n, first), (2, request_entry(EDGES[0], "").id));
}

#[test]
fn tables_with_stored_texts_get_them_written() {
    // Cairn's table before the compact layout: texts stored, no key column.
    let dir = tempfile::tempdir().expect("dir");
    {
        let conn = Connection::open(dir.path().join("auxiliary.db")).expect("db");
        conn.execute_batch(
            "CREATE TABLE _logs (id TEXT NOT NULL DEFAULT '', level INTEGER NOT NULL DEFAULT 0,
             message TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}',
             created TEXT NOT NULL DEFAULT '');",
        )
        .expect("old table");
        assert_eq!(
            write::layout_of(&conn).expect("layout"),
            Some(Layout::Stored)
        );
    }
    let db = LogDb::open(dir.path()).expect("open");
    let key = EDGES[1];
    assert!(db.push_build(request_build(key, "/api/old")));
    assert!(db.push(entry("foreign", "2026-01-01 10:05:00.000Z", 0)));
    db.shutdown();
    let want = request_entry(key, "/api/old");
    assert_eq!(db.get(&want.id).expect("read"), Some(want.clone()));
    let stored: (String, String, String) = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT id, created, message FROM _logs WHERE rowid = ?1",
                [key as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .expect("stored");
    assert_eq!(stored, (want.id, want.created, want.message));
    assert_eq!(
        db.get("foreign").expect("read"),
        Some(entry("foreign", "2026-01-01 10:05:00.000Z", 0))
    );
}

#[test]
fn created_texts_match_the_datetime_format() {
    // Within one second, across seconds, days and years, and back.
    for micros in EDGES.into_iter().chain([0]) {
        let mut got = String::new();
        push_created(micros, &mut got);
        let t = time::OffsetDateTime::UNIX_EPOCH + Duration::from_micros(micros);
        assert_eq!(got, crate::schema::datetime::format(t), "{micros}");
    }
}

/// PocketBase started on a Cairn data directory makes its own `_logs`
/// table and indexes it (its auxiliary migration); Cairn's rows stay in
/// `_logs_rows` and Cairn keeps reading them through `_logs_view`.
#[test]
fn pocketbase_can_make_its_table_beside_the_compact_one() {
    let dir = tempfile::tempdir().expect("dir");
    let key = EDGES[5];
    {
        let db = LogDb::open(dir.path()).expect("open");
        assert!(db.push_build(request_build(key, "/api/a")));
        db.shutdown();
    }
    {
        let conn = Connection::open(dir.path().join("auxiliary.db")).expect("db");
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _logs (id TEXT PRIMARY KEY NOT NULL, level INTEGER NOT NULL DEFAULT 0,
             message TEXT NOT NULL DEFAULT '', data JSON NOT NULL DEFAULT '{}',
             created TEXT NOT NULL DEFAULT '');
             CREATE INDEX IF NOT EXISTS idx_logs_level ON _logs (level);
             CREATE INDEX IF NOT EXISTS idx_logs_created_hour ON _logs (strftime('%Y-%m-%d %H:00:00', created));",
        )
        .expect("PocketBase's table and indexes");
    }
    let db = LogDb::open(dir.path()).expect("reopen");
    assert_eq!(db.relation(), "_logs_view");
    let ours: i64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM pragma_index_list('_logs') WHERE name = '_logs_idx_created'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("indexes");
    assert_eq!(ours, 0, "PocketBase's table gets no index from Cairn");
    let want = request_entry(key, "/api/a");
    assert_eq!(db.get(&want.id).expect("read"), Some(want));
}
