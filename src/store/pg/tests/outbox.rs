//! The webhook outbox and delivery log, and schema changes, on both engines.

use super::{engines, fresh_pg, posts};
use crate::store::sql::{Db, Val};
use crate::store::webhooks as wh;

fn endpoint(db: &dyn Db, id: &str) {
    db.exec(
        "INSERT INTO _webhooks (id, definition, secret, created, updated) VALUES (?1, '{}', 's', '', '')",
        &[Val::Text(id)],
    )
    .expect("endpoint");
}

fn delivery<'a>(webhook_id: &'a str, seq: i64, now: i64) -> wh::NewDelivery<'a> {
    wh::NewDelivery {
        webhook_id,
        event_id: "evt",
        change_seq: Some(seq),
        kind: "record.create",
        body: "{\"n\":1}",
        trigger: "scheduled",
        now,
    }
}

#[test]
fn deliveries_are_queued_claimed_logged_and_pruned_alike() {
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        endpoint(db, "wh1");
        let first = wh::insert_delivery(db, &delivery("wh1", 1, 10)).expect("insert");
        assert!(first.is_some(), "{d:?}");
        // The same endpoint and change again: nothing new.
        assert_eq!(
            wh::insert_delivery(db, &delivery("wh1", 1, 10)).expect("again"),
            None,
            "{d:?}"
        );
        let second = wh::insert_delivery(db, &delivery("wh1", 2, 20))
            .expect("insert")
            .expect("new");
        assert!(second > first.unwrap_or(0), "{d:?}");
        assert_eq!(wh::queue_depth(db).expect("depth"), 2, "{d:?}");
        assert_eq!(wh::next_due(db).expect("due"), Some(10), "{d:?}");
        // Only what is due, oldest first, and at most the limit.
        let claimed = wh::claim(db, "wh1", 15, 5).expect("claim");
        assert_eq!(claimed.len(), 1, "{d:?}");
        assert_eq!(
            (claimed[0].body.as_str(), claimed[0].change_seq),
            ("{\"n\":1}", Some(1))
        );
        assert!(
            wh::claim(db, "wh1", 15, 5).expect("claim").is_empty(),
            "{d:?}"
        );
        let attempt = wh::Attempt {
            delivery_id: claimed[0].id,
            n: 1,
            trigger: "scheduled".into(),
            started: 15,
            duration_ms: 3,
            status_code: Some(500),
            error_kind: Some("status".into()),
            response: b"oops\x00".to_vec(),
            truncated: true,
        };
        wh::record_attempt(db, &attempt, "failed", 0, 16).expect("attempt");
        let logged = wh::attempts_of(db, claimed[0].id).expect("attempts");
        assert_eq!(logged.len(), 1, "{d:?}");
        assert_eq!(
            (
                logged[0].status_code,
                logged[0].response.as_slice(),
                logged[0].truncated
            ),
            (Some(500), &b"oops\x00"[..], true),
            "{d:?}"
        );
        let (rows, total) = wh::list_deliveries(
            db,
            &wh::DeliveryQuery {
                webhook_id: "wh1".into(),
                state: "failed".into(),
                page: 1,
                per_page: 10,
                ..Default::default()
            },
        )
        .expect("list");
        assert_eq!((rows.len(), total, rows[0].attempts), (1, 1, 1), "{d:?}");
        assert_eq!(
            wh::failed_since(db, "wh1", 0).expect("failed"),
            [claimed[0].id]
        );
        assert!(
            wh::requeue(db, claimed[0].id, "manual", 30).expect("requeue"),
            "{d:?}"
        );
        assert_eq!(
            wh::delivery_for_seq(db, "wh1", 2).expect("for seq"),
            Some(second)
        );
        assert_eq!(wh::cancel_pending(db, "wh1").expect("cancel"), 2, "{d:?}");
        // Finished rows go, except the one with the highest id.
        assert_eq!(wh::prune(db, 1_000).expect("prune"), 1, "{d:?}");
        assert!(
            wh::get_delivery(db, second).expect("get").is_some(),
            "{d:?}"
        );
    }
}

