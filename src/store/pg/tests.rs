//! The ported store functions give the same answers on both engines.
//!
//! Each test runs on an in-memory SQLite database and, when
//! `CAIRN_TEST_PG_URL` names a PostgreSQL server (`scripts/test` starts
//! one), on a fresh database there. Without the variable the PostgreSQL
//! half is skipped, except under `CI=true`, where it fails: a broken
//! install must not pass as "ran no test".

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::{PgConn, placeholders};
use crate::store::dialect::Dialect;
use crate::store::sql::{Db, Val};
use crate::store::{StoreError, bootstrap, collections, sessions, settings};

/// A new, empty PostgreSQL database, or `None` when no server is configured.
fn fresh_pg() -> Option<PgConn> {
    let Ok(url) = std::env::var("CAIRN_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CAIRN_TEST_PG_URL is not set under CI=true: the PostgreSQL tests must run"
        );
        eprintln!("CAIRN_TEST_PG_URL is not set: PostgreSQL half skipped");
        return None;
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "cairn_t_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let admin = PgConn::connect(&url).expect("connect to CAIRN_TEST_PG_URL");
    // One statement per call: a multi-statement batch is one transaction,
    // and CREATE DATABASE refuses to run inside one.
    admin
        .batch(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drop a leftover test database");
    admin
        .batch(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        ))
        .expect("create a test database");
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(PgConn::connect(&format!("{base}/{name}")).expect("connect to the test database"))
}

/// Both engines, bootstrapped the same way.
fn engines() -> Vec<Box<dyn Db>> {
    let mut out: Vec<Box<dyn Db>> = vec![Box::new(
        rusqlite::Connection::open_in_memory().expect("sqlite"),
    )];
    if let Some(pg) = fresh_pg() {
        out.push(Box::new(pg));
    }
    for db in &out {
        bootstrap::bootstrap(db.as_ref()).expect("bootstrap");
        sessions::ensure(db.as_ref()).expect("sessions");
    }
    out
}

#[test]
fn placeholders_skip_literals_identifiers_and_comments() {
    assert_eq!(placeholders("SELECT ?1, ?2, ?1"), "SELECT $1, $2, $1");
    assert_eq!(placeholders("SELECT ?, ?"), "SELECT $1, $2");
    assert_eq!(
        placeholders("SELECT '?1', \"a?2\", 'it''s ?3' -- ?4\n, ?5"),
        "SELECT '?1', \"a?2\", 'it''s ?3' -- ?4\n, $5"
    );
    assert_eq!(placeholders("x = ?12 AND y = ?"), "x = $12 AND y = $13");
}

