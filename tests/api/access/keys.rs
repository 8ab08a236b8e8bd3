//! API keys: shown once, acting as the bound record (its roles, policies,
//! field rules; a superuser's key acts as that superuser), both header forms,
//! `lastUsed`, no token exchange, and 401 for unknown, revoked and expired
//! keys on any endpoint.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    OTHER_DRAFT, OWN_DRAFT, OWN_PUB, POSTS, SEED, USERS_ID, World, create, err, id_of, not_found,
};
use crate::helpers::TestApp;

const KEYS: &str = "/api/collections/_apiKeys/records";
const SUPERUSERS_ID: &str = "pbc_3142635823";

fn key_invalid() -> Value {
    err(
        401,
        "The API key is invalid, revoked or expired.",
        json!({}),
    )
}

/// `cairn_` + 40 characters of [A-Za-z0-9].
fn is_key(k: &str) -> bool {
    k.len() == 46 && k.starts_with("cairn_") && k[6..].chars().all(|c| c.is_ascii_alphanumeric())
}

/// Every kind of request sent with this Authorization answers the key's 401,
/// public ones included (no falling back to a guest).
async fn assert_refused(t: &TestApp, auth: &str, why: &str) {
    let requests = [
        (Method::GET, format!("{POSTS}?sort=id"), None),
        (Method::GET, format!("{POSTS}/{OWN_PUB}"), None),
        (Method::POST, POSTS.to_owned(), Some(json!({"title": "x"}))),
        (Method::DELETE, format!("{POSTS}/{OWN_DRAFT}"), None),
        (Method::GET, "/api/collections".to_owned(), None),
        (Method::GET, "/api/health".to_owned(), None),
    ];
    for (method, path, body) in requests {
        let what = format!("{why}: {method} {path}");
        let got = t.call(method, &path, Some(auth), body).await;
        assert_eq!(got, (401, key_invalid()), "{what}");
    }
}

#[tokio::test]
async fn a_key_is_shown_once() {
    let w = World::new().await;
    let t = &w.t;
    let (_, col) = t.get("/api/collections/_apiKeys").await;
    let created = &w.key_record;
    let key = w.key.as_str();
    assert!(is_key(key), "{key}");
    let mut want = json!({
        "collectionId": col["id"], "collectionName": "_apiKeys", "id": created["id"],
        "name": "reporting", "collectionRef": USERS_ID, "recordRef": w.reporter_id,
        "expires": "", "lastUsed": "", "prefix": &key[..12], "key": key,
        "created": created["created"], "updated": created["updated"],
    });
    assert_eq!(created, &want);

    // Never again: not in view, list or update answers, not even to superusers.
    want.as_object_mut().unwrap().remove("key");
    let url = format!("{KEYS}/{}", id_of(created));
    assert_eq!(t.get(&url).await, (200, want.clone()));
    assert_eq!(t.get(KEYS).await, (200, World::page(vec![want.clone()])));
    let (s, renamed) = t.patch(&url, json!({"name": "renamed"})).await;
    want["name"] = json!("renamed");
    want["updated"] = renamed["updated"].clone();
    assert_eq!((s, renamed), (200, want));

    // Server-set fields sent by the client are ignored.
    let body = json!({
        "name": "sneaky", "collectionRef": "users", "recordRef": w.owner_id,
        "keyHash": "deadbeef", "prefix": "cairn_AAAAAA", "lastUsed": "2020-01-01 00:00:00.000Z",
    });
    let second = create(t, "_apiKeys", body).await;
    let key2 = second["key"].as_str().unwrap();
    assert!(is_key(key2) && key2 != key, "{second}");
    assert_eq!(second["prefix"], &key2[..12]);
    assert_eq!(second["lastUsed"], "");
    assert!(second.get("keyHash").is_none(), "{second}");
    let (_, list) = t.get(&format!("{KEYS}?sort=created")).await;
    for item in list["items"].as_array().unwrap() {
        assert!(
            item.get("key").is_none() && item.get("keyHash").is_none(),
            "{item}"
        );
    }

    // A key must be bound to an existing record of an auth collection.
    for body in [
        json!({"name": "k", "collectionRef": "posts", "recordRef": OWN_PUB}),
        json!({"name": "k", "collectionRef": "nope", "recordRef": w.owner_id}),
        json!({"name": "k", "collectionRef": "users", "recordRef": "missingmissing1"}),
        json!({"collectionRef": "users", "recordRef": w.owner_id}),
    ] {
        let (s, got) = t.post(KEYS, body.clone()).await;
        assert_eq!(s, 400, "{body}: {got}");
        assert!(got.get("key").is_none(), "{got}");
    }
}