#[test]
fn two_nodes_claim_different_deliveries_and_take_over_expired_leases() {
    let (Some(a), Some(url)) = (fresh_pg(), std::env::var("CAIRN_TEST_PG_URL").ok()) else {
        return;
    };
    crate::store::bootstrap::bootstrap(&a).expect("bootstrap");
    // A second session on the same database (the test database's name is
    // the one `a` is connected to).
    let name = (&a as &dyn Db)
        .row("SELECT current_database()", &[], |r| r.text(0))
        .expect("name")
        .expect("row");
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    let b = crate::store::pg::PgConn::connect(&format!("{base}/{name}")).expect("second");
    endpoint(&a, "wh1");
    for seq in 1..=4 {
        wh::insert_delivery(&a, &delivery("wh1", seq, 0)).expect("insert");
    }
    a.batch("BEGIN").expect("begin a");
    b.batch("BEGIN").expect("begin b");
    let mine = wh::claim(&a, "wh1", 100, 2).expect("claim a");
    // `b` does not wait for `a`'s locked rows: it takes the others.
    let theirs = wh::claim(&b, "wh1", 100, 4).expect("claim b");
    a.batch("COMMIT").expect("commit a");
    b.batch("COMMIT").expect("commit b");
    let mut ids: Vec<i64> = mine.iter().chain(&theirs).map(|c| c.id).collect();
    assert_eq!((mine.len(), theirs.len()), (2, 2));
    ids.dedup();
    assert_eq!(ids.len(), 4, "each delivery claimed once");
    // A restart resets only claims older than the lease; a later claim
    // takes an expired one over.
    assert_eq!(wh::reset_inflight(&a, 100).expect("reset"), 0);
    let later = 100 + wh::LEASE_MS + 1;
    assert_eq!(wh::claim(&b, "wh1", later, 10).expect("take over").len(), 4);
    // A claim whose session is gone (its node crashed) is taken back at
    // once, without waiting for the lease; a live one is left alone.
    wh::insert_delivery(&a, &delivery("wh1", 5, 0)).expect("insert");
    let c = crate::store::pg::PgConn::connect(&format!("{base}/{name}")).expect("third");
    assert_eq!(wh::claim(&c, "wh1", later, 1).expect("claim c").len(), 1);
    assert_eq!(
        wh::reset_inflight(&a, later).expect("reset"),
        0,
        "c is alive"
    );
    drop(c);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // The server ends the backend shortly after the connection closes.
        if wh::reset_inflight(&a, later).expect("reset") == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "c's claim was never taken back"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        wh::claim(&a, "wh1", later, 10).expect("claim again").len(),
        1
    );
}

#[test]
fn schema_changes_keep_data_by_field_id_alike() {
    use crate::schema::Collection;
    use crate::store::{ddl, records};
    let old = posts();
    let mut v = old.to_json();
    let fields = v["fields"].as_array_mut().expect("fields");
    // Swap two names, drop one field, add one, turn a single into a multiple.
    let by_name = |f: &serde_json::Value, n: &str| f["name"] == n;
    for f in fields.iter_mut() {
        if by_name(f, "title") {
            f["name"] = "n".into();
        } else if by_name(f, "n") {
            f["name"] = "title".into();
        }
    }
    fields.retain(|f| !by_name(f, "flag"));
    fields.push(serde_json::json!({"name": "extra", "type": "text"}));
    v["indexes"] = serde_json::json!([]);
    let new = Collection::from_stored(&v).expect("new shape");
    for db in engines() {
        let d = db.dialect();
        let db = db.as_ref();
        ddl::create_table(db, &old).expect("table");
        db.exec(
            "INSERT INTO posts (id, title, n, flag) VALUES ('p1', 'hello', ?1, ?2)",
            &[Val::Int(7), Val::Int(1)],
        )
        .expect("row");
        ddl::rebuild_table(db, &old, &new).expect("change");
        let row = records::get(db, &new, "p1").expect("get").expect("row");
        assert_eq!(row.get("n"), Some(&serde_json::json!("hello")), "{d:?}");
        let title = row.get("title").and_then(serde_json::Value::as_f64);
        assert_eq!(title, Some(7.0), "{d:?}");
        assert_eq!(row.get("extra"), Some(&serde_json::json!("")), "{d:?}");
        assert!(row.get("flag").is_none(), "{d:?}");
    }
}

#[test]
fn nodes_starting_together_bootstrap_once() {
    let (Some(a), Some(url)) = (fresh_pg(), std::env::var("CAIRN_TEST_PG_URL").ok()) else {
        return;
    };
    let name = (&a as &dyn Db)
        .row("SELECT current_database()", &[], |r| r.text(0))
        .expect("name")
        .expect("row");
    let base = url
        .rsplit_once('/')
        .map_or(url.as_str(), |(b, _)| b)
        .to_owned();
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let url = format!("{base}/{name}");
            std::thread::spawn(move || {
                let db = crate::store::pg::PgConn::connect(&url).expect("node");
                crate::store::bootstrap::bootstrap(&db)
            })
        })
        .collect();
    for n in nodes {
        n.join().expect("thread").expect("bootstrap");
    }
    let system = (&a as &dyn Db)
        .row(
            "SELECT COUNT(*) FROM _collections WHERE name = '_superusers'",
            &[],
            |r| r.int(0),
        )
        .expect("count");
    assert_eq!(system, Some(1));
}