#[test]
fn values_round_trip_with_the_same_types() {
    for db in engines() {
        let d = db.dialect();
        let ddl = match d {
            Dialect::Sqlite => "CREATE TABLE t (n INTEGER, f REAL, s TEXT, b BOOLEAN, j JSON)",
            Dialect::Postgres => {
                "CREATE TABLE t (n BIGINT, f DOUBLE PRECISION, s TEXT, b BOOLEAN, j JSONB)"
            }
        };
        db.batch(ddl).expect("table");
        let sql = "INSERT INTO t (n, f, s, b, j) VALUES (?1, ?2, ?3, ?4, ?5)";
        db.exec(
            sql,
            &[
                Val::Int(i64::MAX),
                Val::Real(1.5),
                Val::Text("naïve ?1 'q'"),
                Val::Int(1),
                Val::Text(r#"{"a":[1,2]}"#),
            ],
        )
        .expect("insert");
        db.exec(sql, &vec![Val::Null; 5]).expect("insert nulls");
        let rows = db
            .rows("SELECT n, f, s, b, j FROM t ORDER BY n DESC", &[], |r| {
                Ok((r.opt_int(0)?, r.opt_text(2)?, r.opt_int(3)?, r.opt_text(4)?))
            })
            .expect("select");
        // Descending: SQLite puts NULLs last, PostgreSQL first (the reason
        // the dialect spells NULLS FIRST/LAST for record sorts).
        let null_row = match d {
            Dialect::Sqlite => rows.last(),
            Dialect::Postgres => rows.first(),
        };
        let full = rows.iter().find(|r| r.0.is_some()).expect("the full row");
        assert_eq!(full.0, Some(i64::MAX), "{d:?}");
        assert_eq!(full.1.as_deref(), Some("naïve ?1 'q'"), "{d:?}");
        assert_eq!(full.2, Some(1), "{d:?}");
        let j: serde_json::Value =
            serde_json::from_str(full.3.as_deref().expect("json")).expect("json");
        assert_eq!(j, json!({"a": [1, 2]}), "{d:?}");
        assert_eq!(null_row.map(|r| r.0), Some(None), "{d:?}");
        let f = db
            .row(
                "SELECT f FROM t WHERE s = ?1 AND n = ?2",
                &[Val::Text("naïve ?1 'q'"), Val::Int(i64::MAX)],
                |r| r.real(0),
            )
            .expect("real");
        assert_eq!(f, Some(1.5), "{d:?}");
        let err = db.exec("INSERT INTO missing VALUES (?1)", &[Val::Int(1)]);
        assert!(
            matches!(err, Err(StoreError::Sqlite(_) | StoreError::Postgres(_))),
            "{d:?}"
        );
    }
}

#[test]
fn settings_save_and_load_alike() {
    for db in engines() {
        let d = db.dialect();
        let first = settings::load(db.as_ref()).expect("load");
        assert_eq!(first, settings::defaults(), "{d:?}");
        let mut v = settings::defaults();
        v["meta"]["appName"] = json!("Ünïcode app");
        v["logs"]["maxDays"] = json!(9);
        settings::save(db.as_ref(), &v, "2026-12-05 10:00:00.000Z").expect("save");
        settings::save(db.as_ref(), &v, "2026-12-05 10:00:01.000Z").expect("save again");
        let back = settings::load(db.as_ref()).expect("load");
        assert_eq!(back["meta"]["appName"], "Ünïcode app", "{d:?}");
        assert_eq!(back["logs"]["maxDays"], 9, "{d:?}");
        let updated = db
            .row(
                "SELECT updated FROM _params WHERE id = 'settings'",
                &[],
                |r| r.text(0),
            )
            .expect("row");
        assert_eq!(
            updated.as_deref(),
            Some("2026-12-05 10:00:01.000Z"),
            "{d:?}"
        );
    }
}

#[test]
fn sessions_alike() {
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        sessions::ensure(db).expect("ensure twice is fine");
        assert!(
            sessions::insert(db, "s1", "{}", 100).expect("insert"),
            "{d:?}"
        );
        assert!(
            !sessions::insert(db, "s1", "{\"x\":1}", 200).expect("taken"),
            "{d:?}"
        );
        assert_eq!(
            sessions::load(db, "s1", 99).expect("load"),
            Some(("{}".into(), 100)),
            "{d:?}"
        );
        assert_eq!(
            sessions::load(db, "s1", 100).expect("expired"),
            None,
            "{d:?}"
        );
        sessions::upsert(db, "s1", "{\"y\":2}", 300).expect("upsert");
        sessions::upsert(db, "s2", "{}", 50).expect("upsert new");
        assert_eq!(
            sessions::load(db, "s1", 100).expect("load").map(|s| s.1),
            Some(300),
            "{d:?}"
        );
        assert_eq!(
            sessions::delete_expired(db, 60).expect("expire"),
            1,
            "{d:?}"
        );
        sessions::delete(db, "s1").expect("delete");
        assert_eq!(sessions::load(db, "s1", 0).expect("gone"), None, "{d:?}");
    }
}

#[tokio::test]
async fn a_pg_connection_works_from_inside_tokio() {
    // Reads run on request threads, inside the runtime: the blocking
    // facade must neither panic there nor need a runtime of its caller.
    let Some(pg) = fresh_pg() else { return };
    let db: &dyn Db = &pg;
    let n = db
        .row("SELECT ?1 + 1", &[Val::Int(41)], |r| r.int(0))
        .expect("query");
    assert_eq!(n, Some(42));
}

