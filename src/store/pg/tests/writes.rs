//! The change log, the file-delete queue, upkeep and webhook endpoints.

use serde_json::json;

use super::{engines, posts};
use crate::store::sql::{Db, Val};

#[test]
fn change_log_reads_and_trims_alike() {
    use crate::store::changes;
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        assert_eq!(
            (
                changes::last_seq(db).expect("last"),
                changes::oldest(db).expect("oldest")
            ),
            (0, None),
            "{d:?}"
        );
        for (i, (col, created)) in [
            ("c1", "2026-01-01"),
            ("c2", "2026-01-02"),
            ("c1", "2026-01-03"),
            ("c1", "2026-01-04"),
        ]
        .into_iter()
        .enumerate()
        {
            let snap = json!({"id": format!("r{i}"), "n": i}).to_string();
            db.exec(
                "INSERT INTO _changes (collection_id, collection_name, record_id, action, created, snapshot) VALUES (?1, ?1, ?2, 'create', ?3, ?4)",
                &[Val::Text(col), Val::Owned(format!("r{i}")), Val::Text(created), Val::Text(&snap)],
            )
            .expect("append");
        }
        let last = changes::last_seq(db).expect("last");
        let first = changes::oldest(db).expect("oldest").expect("some");
        assert_eq!(last - first, 3, "{d:?}");
        let none = crate::store::Schema::default();
        let after = changes::after(db, &none, first, 2).expect("after");
        assert_eq!(
            after
                .iter()
                .map(|c| c.record_id.as_str())
                .collect::<Vec<_>>(),
            ["r1", "r2"],
            "{d:?}"
        );
        assert_eq!(after[0].snapshot.get("n"), Some(&json!(1)), "{d:?}");
        let of_c1 =
            changes::of_collection_from(db, &none, "c1", first + 1, 10).expect("of collection");
        assert_eq!(
            of_c1.iter().map(|c| c.seq - first).collect::<Vec<_>>(),
            [2, 3],
            "{d:?}"
        );
        // By age first (one row before 2026-01-02), then keep the newest two.
        // PostgreSQL trims only below the cluster-wide horizon, which
        // other tests' open transactions may hold back for a moment.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut trimmed = changes::trim(db, "2026-01-02", 2).expect("trim");
        while trimmed < 2 && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(20));
            trimmed += changes::trim(db, "2026-01-02", 2).expect("trim");
        }
        assert_eq!(trimmed, 2, "{d:?}");
        assert_eq!(
            changes::oldest(db).expect("oldest"),
            Some(first + 2),
            "{d:?}"
        );
        assert_eq!(changes::last_seq(db).expect("last"), last, "{d:?}");
    }
}

/// The compact format: a create stores no record, an update and a delete
/// the record before them; readers rebuild the record after each change
/// from the next change of the same record or from the live row, however
/// the read is cut into batches.
/// The whole change log after `first`, read in batches of `limit`.
fn read_all(
    db: &dyn Db,
    schema: &crate::store::Schema,
    first: i64,
    limit: i64,
) -> Vec<crate::store::changes::Change> {
    let mut got = Vec::new();
    let mut from = first;
    loop {
        let batch = crate::store::changes::after(db, schema, from, limit).expect("after");
        let Some(last) = batch.last() else { break };
        from = last.seq;
        got.extend(batch);
    }
    got
}

/// A row of `posts()` with its title and number.
fn post_row(id: &str, title: &str, n: i64) -> crate::store::records::Row_ {
    serde_json::from_value(json!({"id": id, "title": title, "n": n, "flag": false,
        "meta": null, "tags": [], "editors": [], "created": ""}))
    .expect("row")
}

