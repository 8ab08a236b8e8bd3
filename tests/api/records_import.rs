//! `records::import::create_all`: many creates in one transaction, every
//! failing row reported, nothing stored when any fails, and a dry run that
//! finds the same errors and stores nothing (the dashboard's CSV import).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::helpers::TestApp;
use cairn::service::Actor;
use cairn::service::records::import::create_all;

fn rows(v: Value) -> Vec<Map<String, Value>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

async fn count(t: &TestApp) -> i64 {
    let (_, body) = t.get("/api/collections/people/records").await;
    body["totalItems"].as_i64().unwrap()
}

#[tokio::test]
async fn all_or_nothing_with_every_failing_row() {
    let t = TestApp::spawn().await;
    let (s, _) = t
        .post(
            "/api/collections",
            json!({"name": "people", "type": "base", "createRule": "",
                "fields": [{"name": "name", "type": "text", "required": true}, {"name": "code", "type": "text"}],
                "indexes": ["CREATE UNIQUE INDEX idx_code ON people (code) WHERE code != ''"]}),
        )
        .await;
    assert_eq!(s, 200);
    let c = t.app.store.schema().get("people").unwrap();
    let actor = Actor::Guest;
    let req =
        cairn::service::rules::request_info(&t.app.store, &actor, "POST", Map::new(), Map::new());
    let bad = rows(json!([
        {"name": "a", "code": "x"},
        {"code": "y"},
        {"name": "c", "code": "x"},
        {"name": "d", "code": "z"}
    ]));
    // Dry run: the errors the import would meet, nothing stored.
    let r = create_all(
        &t.app.store,
        Arc::clone(&c),
        &actor,
        &req,
        bad.clone(),
        false,
    )
    .await
    .unwrap();
    let failed: Vec<(usize, Vec<String>)> = r
        .errors
        .iter()
        .map(|e| (e.row, e.data.keys().cloned().collect()))
        .collect();
    assert_eq!(
        failed,
        vec![(1, vec!["name".into()]), (2, vec!["code".into()])]
    );
    assert_eq!((r.created, r.valid), (0, 0));
    assert_eq!(count(&t).await, 0);
    // The real import: the same errors, nothing stored.
    let r = create_all(&t.app.store, Arc::clone(&c), &actor, &req, bad, true)
        .await
        .unwrap();
    assert_eq!(r.errors.len(), 2);
    assert_eq!(r.created, 0);
    assert_eq!(count(&t).await, 0);
    // Clean rows: a dry run counts them, the import stores all of them.
    let good = rows(json!([{"name": "a", "code": "x"}, {"name": "b"}, {"name": "c", "code": "y"}]));
    let r = create_all(
        &t.app.store,
        Arc::clone(&c),
        &actor,
        &req,
        good.clone(),
        false,
    )
    .await
    .unwrap();
    assert_eq!((r.created, r.valid, r.errors.len()), (0, 3, 0));
    assert_eq!(count(&t).await, 0);
    let r = create_all(&t.app.store, Arc::clone(&c), &actor, &req, good, true)
        .await
        .unwrap();
    assert_eq!((r.created, r.errors.len()), (3, 0));
    assert_eq!(count(&t).await, 3);
    // The create rule applies to every row.
    let (s, _) = t
        .patch("/api/collections/people", json!({"createRule": null}))
        .await;
    assert_eq!(s, 200);
    let c = t.app.store.schema().get("people").unwrap();
    let r = create_all(
        &t.app.store,
        c,
        &actor,
        &req,
        rows(json!([{"name": "e"}])),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.errors.len(), 1);
    assert_eq!(count(&t).await, 3);
}