#[test]
fn bootstrap_creates_the_same_system_collections() {
    let shape = |db: &dyn Db| {
        collections::load_all(db)
            .expect("load")
            .into_iter()
            .map(|c| {
                let fields: Vec<String> = c
                    .fields
                    .iter()
                    .map(|f| format!("{}:{}", f.name, f.kind.type_name()))
                    .collect();
                (c.name, c.kind.as_str().to_owned(), fields, c.indexes)
            })
            .collect::<Vec<_>>()
    };
    let dbs = engines();
    let first = shape(dbs[0].as_ref());
    assert!(first.iter().any(|c| c.0 == "_superusers"), "{first:?}");
    for db in &dbs {
        let d = db.dialect();
        bootstrap::bootstrap(db.as_ref()).expect("a second start changes nothing");
        assert_eq!(shape(db.as_ref()), first, "{d:?}");
        let found = collections::find(db.as_ref(), "_SUPERUSERS").expect("find");
        assert_eq!(
            found.map(|c| c.name).as_deref(),
            Some("_superusers"),
            "{d:?}"
        );
        // Every index of every system collection exists under its name.
        for c in collections::load_all(db.as_ref()).expect("load") {
            for def in crate::store::ddl::index_defs(&c) {
                let owner = collections::index_owner(db.as_ref(), &def.name.to_uppercase())
                    .expect("index owner");
                assert_eq!(
                    owner.as_deref(),
                    Some(c.name.as_str()),
                    "{d:?} {}",
                    def.name
                );
            }
        }
        assert_eq!(
            collections::index_owner(db.as_ref(), "no_such_index").expect("none"),
            None
        );
    }
}

#[test]
fn collection_tables_and_indexes_behave_alike() {
    let notes = crate::schema::Collection::from_stored(&json!({
        "id": "pbc_notes", "name": "notes", "type": "base", "system": false,
        "fields": [
            {"id": "text3208210256", "name": "id", "type": "text", "primaryKey": true},
            {"name": "Title", "type": "text"},
            {"name": "slug", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
            {"name": "created", "type": "autodate", "onCreate": true}
        ],
        "indexes": [
            "CREATE UNIQUE INDEX `idx_slug` ON `notes` (`slug` COLLATE NOCASE) WHERE `slug` != ''",
            "CREATE INDEX idx_title ON notes (Title DESC, n)"
        ],
        "listRule": null, "viewRule": null, "createRule": null,
        "updateRule": null, "deleteRule": null, "created": "", "updated": ""
    }))
    .expect("notes");
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        crate::store::ddl::create_table(db, &notes).expect("table");
        collections::insert(db, &notes).expect("row");
        let insert = "INSERT INTO \"notes\" (\"id\", \"Title\", \"slug\", \"created\") VALUES (?1, ?2, ?3, '')";
        db.exec(
            insert,
            &[Val::Text("n1"), Val::Text("A"), Val::Text("Hello")],
        )
        .expect("first");
        // Unique without case (NOCASE on SQLite, lower() on PostgreSQL).
        let dup = db.exec(
            insert,
            &[Val::Text("n2"), Val::Text("B"), Val::Text("hELLO")],
        );
        assert!(dup.is_err(), "{d:?}");
        // The partial index leaves empty slugs alone.
        db.exec(insert, &[Val::Text("n3"), Val::Text("C"), Val::Text("")])
            .expect("empty");
        db.exec(insert, &[Val::Text("n4"), Val::Text("D"), Val::Text("")])
            .expect("empty again");
        // Defaults match: numbers 0, multi-value fields an empty JSON array.
        let row = db
            .row(
                "SELECT \"n\", \"tags\" FROM \"notes\" WHERE \"id\" = ?1",
                &[Val::Text("n1")],
                |r| Ok((r.real(0)?, r.text(1)?)),
            )
            .expect("row");
        assert_eq!(row, Some((0.0, "[]".to_owned())), "{d:?}");
        assert_eq!(
            collections::index_owner(db, "IDX_SLUG")
                .expect("owner")
                .as_deref(),
            Some("notes"),
            "{d:?}"
        );
        crate::store::ddl::drop_indexes(db, &notes).expect("drop indexes");
        assert_eq!(
            collections::index_owner(db, "idx_slug").expect("owner"),
            None,
            "{d:?}"
        );
        crate::store::ddl::drop_table(db, &notes).expect("drop table");
        collections::delete(db, &notes.id).expect("forget");
        assert!(
            collections::find(db, "notes").expect("find").is_none(),
            "{d:?}"
        );
    }
}