#[tokio::test]
async fn a_key_acts_as_its_record() {
    let w = World::new().await;
    let t = &w.t;
    // Both header forms; the reader sees every post but no note.
    let list = format!("{POSTS}?sort=id");
    let reader_view = World::page(SEED.iter().map(|row| w.seeded(row.0, false)).collect());
    let bearer = format!("Bearer {}", w.key);
    for auth in [w.key.as_str(), bearer.as_str()] {
        let got = t.call(Method::GET, &list, Some(auth), None).await;
        assert_eq!(got, (200, reader_view.clone()), "{auth}");
    }

    // lastUsed is set on use, then written at most once a minute.
    let url = format!("{KEYS}/{}", id_of(&w.key_record));
    let mut last_used = String::new();
    for _ in 0..100 {
        let (_, rec) = t.get(&url).await;
        last_used = rec["lastUsed"].as_str().unwrap_or_default().to_owned();
        if !last_used.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        last_used.len() == 24 && last_used.ends_with('Z'),
        "lastUsed: {last_used:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        t.call(Method::GET, &list, Some(w.key.as_str()), None)
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.get(&url).await.1["lastUsed"], last_used.as_str());

    // A key cannot be exchanged for a token.
    let refresh = "/api/collections/users/auth-refresh";
    let (s, body) = t
        .call(Method::POST, refresh, Some(w.key.as_str()), None)
        .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.get("token").is_none(), "{body}");

    // A key bound to a superuser acts as that superuser.
    let (_, supers) = t.get("/api/collections/_superusers/records").await;
    let su_id = supers["items"][0]["id"].as_str().unwrap();
    let body = json!({"name": "ops", "collectionRef": "_superusers", "recordRef": su_id});
    let su = create(t, "_apiKeys", body).await;
    assert_eq!(su["collectionRef"], SUPERUSERS_ID);
    let su_key = su["key"].as_str().unwrap();
    let everything = World::page(SEED.iter().map(|row| w.seeded(row.0, true)).collect());
    assert_eq!(
        t.call(Method::GET, &list, Some(su_key), None).await,
        (200, everything)
    );
    let (s, keys) = t.call(Method::GET, KEYS, Some(su_key), None).await;
    assert_eq!((s, &keys["totalItems"]), (200, &json!(2)), "{keys}");
    let (s, cols) = t
        .call(Method::GET, "/api/collections", Some(su_key), None)
        .await;
    assert_eq!(s, 200, "{cols}");
}

#[tokio::test]
async fn unknown_revoked_or_expired_keys_answer_401() {
    let w = World::new().await;
    let t = &w.t;
    let unknown = format!("cairn_{}", "x".repeat(40));
    assert_refused(t, &unknown, "unknown key").await;
    assert_refused(t, &format!("Bearer {unknown}"), "unknown key, Bearer").await;

    // A key with a future expiry works, acting as the owner.
    let body = json!({"name": "temp", "collectionRef": "users", "recordRef": w.owner_id,
                      "expires": "2999-01-01 00:00:00.000Z"});
    let rec = create(t, "_apiKeys", body).await;
    let key = rec["key"].as_str().unwrap().to_owned();
    let url = format!("{KEYS}/{}", id_of(&rec));
    let own = format!("{POSTS}/{OWN_DRAFT}");
    let owner_view = (200, w.seeded(OWN_DRAFT, true));
    assert_eq!(
        t.call(Method::GET, &own, Some(key.as_str()), None).await,
        owner_view
    );
    let other = format!("{POSTS}/{OTHER_DRAFT}");
    let got = t.call(Method::GET, &other, Some(key.as_str()), None).await;
    assert_eq!(got, (404, not_found()), "the owner's rights, no more");

    // Expired: refused on the next request; an empty expiry never expires.
    let (s, got) = t
        .patch(&url, json!({"expires": "2000-01-01 00:00:00.000Z"}))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_refused(t, &key, "expired key").await;
    assert_refused(t, &format!("Bearer {key}"), "expired key, Bearer").await;
    let (s, got) = t.patch(&url, json!({"expires": ""})).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        t.call(Method::GET, &own, Some(key.as_str()), None).await,
        owner_view
    );

    // Revoked (deleted): refused on the next request.
    assert_eq!(t.delete(&url).await, (204, Value::Null));
    assert_refused(t, &key, "revoked key").await;
    // The owner's own session is unaffected.
    let got = t
        .call(Method::GET, &own, Some(w.owner.as_str()), None)
        .await;
    assert_eq!(got, owner_view);
}