#[test]
fn change_log_rebuilds_records_from_prior_states_alike() {
    use crate::store::{Schema, changes, records};
    let posts = posts();
    let schema = Schema::new(vec![posts.clone()]);
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        crate::store::ddl::create_table(db, &posts).expect("table");
        let row = |id: &str, title: &str| post_row(id, title, 1);
        let append = |id: &str, action: &str, prior: Option<String>| {
            db.exec(
                "INSERT INTO _changes (collection_id, collection_name, record_id, action, created, prior) VALUES ('pbc_posts', 'posts', ?1, ?2, '', ?3)",
                &[Val::Text(id), Val::Text(action), prior.map_or(Val::Null, Val::Owned)],
            )
            .expect("append");
        };
        let json_of =
            |id: &str, title: &str| Some(serde_json::to_string(&row(id, title)).expect("json"));
        // r1: created as "a", updated to "b" (live); r2: created as "c"
        // (live); r3: created as "d", deleted.
        append("r1", "create", None);
        append("r2", "create", None);
        append("r1", "update", json_of("r1", "a"));
        append("r3", "create", None);
        append("r3", "delete", json_of("r3", "d"));
        records::insert(db, &posts, &row("r1", "b")).expect("live r1");
        records::insert(db, &posts, &row("r2", "c")).expect("live r2");
        let first = changes::oldest(db).expect("oldest").expect("some") - 1;
        let want = [
            ("r1", "a", None),
            ("r2", "c", None),
            ("r1", "b", Some("a")),
            ("r3", "d", None),
            ("r3", "d", Some("d")),
        ];
        for limit in [1, 2, 5] {
            let got = read_all(db, &schema, first, limit);
            let seen: Vec<_> = got
                .iter()
                .map(|c| {
                    let title = |m: &serde_json::Map<String, serde_json::Value>| {
                        m.get("title").and_then(|v| v.as_str()).map(str::to_owned)
                    };
                    (
                        c.record_id.clone(),
                        title(&c.snapshot),
                        c.prior.as_ref().and_then(title),
                    )
                })
                .collect();
            let want: Vec<_> = want
                .iter()
                .map(|(id, t, p)| {
                    (
                        (*id).to_owned(),
                        Some((*t).to_owned()),
                        p.map(str::to_owned),
                    )
                })
                .collect();
            assert_eq!(seen, want, "{d:?} limit {limit}");
        }
        // A change committed after the first read is seen by the next one:
        // r2's create now resolves to the state r2's update started from.
        append("r2", "update", json_of("r2", "c"));
        records::update(db, &posts, "r2", &row("r2", "e")).expect("update r2");
        let c1 = changes::of_collection_from(db, &schema, "pbc_posts", first + 2, 1).expect("of");
        assert_eq!(c1[0].snapshot.get("title"), Some(&json!("c")), "{d:?}");
        let tail = changes::after(db, &schema, first + 5, 10).expect("after");
        assert_eq!(tail[0].snapshot.get("title"), Some(&json!("e")), "{d:?}");
        // A record whose collection is gone resolves to nothing, not an error.
        append("r4", "create", None);
        records::insert(db, &posts, &row("r4", "f")).expect("live r4");
        let known = changes::after(db, &schema, first + 6, 1).expect("after");
        assert_eq!(known[0].snapshot.get("title"), Some(&json!("f")), "{d:?}");
        let empty = changes::after(db, &Schema::default(), first + 6, 1).expect("after");
        assert!(empty[0].snapshot.is_empty(), "{d:?}");
    }
}

#[test]
fn file_delete_queue_alike() {
    use crate::store::{files, records};
    let posts = posts();
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        files::queue(db, "pbc_posts/p1/a.png").expect("queue");
        files::queue(db, "pbc_posts/p2/").expect("queue prefix");
        let pending = files::pending(db, 10).expect("pending");
        assert_eq!(
            pending.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(),
            ["pbc_posts/p1/a.png", "pbc_posts/p2/"],
            "{d:?}"
        );
        files::done(db, &[pending[0].0]).expect("done");
        assert_eq!(files::pending(db, 10).expect("pending").len(), 1, "{d:?}");
        crate::store::ddl::create_table(db, &posts).expect("table");
        let row = json!({"id": "p1", "title": "t", "tags": ["a", "b"]});
        records::insert(db, &posts, row.as_object().expect("object")).expect("insert");
        let tags = files::column_values(db, &posts, "tags").expect("values");
        let parsed: serde_json::Value = serde_json::from_str(&tags[0].1).expect("json text");
        assert_eq!(
            (tags[0].0.as_str(), parsed),
            ("p1", json!(["a", "b"])),
            "{d:?}"
        );
    }
}

