//! System tables and collections: bootstrap, settings, sessions, auth side tables, migrations.

use serde_json::json;

use super::engines;
use crate::store::sql::Db;
use crate::store::{bootstrap, collections, sessions, settings};

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