#[test]
fn auth_side_tables_behave_alike() {
    use crate::store::{access, expired, roles, totp};
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        // TOTP enrolments: insert, read, update in place, delete.
        let mut e = totp::Enrolment {
            collection: "c1".into(),
            record: "r1".into(),
            secret: "S3CRET".into(),
            confirmed: false,
            last_step: 0,
            recovery: vec!["h1".into(), "h2".into()],
        };
        totp::put(db, &e, "now").expect("put");
        e.confirmed = true;
        e.last_step = 57_000_000;
        e.recovery.pop();
        totp::put(db, &e, "later").expect("update");
        let got = totp::get(db, "c1", "r1").expect("get").expect("exists");
        assert!(got.confirmed, "{d:?}");
        assert_eq!(
            (got.last_step, got.recovery),
            (57_000_000, vec!["h1".to_owned()]),
            "{d:?}"
        );
        totp::delete(db, "c1", "r1").expect("delete");
        assert!(totp::get(db, "c1", "r1").expect("get").is_none(), "{d:?}");

        // Roles of a record, sorted by name.
        db.batch(
            "INSERT INTO \"_roles\" (\"id\", \"name\") VALUES ('ro1', 'editor'), ('ro2', 'admin');
             INSERT INTO \"_roleAssignments\" (\"id\", \"role\", \"collectionRef\", \"recordRef\")
             VALUES ('as1', 'ro1', 'users', 'u1'), ('as2', 'ro2', 'users', 'u1'), ('as3', 'ro1', 'users', 'u2');",
        )
        .expect("roles");
        assert_eq!(
            roles::load(db, "users", "u1").expect("roles"),
            ["admin", "editor"],
            "{d:?}"
        );
        assert!(
            roles::load(db, "users", "nobody").expect("none").is_empty(),
            "{d:?}"
        );

        // Policies by name; an API key's last use.
        db.batch(
            "INSERT INTO \"_policies\" (\"id\", \"name\", \"rule\") VALUES ('p2', 'zeta', 'b = 2'), ('p1', 'alpha', 'a = 1');
             INSERT INTO \"_apiKeys\" (\"id\") VALUES ('k1');",
        )
        .expect("policies");
        let names: Vec<String> = access::policies(db)
            .expect("policies")
            .into_iter()
            .map(|p| p.1)
            .collect();
        assert_eq!(names, ["alpha", "zeta"], "{d:?}");
        access::touch_api_key(db, "k1", "2026-12-05 12:00:00.000Z").expect("touch");
        let used = db
            .row(
                "SELECT \"lastUsed\" FROM \"_apiKeys\" WHERE \"id\" = 'k1'",
                &[],
                |r| r.text(0),
            )
            .expect("row");
        assert_eq!(used.as_deref(), Some("2026-12-05 12:00:00.000Z"), "{d:?}");

        // Expired one-time rows: only the old ones of that collection.
        db.batch(
            "INSERT INTO \"_otps\" (\"id\", \"collectionRef\", \"recordRef\", \"created\")
             VALUES ('o1', 'c1', 'r', '2026-01-01 00:00:00.000Z'), ('o2', 'c1', 'r', '2026-01-03 00:00:00.000Z'),
                    ('o3', 'c2', 'r', '2026-01-01 00:00:00.000Z');",
        )
        .expect("otps");
        let n =
            expired::delete_before(db, "_otps", "c1", "2026-01-02 00:00:00.000Z").expect("delete");
        assert_eq!(n, 1, "{d:?}");
    }
}

