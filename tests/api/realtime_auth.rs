//! A live realtime subscriber's rights follow its auth record at once: a
//! password change (new token key) makes it a guest, a revoked role stops
//! what the role granted, before the subscriber reconnects.

use serde_json::json;

use crate::helpers::TestApp;
use crate::sse::Sse;

async fn create(t: &TestApp, coll: &str, body: serde_json::Value) -> serde_json::Value {
    let (s, rec) = t
        .post(&format!("/api/collections/{coll}/records"), body)
        .await;
    assert_eq!(s, 200, "{rec}");
    rec
}

/// Titles received within a short wait.
async fn drain(sse: &mut Sse) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((_, data)) = sse.next_within(crate::helpers::quiet(500)).await {
        out.push(
            data["record"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    out
}

#[tokio::test]
async fn a_password_change_makes_a_live_subscriber_a_guest() {
    let t = TestApp::spawn().await;
    let (s, body) = t
        .post(
            "/api/collections",
            json!({"name": "memos", "type": "base", "listRule": "@request.auth.id != ''",
                   "fields": [{"name": "title", "type": "text"}]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (id, token) = t.user("dave@example.com").await;
    let mut sse = Sse::connect(&t).await;
    assert_eq!(
        sse.subscribe(&t, Some(&token), json!(["memos/*"])).await.0,
        204
    );
    create(&t, "memos", json!({"title": "before"})).await;
    assert_eq!(drain(&mut sse).await, ["before"]);
    // A name change keeps the binding; a new password revokes it.
    let url = format!("/api/collections/users/records/{id}");
    assert_eq!(t.patch(&url, json!({"name": "Dave"})).await.0, 200);
    create(&t, "memos", json!({"title": "renamed"})).await;
    assert_eq!(drain(&mut sse).await, ["renamed"]);
    let (s, body) = t
        .patch(
            &url,
            json!({"password": "another-pass-1", "passwordConfirm": "another-pass-1"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    create(&t, "memos", json!({"title": "after"})).await;
    assert_eq!(drain(&mut sse).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_revoked_role_applies_at_once_to_live_subscribers() {
    let t = TestApp::spawn().await;
    let (s, body) = t
        .post(
            "/api/collections",
            json!({"name": "reports", "type": "base",
                   "listRule": "@request.auth.roles ?= 'reader'",
                   "fields": [{"name": "title", "type": "text"}]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (id, token) = t.user("erin@example.com").await;
    let role = create(&t, "_roles", json!({"name": "reader"})).await;
    let grant = create(
        &t,
        "_roleAssignments",
        json!({"role": role["id"], "collectionRef": "users", "recordRef": id}),
    )
    .await;
    let mut sse = Sse::connect(&t).await;
    assert_eq!(
        sse.subscribe(&t, Some(&token), json!(["reports/*"]))
            .await
            .0,
        204
    );
    create(&t, "reports", json!({"title": "granted"})).await;
    assert_eq!(drain(&mut sse).await, ["granted"]);
    let url = format!(
        "/api/collections/_roleAssignments/records/{}",
        grant["id"].as_str().unwrap()
    );
    assert_eq!(t.delete(&url).await.0, 204);
    create(&t, "reports", json!({"title": "revoked"})).await;
    assert_eq!(drain(&mut sse).await, Vec::<String>::new());
    // Granting it again applies at once too, on the same connection.
    create(
        &t,
        "_roleAssignments",
        json!({"role": role["id"], "collectionRef": "users", "recordRef": id}),
    )
    .await;
    create(&t, "reports", json!({"title": "regranted"})).await;
    assert_eq!(drain(&mut sse).await, ["regranted"]);
}