#[test]
fn upkeep_alike() {
    use crate::store::{changes, maintenance};
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        maintenance::optimize(db).expect("optimize");
        let append = "INSERT INTO _changes (collection_id, collection_name, record_id, action, created, snapshot) VALUES ('c', 'c', 'r', 'create', '', '{}')";
        db.exec(append, &[]).expect("append");
        // After a restore: numbering continues above what clients saw.
        maintenance::keep_change_seq_above(db, 500).expect("keep above");
        db.exec(append, &[]).expect("append");
        assert_eq!(changes::last_seq(db).expect("last"), 501, "{d:?}");
        // Never backwards.
        maintenance::keep_change_seq_above(db, 10).expect("keep above");
        db.exec(append, &[]).expect("append");
        assert_eq!(changes::last_seq(db).expect("last"), 502, "{d:?}");
    }
}

#[test]
fn webhook_endpoints_alike() {
    use crate::store::webhooks::{self as endpoints, EndpointRow};
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        let mut e = EndpointRow {
            id: "wh1".into(),
            definition: r#"{"url":"http://127.0.0.1:1/x","collections":["posts"]}"#.into(),
            secret: "whsec_x".into(),
            old_secrets: "[]".into(),
            status: "enabled".into(),
            disabled_reason: String::new(),
            disabled_at_seq: None,
            first_failure_at: None,
            created: "2026-12-05 10:00:00.000Z".into(),
            updated: "2026-12-05 10:00:00.000Z".into(),
        };
        endpoints::insert_endpoint(db, &e).expect("insert");
        e.secret = "whsec_y".into();
        assert!(endpoints::update_endpoint(db, &e).expect("update"), "{d:?}");
        endpoints::set_first_failure(db, "wh1", Some(100)).expect("streak starts");
        endpoints::set_first_failure(db, "wh1", Some(200)).expect("streak kept");
        let got = endpoints::get_endpoint(db, "wh1")
            .expect("get")
            .expect("exists");
        assert_eq!(
            (got.secret.as_str(), got.first_failure_at),
            ("whsec_y", Some(100)),
            "{d:?}"
        );
        let def: serde_json::Value = serde_json::from_str(&got.definition).expect("json");
        assert_eq!(def["collections"], json!(["posts"]), "{d:?}");
        db.exec(
            "INSERT INTO _webhook_deliveries (id, webhook_id, event_id, change_seq, type, body, state, next_attempt_at, created, updated)
             VALUES (1, 'wh1', 'e1', 7, 'record.create', '{}', 'failed', 0, 0, 0), (2, 'wh1', 'e2', 9, 'record.create', '{}', 'pending', 0, 0, 0)",
            &[],
        )
        .expect("deliveries");
        assert_eq!(
            endpoints::oldest_unfinished_seq(db, "wh1").expect("oldest"),
            Some(7),
            "{d:?}"
        );
        endpoints::disable(db, "wh1", "gone", Some(9), "2026-12-05 11:00:00.000Z")
            .expect("disable");
        let got = endpoints::get_endpoint(db, "wh1")
            .expect("get")
            .expect("exists");
        assert_eq!(
            (got.status.as_str(), got.disabled_at_seq),
            ("disabled", Some(9)),
            "{d:?}"
        );
        assert_eq!(
            endpoints::oldest_unfinished_seq(db, "wh1").expect("oldest"),
            Some(7),
            "{d:?}: failed ones remain"
        );
        assert_eq!(
            endpoints::load_endpoints(db).expect("all").len(),
            1,
            "{d:?}"
        );
        assert!(
            endpoints::delete_endpoint(db, "wh1").expect("delete"),
            "{d:?}"
        );
        assert!(
            endpoints::get_endpoint(db, "wh1").expect("get").is_none(),
            "{d:?}"
        );
        let left = db
            .rows("SELECT id, state FROM _webhook_deliveries", &[], |r| {
                Ok((r.int(0)?, r.text(1)?))
            })
            .expect("rows");
        assert_eq!(
            left,
            [(2, "cancelled".to_owned())],
            "{d:?}: the highest id stays, emptied"
        );
    }
}

/// The database restarted or failed over under a running node: its writer
/// session is gone. Writes resume on a new session without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_resume_after_the_writer_session_is_killed() {
    let Some(url) = super::fresh_pg_url() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store::Store::open_postgres(&url, dir.path()).expect("store");
    let pid = || async {
        store
            .write(|ctx| {
                ctx.conn
                    .row("SELECT pg_backend_pid()", &[], |r| r.int(0))
                    .map(|p| p.unwrap_or(0))
            })
            .await
    };
    let first = pid().await.expect("first write");
    let admin = crate::store::pg::PgConn::connect(&url).expect("admin");
    (&admin as &dyn Db)
        .row("SELECT pg_terminate_backend(?1)", &[Val::Int(first)], |r| {
            r.bool(0)
        })
        .expect("terminate");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let next = loop {
        // A write racing the disconnect may fail; a later one must not.
        match pid().await {
            Ok(p) => break p,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("writes did not resume: {e}"),
        }
    };
    assert_ne!(next, first, "a new session");
    store.shutdown();
}