/// Every route of the route table (`cairn::http::route_paths`, so a route
/// added later is covered without editing this test), with every method,
/// answers a bad key's 401: nothing falls back to a guest.
async fn assert_refused_everywhere(t: &TestApp, auth: &str, why: &str) {
    let paths = cairn::http::route_paths();
    assert!(paths.len() > 30, "{paths:?}");
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for template in paths {
        let path = template
            .replace("{collection}", "users")
            .replace("{id}", OWN_PUB)
            .replace("{*path}", "index.html")
            .replace("{record}", OWN_PUB)
            .replace("{filename}", "missing.txt")
            .replace("{key}", "missing.zip");
        assert!(!path.contains('{'), "unfilled placeholder in {template}");
        for method in &methods {
            let got = t
                .call(method.clone(), &path, Some(auth), Some(json!({})))
                .await;
            assert_eq!(got, (401, key_invalid()), "{why}: {method} {template}");
        }
    }
    // The realtime transports themselves: the SSE stream, and the
    // WebSocket upgrade with the key in the header or in `?token=`.
    let ws = t.url.replace("http://", "ws://");
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{ws}/api/realtime/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", auth.parse().unwrap());
    let bare = auth.trim_start_matches("Bearer ");
    let by_query = format!("{ws}/api/realtime/ws?token={bare}")
        .into_client_request()
        .unwrap();
    for req in [req, by_query] {
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 401, "{why}: WebSocket upgrade")
            }
            other => panic!("{why}: WebSocket upgrade accepted: {:?}", other.is_ok()),
        }
    }
}

#[tokio::test]
async fn a_bad_key_answers_401_on_every_route() {
    let w = World::new().await;
    let t = &w.t;
    let unknown = format!("cairn_{}", "y".repeat(40));
    assert_refused_everywhere(t, &unknown, "unknown key").await;
    assert_refused_everywhere(t, &format!("Bearer {unknown}"), "unknown, Bearer").await;

    let body = json!({"name": "soon gone", "collectionRef": "users", "recordRef": w.owner_id});
    let rec = create(t, "_apiKeys", body).await;
    let key = rec["key"].as_str().unwrap().to_owned();
    let url = format!("{KEYS}/{}", id_of(&rec));
    let (s, got) = t.get_guest("/api/realtime/seq").await;
    assert_eq!(s, 200, "{got}");
    let ok = t
        .call(Method::GET, "/api/realtime/seq", Some(key.as_str()), None)
        .await;
    assert_eq!(ok.0, 200, "a good key works: {ok:?}");

    let (s, got) = t
        .patch(&url, json!({"expires": "2000-01-01 00:00:00.000Z"}))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_refused_everywhere(t, &key, "expired key").await;
    assert_eq!(t.delete(&url).await, (204, Value::Null));
    assert_refused_everywhere(t, &key, "deleted key").await;
}

#[tokio::test]
async fn a_keys_binding_cannot_change_and_dies_with_its_record() {
    let w = World::new().await;
    let t = &w.t;
    let (carol, _) = t.user("carol@example.com").await;
    let body = json!({"name": "carol's", "collectionRef": "users", "recordRef": carol});
    let rec = create(t, "_apiKeys", body).await;
    let key = rec["key"].as_str().unwrap().to_owned();
    let url = format!("{KEYS}/{}", id_of(&rec));
    // Changing the binding is ignored (200, the binding stays), the rest
    // of the update applies.
    let (s, got) = t
        .patch(
            &url,
            json!({"name": "renamed", "collectionRef": "_superusers", "recordRef": w.owner_id}),
        )
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        (&got["name"], &got["collectionRef"], &got["recordRef"]),
        (&json!("renamed"), &json!(USERS_ID), &json!(carol))
    );
    // Still carol, not a superuser.
    let (s, _) = t
        .call(Method::GET, "/api/collections", Some(key.as_str()), None)
        .await;
    assert_eq!(s, 403, "acts as carol");
    // Deleting carol deletes the key.
    let (s, _) = t
        .delete(&format!("/api/collections/users/records/{carol}"))
        .await;
    assert_eq!(s, 204);
    assert_eq!(t.get(&url).await.0, 404, "the key record is gone");
    let got = t
        .call(Method::GET, "/api/health", Some(key.as_str()), None)
        .await;
    assert_eq!(got, (401, key_invalid()));
}
