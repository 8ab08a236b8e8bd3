//! The change log and the file-delete queue.

use serde_json::json;

use super::{engines, posts};
use crate::store::sql::Val;

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