/// Updates logged with only what they changed (`delta`) rebuild each
/// record after and before every change, mixed with rows of the older
/// format (a whole `prior`) and deletes, however the read is cut into
/// batches.
#[test]
fn change_log_rebuilds_records_from_deltas_alike() {
    use crate::store::{Schema, changes, records};
    let posts = posts();
    let schema = Schema::new(vec![posts.clone()]);
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        crate::store::ddl::create_table(db, &posts).expect("table");
        let row = post_row;
        let append = |id: &str, action: &str, prior: Option<String>, delta: Option<&str>| {
            db.exec(
                "INSERT INTO _changes (collection_id, collection_name, record_id, action, created, prior, delta) VALUES ('pbc_posts', 'posts', ?1, ?2, '', ?3, ?4)",
                &[
                    Val::Text(id),
                    Val::Text(action),
                    prior.map_or(Val::Null, Val::Owned),
                    delta.map_or(Val::Null, Val::Text),
                ],
            )
            .expect("append");
        };
        let whole = |id: &str, title: &str, n: i64| {
            Some(serde_json::to_string(&row(id, title, n)).expect("json"))
        };
        // r1: "a"/1, title to "b", n to 2 (live). r2: "c", whole-row update
        // to "d", delta update to "e" (live). r3: "f", to "g", deleted.
        append("r1", "create", None, None);
        append("r2", "create", None, None);
        append("r1", "update", None, Some(r#"{"title":"a"}"#));
        append("r3", "create", None, None);
        append("r2", "update", whole("r2", "c", 1), None);
        append("r1", "update", None, Some(r#"{"n":1}"#));
        append("r3", "update", None, Some(r#"{"title":"f"}"#));
        append("r2", "update", None, Some(r#"{"title":"d"}"#));
        append("r3", "delete", whole("r3", "g", 1), None);
        records::insert(db, &posts, &row("r1", "b", 2)).expect("live r1");
        records::insert(db, &posts, &row("r2", "e", 1)).expect("live r2");
        let first = changes::oldest(db).expect("oldest").expect("some") - 1;
        let state = |m: &serde_json::Map<String, serde_json::Value>| {
            let title = m.get("title").and_then(|v| v.as_str()).unwrap_or("?");
            format!(
                "{title}{}",
                m.get("n").and_then(|v| v.as_i64()).unwrap_or(0)
            )
        };
        let want = [
            ("r1", "a1", None),
            ("r2", "c1", None),
            ("r1", "b1", Some("a1")),
            ("r3", "f1", None),
            ("r2", "d1", Some("c1")),
            ("r1", "b2", Some("b1")),
            ("r3", "g1", Some("f1")),
            ("r2", "e1", Some("d1")),
            ("r3", "g1", Some("g1")),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(id, s, p)| ((*id).to_owned(), (*s).to_owned(), p.map(str::to_owned)))
            .collect();
        for limit in [1, 2, 3, 9] {
            let got = read_all(db, &schema, first, limit);
            let seen: Vec<_> = got
                .iter()
                .map(|c| {
                    let prior = c.prior.as_ref().map(state);
                    (c.record_id.clone(), state(&c.snapshot), prior)
                })
                .collect();
            assert_eq!(seen, want, "{d:?} limit {limit}");
        }
        // A replay of one collection from the middle sees the same.
        let mid = changes::of_collection_from(db, &schema, "pbc_posts", first + 6, 10).expect("of");
        let seen: Vec<_> = mid
            .iter()
            .map(|c| (state(&c.snapshot), c.prior.as_ref().map(state)))
            .collect();
        assert_eq!(
            seen,
            [
                ("b2".to_owned(), Some("b1".to_owned())),
                ("g1".to_owned(), Some("f1".to_owned())),
                ("e1".to_owned(), Some("d1".to_owned())),
                ("g1".to_owned(), Some("g1".to_owned())),
            ],
            "{d:?}"
        );
    }
}
