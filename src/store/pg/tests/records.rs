//! Collection tables and record rows.

use serde_json::json;

use super::{engines, posts};
use crate::store::collections;
use crate::store::sql::{Db, Val};

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
        // Only the fields that differ from the row they were made from are
        // written: `title` equals the stale `old` here, so it is left as
        // stored; `n` and `meta` differ and are written.
        let mut old = back.clone();
        old.insert("title".into(), json!("Stale"));
        let mut next = old.clone();
        next.insert("n".into(), json!(7));
        next.insert("meta".into(), json!({"k": 1}));
        records::update_changed(db, &posts, "p1", &old, &next).expect("update changed");
        let got = records::get(db, &posts, "p1").expect("get").expect("p1");
        assert_eq!(got["title"], json!("Changed"), "{d:?}");
        assert_eq!(got["n"].as_f64(), Some(7.0), "{d:?}");
        assert_eq!(got["meta"], json!({"k": 1}), "{d:?}");
        // Another set of changed fields gets its own statement (the texts
        // are cached per set), and the first set's statement again its own.
        let mut title_only = got.clone();
        title_only.insert("title".into(), json!("Renamed"));
        records::update_changed(db, &posts, "p1", &got, &title_only).expect("title only");
        let mut n_and_meta = title_only.clone();
        n_and_meta.insert("n".into(), json!(8));
        n_and_meta.insert("meta".into(), json!({"k": 2}));
        records::update_changed(db, &posts, "p1", &title_only, &n_and_meta).expect("n, meta");
        let got = records::get(db, &posts, "p1").expect("get").expect("p1");
        assert_eq!(
            (got["title"].clone(), got["n"].as_f64(), got["meta"].clone()),
            (json!("Renamed"), Some(8.0), json!({"k": 2})),
            "{d:?}"
        );
        // Nothing differs: nothing is written (and no error).
        records::update_changed(db, &posts, "p1", &got, &got).expect("no change");
        assert_eq!(
            records::get(db, &posts, "p1").expect("get").expect("p1"),
            got,
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

/// A fresh PostgreSQL database with the `posts` table, if one is configured.
fn pg_with_posts() -> Option<(super::super::PgConn, crate::schema::Collection)> {
    let pg = super::fresh_pg()?;
    crate::store::bootstrap::bootstrap(&pg).expect("bootstrap");
    let posts = posts();
    crate::store::ddl::create_table(&pg, &posts).expect("table");
    Some((pg, posts))
}

/// List pages read PostgreSQL's indexes in order instead of sorting the
/// table: sort keys on `NOT NULL` columns (ties then in insertion order,
/// an incremental sort), insertion order (`_rowid`), and
/// `=` against a bound value (the form `owner = @request.auth.id` takes),
/// which keeps SQLite's `IS` meaning where the column is NULL.
#[test]
fn list_pages_read_indexes_in_order() {
    use crate::store::dialect::Dialect;
    use crate::store::record_list::order_by;
    use crate::store::records::SortKey;
    let Some((pg, posts)) = pg_with_posts() else {
        return;
    };
    let db: &dyn crate::store::sql::Db = &pg;
    // Plans are judged with the table's size out of the picture: a seq
    // scan or a sort is only taken when no index can give the order.
    db.batch("SET enable_seqscan = off").expect("set");
    db.batch("SET enable_sort = off").expect("set");
    let plan = |sql: &str, params: &[Val<'_>]| {
        db.rows(&format!("EXPLAIN {sql}"), params, |r| r.text(0))
            .expect("explain")
            .join("\n")
    };
    let key = |field: &str, desc: bool| SortKey {
        field: field.into(),
        desc,
        expr: None,
    };
    for sort in [
        vec![key("created", true)],
        vec![key("created", false)],
        vec![key("@rowid", true)],
        vec![key("id", true)],
        vec![],
    ] {
        let sql = format!(
            "SELECT * FROM \"posts\"{} LIMIT 50",
            order_by(Dialect::Postgres, &posts, &sort)
        );
        let p = plan(&sql, &[]);
        // Ties on `created` are put in insertion order by an incremental
        // sort over the index's order: no full sort, no table scan.
        let full_sort = p.lines().any(|l| {
            let l = l.trim_start().trim_start_matches("->").trim_start();
            l.starts_with("Sort ") && !l.starts_with("Sort Key")
        });
        assert!(!full_sort && !p.contains("Seq Scan"), "{sql}\n{p}");
    }
    // A JSON column may be NULL: its sort still states where NULLs go.
    let json_sort = order_by(Dialect::Postgres, &posts, &[key("meta", true)]);
    assert_eq!(
        json_sort,
        " ORDER BY \"meta\" DESC NULLS LAST, \"_rowid\" ASC"
    );

    let title = "\"posts\".\"title\"";
    let eq = Dialect::Postgres
        .eq_value(title, "$1")
        .expect("a column and a value");
    let sql = format!("SELECT * FROM \"posts\" WHERE {eq}");
    let p = plan(&sql, &[Val::Text("a")]);
    assert!(
        p.contains("idx_title") && !p.contains("Seq Scan"),
        "{sql}\n{p}"
    );
    assert_eq!(Dialect::Sqlite.eq_value(title, "?1"), None);
    assert_eq!(Dialect::Postgres.eq_value("lower(x)", "$1"), None);
    assert_eq!(Dialect::Postgres.eq_value(title, "$1 || 'x'"), None);

    // Same rows as `IS NOT DISTINCT FROM`, NULLs and negation included.
    db.batch("SET enable_seqscan = on").expect("set");
    db.batch(
        "INSERT INTO posts (id, title, meta) VALUES ('a', 'a', NULL), \
         ('b', 'b', '\"x\"'), ('c', 'c', '\"y\"')",
    )
    .expect("rows");
    let meta = "\"posts\".\"meta\"";
    let eq = Dialect::Postgres.eq_value(meta, "$1").expect("eq");
    for (cond, want) in [
        (eq.clone(), vec!["b"]),
        (format!("NOT {eq}"), vec!["a", "c"]),
        (
            format!("NOT ({meta} IS NOT DISTINCT FROM $1)"),
            vec!["a", "c"],
        ),
    ] {
        let ids = db
            .rows(
                &format!("SELECT id FROM posts WHERE {cond} ORDER BY id"),
                &[Val::Text("\"x\"")],
                |r| r.text(0),
            )
            .expect("select");
        assert_eq!(ids, want, "{cond}");
    }
}

/// PostgreSQL list totals are cached per snapshot (`counts.rs`): a write
/// through another session shows in the very next total, empty pages
/// still count, and two databases of one cluster (whose snapshots are
/// the same) never share a total.
#[test]
fn list_totals_follow_every_commit() {
    use crate::store::records::{self, Where};
    let (Some(url_a), Some(url_b)) = (super::fresh_pg_url(), super::fresh_pg_url()) else {
        return;
    };
    let conn = |url: &str| super::super::PgConn::connect(url).expect("connect");
    let (a, b, writer) = (conn(&url_a), conn(&url_b), conn(&url_a));
    let posts = posts();
    let rec = |id: &str, n: f64| {
        json!({"id": id, "title": id, "n": n, "created": "2026-12-06"})
            .as_object()
            .expect("object")
            .clone()
    };
    for (db, rows) in [(&a, 2), (&b, 3)] {
        crate::store::bootstrap::bootstrap(db).expect("bootstrap");
        crate::store::ddl::create_table(db, &posts).expect("table");
        for i in 0..rows {
            records::insert(db, &posts, &rec(&format!("r{i}"), f64::from(i))).expect("row");
        }
    }
    let filter = Where {
        sql: "\"n\" >= ?1".into(),
        params: vec![crate::filter::compile::Param::Int(1)],
    };
    let total = |db: &super::super::PgConn, offset: i64, filter: Option<&Where>| {
        records::list(db, &posts, &[], 10, offset, true, filter, &[])
            .expect("list")
            .1
    };
    for _ in 0..2 {
        assert_eq!(total(&a, 0, None), 2);
        assert_eq!(total(&b, 0, None), 3);
        assert_eq!(total(&a, 0, Some(&filter)), 1);
        assert_eq!(total(&b, 0, Some(&filter)), 2);
    }
    records::insert(&writer, &posts, &rec("w1", 5.0)).expect("write elsewhere");
    assert_eq!(total(&a, 0, None), 3);
    assert_eq!(total(&a, 0, Some(&filter)), 2);
    assert_eq!(total(&a, 50, None), 3, "a page past the end still counts");
    records::delete(&writer, &posts, "w1").expect("delete elsewhere");
    assert_eq!(total(&a, 50, None), 2);
    assert_eq!(total(&a, 0, None), 2);
    assert_eq!(total(&b, 0, None), 3);
    // Inside a transaction that wrote, totals are counted every time: a
    // savepoint rolled back changes the rows, not the snapshot.
    a.batch("BEGIN").expect("begin");
    records::insert(&a, &posts, &rec("t1", 9.0)).expect("in the transaction");
    assert_eq!(total(&a, 0, None), 3);
    a.batch("SAVEPOINT s").expect("savepoint");
    records::insert(&a, &posts, &rec("t2", 9.0)).expect("in the savepoint");
    assert_eq!(total(&a, 0, None), 4);
    a.batch("ROLLBACK TO SAVEPOINT s")
        .expect("roll back the savepoint");
    assert_eq!(total(&a, 0, None), 3);
    a.batch("ROLLBACK").expect("roll back");
    assert_eq!(total(&a, 0, None), 2);
}

/// A table made before `_rowid` had an index gets it at the next start
/// (the bootstrap, under its lock), once.
#[test]
fn older_tables_get_their_rowid_index_at_bootstrap() {
    let Some((pg, posts)) = pg_with_posts() else {
        return;
    };
    let db: &dyn crate::store::sql::Db = &pg;
    collections::insert(db, &posts).expect("collection row");
    let indexes = || {
        db.rows(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'posts' AND indexdef LIKE '%(_rowid)'",
            &[],
            |r| r.text(0),
        )
        .expect("indexes")
    };
    assert_eq!(indexes(), ["_cairn_pbc_posts__rowid"]);
    db.batch("DROP INDEX \"_cairn_pbc_posts__rowid\"")
        .expect("as before the upgrade");
    assert!(indexes().is_empty());
    crate::store::bootstrap::bootstrap(db).expect("bootstrap again");
    crate::store::bootstrap::bootstrap(db).expect("and again");
    assert_eq!(indexes(), ["_cairn_pbc_posts__rowid"]);
}
