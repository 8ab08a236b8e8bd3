//! Superuser credentials changed by another process take effect at once.

use cairn::service::auth::{self, UpsertMode};
use serde_json::json;

use crate::helpers::{ADMIN, PASSWORD, TestApp, open_store};

#[tokio::test]
async fn upsert_from_a_second_store_is_seen_immediately_and_revokes_tokens() {
    let t = TestApp::spawn().await;
    // A second Store on the same directory stands in for `cairn superuser upsert`.
    let other = open_store(t.dir.path(), &t.app.config.db);
    auth::upsert_superuser(&other, ADMIN, "newpassword1", UpsertMode::Upsert)
        .await
        .expect("upsert");
    other.shutdown();
    let (s, _) = t
        .post(
            "/api/collections/_superusers/auth-with-password",
            json!({"identity": ADMIN, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, body) = t
        .post(
            "/api/collections/_superusers/auth-with-password",
            json!({"identity": ADMIN, "password": "newpassword1"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // The old token was signed with the rotated token key.
    let (s, _) = t.get("/api/collections").await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn tampered_tokens_are_guests() {
    let mut t = TestApp::spawn().await;
    t.token.push('x');
    let (s, _) = t.get("/api/collections").await;
    assert_eq!(s, 401);
    let (s, body) = t.get("/api/health").await;
    assert_eq!(s, 200);
    assert_eq!(body["data"], json!({}));
}
