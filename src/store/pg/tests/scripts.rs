//! SQL written by hook and migration scripts (`$app.db()`, `$dbx`) runs
//! alike on both engines: named placeholders bound, rows as JSON.

use serde_json::json;

use super::{engines, posts};
use crate::store::hooks_db;

#[test]
fn script_sql_binds_by_name_and_reads_rows_alike() {
    let posts = posts();
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        crate::store::ddl::create_table(db, &posts).expect("table");
        let n = hooks_db::execute(
            db,
            "INSERT INTO {{posts}} ([[id]], [[title]], [[n]]) VALUES ({:id}, {:title}, {:n}), ({:id2}, {:id}, {:zero})",
            &json!({"id": "p1", "id2": "p2", "title": "x'); DROP TABLE posts; --", "n": 2.5, "zero": 0}),
        )
        .expect("insert");
        assert_eq!(n, 2, "{d:?}");
        let rows = hooks_db::query(
            db,
            "SELECT id, title, n, n > {:min} AS big FROM posts WHERE title <> {:skip} ORDER BY id",
            &json!({"min": 1, "skip": "nothing"}),
        )
        .expect("rows");
        let big = |v: i64| json!(v);
        assert_eq!(
            rows,
            vec![
                json!({"id": "p1", "title": "x'); DROP TABLE posts; --", "n": 2.5, "big": big(1)}),
                json!({"id": "p2", "title": "p1", "n": 0, "big": big(0)}),
            ],
            "{d:?}"
        );
        let count =
            hooks_db::query(db, "SELECT count(*) AS c FROM posts", &json!({})).expect("count");
        assert_eq!(count, vec![json!({"c": 2})], "{d:?}");
        // `$dbx` conditions select records in insertion order, with paging.
        let w = hooks_db::where_of("[[title]] <> {:t}", &json!({"t": "none"}));
        let all = hooks_db::select_records(db, &posts, &w, &[], None, 0).expect("all");
        let ids: Vec<_> = all.iter().map(|r| r["id"].clone()).collect();
        assert_eq!(ids, [json!("p1"), json!("p2")], "{d:?}");
        let page = hooks_db::select_records(db, &posts, &w, &[], Some(1), 1).expect("page");
        assert_eq!(page.len(), 1, "{d:?}");
        assert_eq!(page[0]["id"], json!("p2"), "{d:?}");
        let err = hooks_db::query(db, "SELEC 1", &json!({})).expect_err("syntax");
        assert!(hooks_db::message(&err).contains("syntax"), "{d:?}");
    }
}