/// A collection with a field of each kind the store treats differently.
fn posts() -> crate::schema::Collection {
    crate::schema::Collection::from_stored(&json!({
        "id": "pbc_posts", "name": "posts", "type": "base", "system": false,
        "fields": [
            {"id": "text3208210256", "name": "id", "type": "text", "primaryKey": true},
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "flag", "type": "bool"},
            {"name": "meta", "type": "json"},
            {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
            {"name": "editors", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 5},
            {"name": "created", "type": "autodate", "onCreate": true}
        ],
        "indexes": ["CREATE UNIQUE INDEX idx_title ON posts (title)"],
        "listRule": null, "viewRule": null, "createRule": null,
        "updateRule": null, "deleteRule": null, "created": "", "updated": ""
    }))
    .expect("posts")
}

#[test]
fn records_read_and_write_alike() {
    use crate::filter::compile::Param;
    use crate::store::records::{self, SortKey, Where};
    let posts = posts();
    let rec = |id: &str, title: &str, n: f64, editors: Vec<&str>| {
        let v = json!({"id": id, "title": title, "n": n, "flag": n > 1.0,
            "meta": {"k": [1, "x"], "n": null}, "tags": ["a"], "editors": editors, "created": "2026-12-05"});
        v.as_object().expect("object").clone()
    };
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        crate::store::ddl::create_table(db, &posts).expect("table");
        assert!(!records::any(db, &posts).expect("any"), "{d:?}");
        records::insert(db, &posts, &rec("p1", "Hello", 1.0, vec!["u1"])).expect("p1");
        records::insert(db, &posts, &rec("p2", "World", 2.5, vec!["u1", "u2"])).expect("p2");
        records::insert(db, &posts, &rec("p3", "Third", 3.0, vec![])).expect("p3");
        let dup = records::insert(db, &posts, &rec("p4", "Hello", 0.0, vec![]))
            .expect_err("duplicate title");
        assert_eq!(
            records::unique_violation(&dup),
            Some(vec!["title".to_owned()]),
            "{d:?}"
        );
        let dup_id = records::insert(db, &posts, &rec("p1", "Other", 0.0, vec![]))
            .expect_err("duplicate id");
        assert!(records::unique_violation(&dup_id).is_some(), "{d:?}");

        let p2 = records::get(db, &posts, "p2").expect("get").expect("p2");
        assert_eq!(
            serde_json::Value::Object(p2.clone()),
            json!({"id": "p2", "title": "World", "n": 2.5, "flag": true,
            "meta": {"k": [1, "x"], "n": null}, "tags": ["a"], "editors": ["u1", "u2"], "created": "2026-12-05"}),
            "{d:?}"
        );
        let p1 = records::get(db, &posts, "p1").expect("get").expect("p1");
        assert_eq!(
            p1["n"],
            json!(1),
            "{d:?}: whole numbers read back as integers"
        );
        assert!(
            records::get(db, &posts, "nope").expect("get").is_none(),
            "{d:?}"
        );
        assert_eq!(
            records::find_by(db, &posts, "title", "hELLO")
                .expect("find")
                .map(|r| r["id"].clone()),
            Some(json!("p1")),
            "{d:?}"
        );
        let found = records::find_all(db, &posts, &[("title", "World")], 10).expect("find all");
        assert_eq!(found.len(), 1, "{d:?}");

        let sort = [SortKey {
            field: "n".into(),
            desc: true,
            expr: None,
        }];
        let filter = Where {
            sql: "\"n\" >= ?1".into(),
            params: vec![Param::Int(2)],
        };
        let flag = Where {
            sql: "\"title\" = ?1".into(),
            params: vec![Param::Text("Third".into())],
        };
        let (rows, total) = records::list(
            db,
            &posts,
            &sort,
            10,
            0,
            true,
            Some(&filter),
            std::slice::from_ref(&flag),
        )
        .expect("list");
        let ids: Vec<(&str, bool)> = rows
            .iter()
            .map(|(r, m)| (r["id"].as_str().unwrap_or(""), m[0]))
            .collect();
        assert_eq!(
            (ids, total),
            (vec![("p3", true), ("p2", false)], 2),
            "{d:?}"
        );
        let (rows, _) =
            records::list(db, &posts, &[], 2, 1, false, None, &[]).expect("rowid order");
        assert_eq!(
            rows.iter()
                .map(|(r, _)| r["id"].clone())
                .collect::<Vec<_>>(),
            [json!("p2"), json!("p3")],
            "{d:?}"
        );
        assert_eq!(
            records::select_where(db, &posts, &filter, 1)
                .expect("select")
                .len(),
            1,
            "{d:?}"
        );
        assert!(
            records::get_where(db, &posts, "p1", &filter)
                .expect("get where")
                .is_none(),
            "{d:?}"
        );
        assert!(
            records::get_where(db, &posts, "p2", &filter)
                .expect("get where")
                .is_some(),
            "{d:?}"
        );

        let editors = posts.field("editors").expect("field");
        let refs: Vec<_> = records::referencing(db, &posts, editors, "u2")
            .expect("refs")
            .into_iter()
            .map(|r| r["id"].clone())
            .collect();
        assert_eq!(refs, [json!("p2")], "{d:?}");
        let ids = ["p1".to_owned(), "zz".to_owned(), "p3".to_owned()];
        assert_eq!(
            records::count_existing(db, &posts, &ids).expect("count"),
            2,
            "{d:?}"
        );

        let mut changed = p1.clone();
        changed.insert("title".into(), json!("Changed"));
        changed.insert("meta".into(), serde_json::Value::Null);
        records::update(db, &posts, "p1", &changed).expect("update");
        let back = records::get(db, &posts, "p1").expect("get").expect("p1");
        assert_eq!(
            (back["title"].clone(), back["meta"].clone()),
            (json!("Changed"), serde_json::Value::Null),
            "{d:?}"
        );
        records::delete(db, &posts, "p3").expect("delete");
        let mut left = records::all_ids(db, &posts).expect("ids");
        left.sort();
        assert_eq!(left, ["p1", "p2"], "{d:?}");
        assert!(records::any(db, &posts).expect("any"), "{d:?}");
    }
}

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
        let after = changes::after(db, first, 2).expect("after");
        assert_eq!(
            after
                .iter()
                .map(|c| c.record_id.as_str())
                .collect::<Vec<_>>(),
            ["r1", "r2"],
            "{d:?}"
        );
        assert_eq!(after[0].snapshot.get("n"), Some(&json!(1)), "{d:?}");
        let of_c1 = changes::of_collection_from(db, "c1", first + 1, 10).expect("of collection");
        assert_eq!(
            of_c1.iter().map(|c| c.seq - first).collect::<Vec<_>>(),
            [2, 3],
            "{d:?}"
        );
        // By age first (one row before 2026-01-02), then keep the newest two.
        assert_eq!(
            changes::trim(db, "2026-01-02", 2).expect("trim"),
            2,
            "{d:?}"
        );
        assert_eq!(
            changes::oldest(db).expect("oldest"),
            Some(first + 2),
            "{d:?}"
        );
        assert_eq!(changes::last_seq(db).expect("last"), last, "{d:?}");
    }
}

