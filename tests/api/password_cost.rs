//! The password field's `cost` (PocketBase's bcrypt cost) maps to argon2id
//! parameters of the same CPU time; bcrypt's range is enforced like
//! PocketBase does, and changing the cost keeps every stored hash working.

use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::stored_hash;
use crate::helpers::TestApp;

/// PATCHes the `users` password field's cost; returns the response and the
/// field's index in `fields`.
async fn set_cost(t: &TestApp, cost: i64) -> (u16, Value, usize) {
    let (s, coll) = t.get("/api/collections/users").await;
    assert_eq!(s, 200, "{coll}");
    let mut fields = coll["fields"].as_array().unwrap().clone();
    let idx = fields.iter().position(|f| f["type"] == "password").unwrap();
    fields[idx]["cost"] = json!(cost);
    let (s, body) = t
        .patch("/api/collections/users", json!({ "fields": fields }))
        .await;
    (s, body, idx)
}

async fn sign_up(t: &TestApp, email: &str) {
    let (s, rec) = t
        .post(
            "/api/collections/users/records",
            json!({"email": email, "password": "password123", "passwordConfirm": "password123"}),
        )
        .await;
    assert_eq!(s, 200, "{rec}");
}

async fn login(t: &TestApp, email: &str) -> u16 {
    t.call(
        Method::POST,
        "/api/collections/users/auth-with-password",
        None,
        Some(json!({"identity": email, "password": "password123"})),
    )
    .await
    .0
}

#[tokio::test]
async fn cost_sets_argon2_parameters_and_old_hashes_keep_working() {
    let t = TestApp::spawn().await;
    sign_up(&t, "default@example.com").await;
    let default = stored_hash(&t, "default@example.com");
    assert!(
        default.starts_with("$argon2id$v=19$m=19456,t=6,p=1$"),
        "{default}"
    );

    let (s, body, _) = set_cost(&t, 4).await;
    assert_eq!(s, 200, "{body}");
    sign_up(&t, "cheap@example.com").await;
    let cheap = stored_hash(&t, "cheap@example.com");
    assert!(
        cheap.starts_with("$argon2id$v=19$m=608,t=6,p=1$"),
        "{cheap}"
    );
    // Both sign in; neither hash is rewritten (the default one is stronger
    // than the field asks for, and lowering the cost never weakens it).
    assert_eq!(login(&t, "cheap@example.com").await, 200);
    assert_eq!(login(&t, "default@example.com").await, 200);
    assert_eq!(stored_hash(&t, "cheap@example.com"), cheap);
    assert_eq!(stored_hash(&t, "default@example.com"), default);

    // Back to the default cost: the cheap hash still verifies and is
    // upgraded at that sign-in; a wrong password changes nothing.
    let (s, body, _) = set_cost(&t, 0).await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = t
        .call(
            Method::POST,
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "cheap@example.com", "password": "wrong-one"})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(stored_hash(&t, "cheap@example.com"), cheap);
    assert_eq!(login(&t, "cheap@example.com").await, 200);
    let upgraded = stored_hash(&t, "cheap@example.com");
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=6,p=1$"),
        "{upgraded}"
    );
    assert_eq!(login(&t, "cheap@example.com").await, 200);
}

#[tokio::test]
async fn cost_outside_bcrypts_range_is_refused() {
    let t = TestApp::spawn().await;
    for (cost, code, threshold) in [
        (3, "validation_min_greater_equal_than_required", 4),
        (-1, "validation_min_greater_equal_than_required", 4),
        (32, "validation_max_less_equal_than_required", 31),
    ] {
        let (s, body, idx) = set_cost(&t, cost).await;
        assert_eq!(s, 400, "cost {cost}: {body}");
        let err = &body["data"]["fields"][idx.to_string()]["cost"];
        assert_eq!(err["code"], code, "cost {cost}: {body}");
        assert_eq!(err["params"]["threshold"], threshold, "{body}");
    }
    let (s, coll) = t.get("/api/collections/users").await;
    assert_eq!(s, 200);
    let pw = coll["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == "password")
        .unwrap()
        .clone();
    assert_eq!(pw["cost"], 0, "refused changes are not stored: {pw}");
    for cost in [4, 31] {
        let (s, body, _) = set_cost(&t, cost).await;
        assert_eq!(s, 200, "cost {cost}: {body}");
    }
}
