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

/// Every row of the change log as (collection, action, stored record text:
/// the older format's `snapshot` and the compact format's `prior`).
fn log(t: &TestApp) -> Vec<(String, String, String)> {
    t.app
        .store
        .read(|db| {
            db.rows(
                "SELECT collection_name, action, COALESCE(CAST(snapshot AS TEXT), '') || COALESCE(CAST(prior AS TEXT), '') || COALESCE(CAST(delta AS TEXT), '') FROM _changes ORDER BY seq",
                &[],
                |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
            )
        })
        .expect("read the log")
}

/// Every secret an auth table holds right now (hashes and token keys).
fn secrets_in(t: &TestApp, table: &str) -> Vec<String> {
    t.app
        .store
        .read(|db| {
            db.rows(
                &format!("SELECT password, \"tokenKey\" FROM \"{table}\""),
                &[],
                |r| Ok([r.text(0)?, r.text(1)?]),
            )
        })
        .expect("read secrets")
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test]
async fn no_password_hash_or_token_key_ever_enters_the_log() {
    let t = TestApp::spawn().await;
    let mut seen = secrets_in(&t, "_superusers");
    // Create, update, password change, API key, delete of auth records.
    let (id, token) = t.user("carol@example.com").await;
    seen.extend(secrets_in(&t, "users"));
    let url = format!("/api/collections/users/records/{id}");
    let (s, body) = t.patch(&url, json!({"name": "Carol"})).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = t
        .call(
            reqwest::Method::PATCH,
            &url,
            Some(&token),
            Some(
                json!({"oldPassword": "password123", "password": "new-password-1",
                        "passwordConfirm": "new-password-1"}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    seen.extend(secrets_in(&t, "users"));
    let (s, key) = t
        .post(
            "/api/collections/_apiKeys/records",
            json!({"name": "k", "collectionRef": "users", "recordRef": id}),
        )
        .await;
    assert_eq!(s, 200, "{key}");
    seen.push(key["key"].as_str().expect("key").to_owned());
    let digest: String = t
        .app
        .store
        .read(|db| db.row("SELECT \"keyHash\" FROM \"_apiKeys\"", &[], |r| r.text(0)))
        .expect("digest")
        .expect("one API key");
    seen.push(digest);
    let (s, _) = t.delete(&url).await;
    assert_eq!(s, 204);
    seen.retain(|s| !s.is_empty());
    assert!(seen.len() >= 7, "{seen:?}");

    let rows = log(&t);
    let actions: Vec<_> = rows
        .iter()
        .filter(|(c, _, _)| c == "users")
        .map(|(_, a, _)| a.as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "update", "delete"]);
    for (coll, action, snapshot) in &rows {
        for secret in &seen {
            assert!(
                !snapshot.contains(secret.as_str()),
                "{coll} {action}: a secret in the log"
            );
        }
        for key in [
            "\"password\"",
            "\"tokenKey\"",
            "\"keyHash\"",
            "$argon2",
            "$2a$",
        ] {
            assert!(
                !snapshot.contains(key),
                "{coll} {action}: {key} in {snapshot}"
            );
        }
    }
    // The log still describes the record (what realtime needs): the first
    // update stores what it changed (the name, not the email), and the
    // record before it and after the create are rebuilt from that.
    let (_, _, updated) = rows
        .iter()
        .find(|(c, a, _)| c == "users" && a == "update")
        .expect("user update");
    let delta: serde_json::Value = serde_json::from_str(updated).expect("json");
    assert!(delta.get("name").is_some(), "{delta}");
    assert!(delta.get("email").is_none(), "{delta}");
    let schema = t.app.store.schema();
    let read = t
        .app
        .store
        .read(|conn| cairn::store::changes::after(conn, &schema, 0, 1000))
        .expect("read back");
    let created = read
        .iter()
        .find(|ch| ch.record_id == id && ch.action == "create")
        .expect("user create");
    assert_eq!(created.snapshot["email"], "carol@example.com");
    assert_eq!(created.snapshot["id"], id.as_str());
    assert!(!created.snapshot.contains_key("tokenKey"));
    let renamed = read
        .iter()
        .find(|ch| ch.record_id == id && ch.action == "update")
        .expect("user update");
    let before = renamed
        .prior
        .as_ref()
        .expect("the record before the update");
    assert_eq!(before["email"], "carol@example.com");
    assert_eq!(renamed.snapshot["name"], "Carol");
    assert_ne!(before["name"], "Carol");
    assert!(!before.contains_key("tokenKey") && !before.contains_key("password"));
}
