//! API rules: actor x action matrix through the real server.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn owner_rules_matrix() {
    let t = TestApp::spawn().await;
    let (s, _) = t
        .post(
            "/api/collections",
            json!({
                "name": "notes", "type": "base",
                "listRule": "owner = @request.auth.id",
                "viewRule": "owner = @request.auth.id",
                "createRule": "@request.auth.id != '' && @request.body.owner = @request.auth.id",
                "updateRule": "owner = @request.auth.id",
                "deleteRule": "owner = @request.auth.id",
                "fields": [
                    {"name": "title", "type": "text"},
                    {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
                ]
            }),
        )
        .await;
    assert_eq!(s, 200);
    let (owner_id, owner) = t.user("owner@example.com").await;
    let (_, other) = t.user("other@example.com").await;
    let superuser = t.token.clone();

    // create: guest and "someone else's" bodies fail with PocketBase's 400.
    let body = json!({"title": "mine", "owner": owner_id});
    let failed = json!({"data": {}, "message": "Failed to create record.", "status": 400});
    let url = "/api/collections/notes/records";
    let (s, b) = t.call(Method::POST, url, None, Some(body.clone())).await;
    assert_eq!((s, &b), (400, &failed));
    let (s, b) = t
        .call(Method::POST, url, Some(&other), Some(body.clone()))
        .await;
    assert_eq!((s, &b), (400, &failed));
    let (s, rec) = t
        .call(Method::POST, url, Some(&owner), Some(body.clone()))
        .await;
    assert_eq!(s, 200, "{rec}");
    let id = rec["id"].as_str().unwrap().to_owned();
    let (s, _) = t
        .call(
            Method::POST,
            url,
            Some(&superuser),
            Some(json!({"title": "admin's"})),
        )
        .await;
    assert_eq!(s, 200);
    let one = format!("{url}/{id}");

    // list: filtered silently; totals count only visible rows.
    let total = |v: &Value| v["totalItems"].as_i64().unwrap();
    // A guest's `@request.auth.id` is "", so the ownerless record matches
    // `owner = @request.auth.id` for guests, as in PocketBase.
    let cases: [(Option<&str>, i64); 4] = [
        (None, 1),
        (Some(&other), 0),
        (Some(&owner), 1),
        (Some(&superuser), 2),
    ];
    for (tok, want) in cases {
        let (s, b) = t.call(Method::GET, url, tok, None).await;
        assert_eq!((s, total(&b)), (200, want), "{tok:?}: {b}");
    }
    // view/update/delete by non-owners: 404.
    for tok in [None, Some(other.as_str())] {
        let (s, _) = t.call(Method::GET, &one, tok, None).await;
        assert_eq!(s, 404);
        let (s, _) = t
            .call(Method::PATCH, &one, tok, Some(json!({"title": "x"})))
            .await;
        assert_eq!(s, 404);
        let (s, _) = t.call(Method::DELETE, &one, tok, None).await;
        assert_eq!(s, 404);
    }
    let (s, b) = t.call(Method::GET, &one, Some(&owner), None).await;
    assert_eq!((s, b["title"].as_str()), (200, Some("mine")));
    let (s, b) = t
        .call(
            Method::PATCH,
            &one,
            Some(&owner),
            Some(json!({"title": "edited"})),
        )
        .await;
    assert_eq!((s, b["title"].as_str()), (200, Some("edited")));
    let (s, _) = t.call(Method::DELETE, &one, Some(&owner), None).await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn filter_restrictions_for_non_superusers() {
    let t = TestApp::spawn().await;
    t.public_collection(
        "items",
        json!([{"name": "title", "type": "text"}, {"name": "secret", "type": "text", "hidden": true}]),
    )
    .await;
    let (s, _) = t
        .post(
            "/api/collections/items/records",
            json!({"title": "a", "secret": "s"}),
        )
        .await;
    assert_eq!(s, 200);
    let q = |f: &str| {
        format!(
            "/api/collections/items/records?filter={}",
            crate::helpers::enc(f)
        )
    };
    let (s, b) = t.get_guest(&q("@request.auth.id = ''")).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (403, Some("Only superusers can filter by @request."))
    );
    let (s, _) = t.get_guest(&q("@collection.items.title ?= 'a'")).await;
    assert_eq!(s, 403);
    let (s, _) = t.get_guest(&q("secret = 's'")).await;
    assert_eq!(s, 400);
    let (s, b) = t.get(&q("secret = 's'")).await;
    assert_eq!((s, b["totalItems"].as_i64()), (200, Some(1)));
    // Injection attempts are plain values.
    let (s, b) = t.get_guest(&q("title = \"a' OR '1'='1\"")).await;
    assert_eq!((s, b["totalItems"].as_i64()), (200, Some(0)));
    let (s, _) = t.get_guest(&q("title = 'a'; DROP TABLE items")).await;
    assert_eq!(s, 400);
    let (s, b) = t.get_guest("/api/collections/items/records").await;
    assert_eq!((s, b["totalItems"].as_i64()), (200, Some(1)));
}

#[tokio::test]
async fn collection_joins_share_one_row_across_any_conditions() {
    // The team-membership pattern: both `?=` conditions must hold on the same
    // `members` row, or a member of any team would see every team's posts.
    let t = TestApp::spawn().await;
    let (a_id, a) = t.user("a@example.com").await;
    let (b_id, b) = t.user("b@example.com").await;
    t.public_collection(
        "members",
        json!([
            {"name": "user", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
            {"name": "team", "type": "text"}
        ]),
    )
    .await;
    let (s, _) = t
        .post(
            "/api/collections",
            json!({
                "name": "team_posts", "type": "base",
                "listRule": "@collection.members.user ?= @request.auth.id && @collection.members.team ?= team",
                "fields": [{"name": "team", "type": "text"}]
            }),
        )
        .await;
    assert_eq!(s, 200);
    for (user, team) in [(&a_id, "x"), (&b_id, "y")] {
        let (s, _) = t
            .post(
                "/api/collections/members/records",
                json!({"user": user, "team": team}),
            )
            .await;
        assert_eq!(s, 200);
    }
    for team in ["x", "y", "y"] {
        let (s, _) = t
            .post("/api/collections/team_posts/records", json!({"team": team}))
            .await;
        assert_eq!(s, 200);
    }
    let url = "/api/collections/team_posts/records";
    let count = |v: &Value| v["totalItems"].as_i64().unwrap();
    let (_, la) = t.call(Method::GET, url, Some(&a), None).await;
    let (_, lb) = t.call(Method::GET, url, Some(&b), None).await;
    let (_, lg) = t.call(Method::GET, url, None, None).await;
    assert_eq!((count(&la), count(&lb), count(&lg)), (1, 2, 0));
}
