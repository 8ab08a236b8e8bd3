//! Performance features that must not change what clients see: list totals
//! served from the count cache follow every write at once, and the WAL is
//! folded back and truncated once writes go quiet.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, enc, sqlite_only};

async fn total(t: &TestApp, path: &str, token: Option<&str>) -> i64 {
    let (s, body) = t.call(Method::GET, path, token, None).await;
    assert_eq!(s, 200, "{body}");
    body["totalItems"].as_i64().unwrap()
}

#[tokio::test]
async fn cached_totals_follow_every_write() {
    let t = TestApp::spawn().await;
    t.public_collection(
        "notes",
        json!([{"name": "n", "type": "number"}, {"name": "owner", "type": "text"}]),
    )
    .await;
    let all = "/api/collections/notes/records?perPage=2";
    let big = format!("{all}&filter={}", enc("n > 10"));
    let mut ids = Vec::new();
    for n in [1, 20, 30] {
        let (s, rec) = t
            .post("/api/collections/notes/records", json!({"n": n}))
            .await;
        assert_eq!(s, 200, "{rec}");
        ids.push(rec["id"].as_str().unwrap().to_owned());
    }
    for _ in 0..3 {
        assert_eq!(total(&t, all, None).await, 3);
        assert_eq!(total(&t, &big, None).await, 2);
    }
    // Each acknowledged write shows in the very next total.
    let (s, _) = t
        .post("/api/collections/notes/records", json!({"n": 40}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(total(&t, all, None).await, 4);
    assert_eq!(total(&t, &big, None).await, 3);
    let (s, _) = t
        .patch(
            &format!("/api/collections/notes/records/{}", ids[0]),
            json!({"n": 50}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(total(&t, &big, None).await, 4);
    let (s, _) = t
        .delete(&format!("/api/collections/notes/records/{}", ids[1]))
        .await;
    assert_eq!(s, 204);
    assert_eq!(total(&t, all, None).await, 3);
    assert_eq!(total(&t, &big, None).await, 3);
    // Other bound values are other totals; so are other callers under a rule.
    let small = format!("{all}&filter={}", enc("n > 45"));
    assert_eq!(total(&t, &small, None).await, 1);
    let (s, body) = t
        .patch(
            "/api/collections/notes",
            json!({"listRule": "@request.auth.id != '' && owner = @request.auth.id"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(total(&t, all, None).await, 0);
    let (uid, token) = t.user("owner@example.com").await;
    let (s, _) = t
        .patch(
            &format!("/api/collections/notes/records/{}", ids[2]),
            json!({"owner": uid}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(total(&t, all, Some(&token)).await, 1);
    assert_eq!(total(&t, all, None).await, 0);
    assert_eq!(total(&t, all, Some(&t.token)).await, 3);
}

#[tokio::test]
async fn wal_is_truncated_when_writes_go_quiet() {
    if sqlite_only("SQLite's write-ahead log file") {
        return;
    }
    let t = TestApp::spawn().await;
    t.public_collection("bulk", json!([{"name": "body", "type": "text"}]))
        .await;
    let text = "x".repeat(2000);
    for _ in 0..200 {
        let (s, _) = t
            .post("/api/collections/bulk/records", json!({"body": text}))
            .await;
        assert_eq!(s, 200);
    }
    let wal = t.dir.path().join("data.db-wal");
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(
        size() > 100_000,
        "the writes went through the WAL: {}",
        size()
    );
    // Quiet for IDLE_TRUNCATE (2 s) plus a checkpoint interval: truncated.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while size() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(size(), 0, "WAL not truncated after the writes stopped");
    // The data is all there, and the next write works on the fresh WAL.
    assert_eq!(
        total(&t, "/api/collections/bulk/records?perPage=1", None).await,
        200
    );
    let (s, _) = t
        .post("/api/collections/bulk/records", json!({"body": "after"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        total(&t, "/api/collections/bulk/records?perPage=1", None).await,
        201
    );
}