#[test]
fn field_rule_and_expand_conditions_alike() {
    use crate::filter::compile::Param;
    use crate::store::records::{self, Where};
    use crate::store::{field_reads, relations};
    let posts = posts();
    let editors = posts.field("editors").expect("field").clone();
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        crate::store::ddl::create_table(db, &posts).expect("table");
        for (id, n, eds) in [
            ("p1", 1, json!(["u1"])),
            ("p2", 5, json!(["u1", "u2"])),
            ("p3", 9, json!([])),
        ] {
            let row = json!({"id": id, "title": id, "n": n, "editors": eds});
            records::insert(db, &posts, row.as_object().expect("object")).expect("insert");
        }
        let p = |n: usize| d.placeholder(n);
        let always = Where {
            sql: format!("{} = {}", p(1), p(1)),
            params: vec![Param::Int(1)],
        };
        let never = Where {
            sql: format!("{} > {}", p(2), p(3)),
            params: vec![Param::Int(1), Param::Int(2)],
        };
        assert_eq!(
            field_reads::decide(db, &[&always, &never]).expect("decide"),
            [true, false],
            "{d:?}"
        );
        let big = Where {
            sql: format!("\"n\" > {}", p(1)),
            params: vec![Param::Int(4)],
        };
        let per = field_reads::decide_per_record(db, &posts, &[&big], &["p1", "p2", "zz"])
            .expect("per record");
        assert_eq!(
            (per.len(), per.get("p1").cloned(), per.get("p2").cloned()),
            (2, Some(vec![false]), Some(vec![true])),
            "{d:?}"
        );
        // Expand: ids in a bound list, and back-relations to a bound list.
        let ids = Where {
            sql: relations::id_in(&posts, 1, d),
            params: vec![Param::Text(r#"["p1","p3","zz"]"#.into())],
        };
        assert_eq!(
            records::select_where(db, &posts, &ids, 10)
                .expect("ids")
                .len(),
            2,
            "{d:?}"
        );
        let back = Where {
            sql: relations::refers_to_any(&posts, &editors, 1, d),
            params: vec![Param::Text(r#"["u2"]"#.into())],
        };
        let found: Vec<_> = records::select_where(db, &posts, &back, 10)
            .expect("back")
            .into_iter()
            .map(|r| r["id"].clone())
            .collect();
        assert_eq!(found, [json!("p2")], "{d:?}");
    }
}

#[test]
fn collection_pages_alike() {
    use crate::store::collections::{ListPage, list_page};
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        let fields = crate::store::simple_list::Fields {
            columns: &["name", "created"],
            json: None,
        };
        let (order, order_params) =
            crate::store::simple_list::order_by_in(d, fields, "-name", 0).expect("sort");
        let q = ListPage {
            hidden: &["_roles"],
            filter: None,
            order: &order,
            order_params: &order_params,
            limit: 3,
            offset: 1,
            count: true,
        };
        let (ids, total) = list_page(db, &q).expect("page");
        let all = collections::load_all(db).expect("all").len() as i64;
        assert_eq!((ids.len(), total), (3, all - 1), "{d:?}");
        let q = ListPage {
            limit: -1,
            offset: 0,
            count: false,
            ..q
        };
        let (ids, total) = list_page(db, &q).expect("no limit");
        assert_eq!((ids.len() as i64, total), (all - 1, -1), "{d:?}");
    }
}

#[test]
fn applied_migrations_alike() {
    use crate::store::migrations;
    use std::collections::HashSet;
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        // PocketBase's older rows hold seconds, newer ones microseconds.
        db.batch(
            "INSERT INTO _migrations (file, applied) VALUES ('1_old.js', 1700000000), ('0_sys.go', 1600000000)",
        )
        .expect("old rows");
        migrations::insert(db, "2_new.js").expect("insert");
        let known: HashSet<String> = ["1_old.js", "2_new.js", "0_sys.go"]
            .map(String::from)
            .into();
        assert_eq!(migrations::applied(db).expect("applied").len(), 3, "{d:?}");
        assert_eq!(
            migrations::last_applied(db, &known, 2).expect("last"),
            ["2_new.js", "1_old.js"],
            "{d:?}"
        );
        migrations::delete(db, "2_new.js").expect("delete");
        assert!(
            !migrations::applied(db)
                .expect("applied")
                .contains("2_new.js"),
            "{d:?}"
        );
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
