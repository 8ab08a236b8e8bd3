//! The change log is written in the same transaction as the record, and
//! never otherwise.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn every_mutation_appends_exactly_one_entry() {
    let t = TestApp::spawn().await;
    t.public_collection(
        "notes",
        json!([{"name": "title", "type": "text", "required": true}]),
    )
    .await;
    let (s, rec) = t
        .post("/api/collections/notes/records", json!({"title": "a"}))
        .await;
    assert_eq!(s, 200);
    let id = rec["id"].as_str().unwrap().to_owned();
    assert_eq!(t.changes_for(&id), ["create"]);
    let (s, _) = t
        .patch(
            &format!("/api/collections/notes/records/{id}"),
            json!({"title": "b"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = t
        .delete(&format!("/api/collections/notes/records/{id}"))
        .await;
    assert_eq!(s, 204);
    assert_eq!(t.changes_for(&id), ["create", "update", "delete"]);
}

#[tokio::test]
async fn failed_writes_leave_no_entry() {
    let t = TestApp::spawn().await;
    t.public_collection(
        "notes",
        json!([{"name": "title", "type": "text", "required": true}]),
    )
    .await;
    let before = t.change_count();
    let (s, _) = t
        .post("/api/collections/notes/records", json!({"title": ""}))
        .await;
    assert_eq!(s, 400);
    let (s, _) = t
        .post(
            "/api/collections/notes/records",
            json!({"title": "x", "id": "dupdupdupdupdup"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = t
        .post(
            "/api/collections/notes/records",
            json!({"title": "y", "id": "dupdupdupdupdup"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(body["data"]["id"]["code"], "validation_not_unique");
    assert_eq!(t.change_count(), before + 1);
}

#[tokio::test]
async fn concurrent_writes_with_failures_commit_only_the_good_ones() {
    // Many writes land in the same group commit; the failing ones must roll
    // back alone (their SAVEPOINT), the others must all be stored and logged.
    let t = TestApp::spawn().await;
    t.public_collection(
        "items",
        json!([{"name": "n", "type": "number", "max": 1000}]),
    )
    .await;
    let before = t.change_count();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = t.client.clone();
        let url = format!("{}/api/collections/items/records", t.url);
        // Every fifth request violates max.
        let n = if i % 5 == 0 { 5000 } else { i };
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"n": n}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut ok = 0;
    let mut bad = 0;
    for task in tasks {
        match task.await.unwrap() {
            200 => ok += 1,
            400 => bad += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, bad), (160, 40));
    let (_, list) = t.get("/api/collections/items/records?perPage=1").await;
    assert_eq!(list["totalItems"], 160);
    assert_eq!(t.change_count(), before + 160);
}
