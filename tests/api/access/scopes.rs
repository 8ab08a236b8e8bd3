//! Scoped superusers (`_superuserScopes`): a superuser limited to the
//! records of chosen collections gets 403 on every other route of the API
//! route table and of the dashboard route table (both iterated, so a route
//! added later is covered), and on queries that walk out of the scope.

use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::json;

use crate::helpers::{TestApp, enc};

const SCOPES: &str = "/api/collections/_superuserScopes/records";
const CLERK: &str = "clerk@example.com";
const CLERK_PW: &str = "clerk-password-1";
const REFUSED: &str = "Your superuser scope does not include this request.";

struct World {
    t: TestApp,
    clerk_id: String,
    clerk: String,
    post_id: String,
    secret_id: String,
}

/// `posts` (relations to `tags` and `secrets`), `tags`, `secrets`, all
/// superusers-only; the superuser `clerk` scoped to posts and tags.
async fn world() -> World {
    let t = TestApp::spawn().await;
    for name in ["tags", "secrets"] {
        let (s, b) = t
            .post(
                "/api/collections",
                json!({"name": name, "type": "base", "fields": [{"name": "name", "type": "text"}]}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let id_of = |n: &str| t.app.store.schema().get(n).unwrap().id.clone();
    let (s, b) = t
        .post(
            "/api/collections",
            json!({"name": "posts", "type": "base", "fields": [
                {"name": "title", "type": "text"},
                {"name": "tag", "type": "relation", "collectionId": id_of("tags"), "maxSelect": 1},
                {"name": "secret", "type": "relation", "collectionId": id_of("secrets"), "maxSelect": 1},
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, secret) = t
        .post("/api/collections/secrets/records", json!({"name": "s1"}))
        .await;
    let (_, post) = t
        .post(
            "/api/collections/posts/records",
            json!({"title": "hello", "secret": secret["id"]}),
        )
        .await;
    let (s, clerk) = t
        .post(
            "/api/collections/_superusers/records",
            json!({"email": CLERK, "password": CLERK_PW, "passwordConfirm": CLERK_PW}),
        )
        .await;
    assert_eq!(s, 200, "{clerk}");
    let clerk_id = clerk["id"].as_str().unwrap().to_owned();
    let (s, scope) = t
        .post(
            SCOPES,
            json!({"superuser": clerk_id, "collections": ["posts", id_of("tags")]}),
        )
        .await;
    assert_eq!(s, 200, "{scope}");
    // Stored as names, whether given by name or id.
    assert_eq!(scope["collections"], json!(["posts", "tags"]));
    let (s, auth) = t
        .post(
            "/api/collections/_superusers/auth-with-password",
            json!({"identity": CLERK, "password": CLERK_PW}),
        )
        .await;
    assert_eq!(s, 200, "{auth}");
    World {
        clerk: auth["token"].as_str().unwrap().to_owned(),
        clerk_id,
        post_id: post["id"].as_str().unwrap().to_owned(),
        secret_id: secret["id"].as_str().unwrap().to_owned(),
        t,
    }
}

fn fill(template: &str, collection: &str, id: &str) -> String {
    template
        .replace("{collection}", collection)
        .replace("{name}", collection)
        .replace("{id}", id)
        .replace("{record}", id)
        .replace("{*path}", "index.html")
        .replace("{filename}", "missing.txt")
        .replace("{key}", "missing.zip")
        .replace("{delivery}", "missing")
        .replace("{token}", "missing")
        .replace("{outcome}", "oauth2-redirect-success")
        .replace("{*rest}", "nowhere")
}

#[tokio::test]
async fn a_scope_must_name_existing_collections_that_are_not_system_ones() {
    let w = world().await;
    let t = &w.t;
    for bad in [
        json!([]),
        json!(["nope"]),
        json!(["_superusers"]),
        json!("posts"),
    ] {
        let (s, b) = t
            .post(SCOPES, json!({"superuser": w.clerk_id, "collections": bad}))
            .await;
        assert_eq!(s, 400, "{bad}: {b}");
    }
    // One scope per superuser.
    let (s, b) = t
        .post(
            SCOPES,
            json!({"superuser": w.clerk_id, "collections": ["posts"]}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["data"]["superuser"]["code"], "validation_not_unique",
        "{b}"
    );
    // The scoped superuser cannot read or widen scopes.
    let got = t.call(Method::GET, SCOPES, Some(&w.clerk), None).await;
    assert_eq!(got.0, 403, "{}", got.1);
}

#[tokio::test]
async fn every_api_route_outside_the_scope_answers_403() {
    let w = world().await;
    let t = &w.t;
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let routes = cairn::http::table();
    assert!(routes.len() > 30);
    let mut reached = 0;
    for coll in ["secrets", "posts", "_superusers"] {
        for r in &routes {
            let path = fill(r.path, coll, &w.post_id);
            assert!(!path.contains('{'), "unfilled placeholder in {}", r.path);
            for m in &methods {
                let got = t
                    .call(m.clone(), &path, Some(&w.clerk), Some(json!({})))
                    .await;
                let own_auth = coll == "_superusers"
                    && [
                        "auth-refresh",
                        "auth-with-password",
                        "auth-methods",
                        "auth-with-otp",
                        "request-otp",
                    ]
                    .iter()
                    .any(|a| r.path.ends_with(a));
                let inside = r.path == "/api/health"
                    || (r.path == "/api/files/token" && *m == Method::POST)
                    || own_auth
                    || (coll == "posts"
                        && r.path.starts_with("/api/collections/{collection}/records")
                        && *m != Method::PUT
                        && !(r.path.ends_with("{id}") && *m == Method::POST)
                        && !(r.path.ends_with("records")
                            && [Method::PATCH, Method::DELETE].contains(m)))
                    || (coll == "posts"
                        && r.path.starts_with("/api/files/{collection}")
                        && *m == Method::GET);
                if inside {
                    reached += 1;
                    assert_ne!(got.1["message"], REFUSED, "{m} {path}: inside the scope");
                } else {
                    assert_eq!(
                        got,
                        (403, json!({"data": {}, "message": REFUSED, "status": 403})),
                        "{m} {path}"
                    );
                }
            }
        }
    }
    assert!(reached >= 6, "{reached}");
    // The records of the scope, as a superuser (the rules are null).
    let (s, list) = t
        .call(
            Method::GET,
            "/api/collections/posts/records",
            Some(&w.clerk),
            None,
        )
        .await;
    assert_eq!((s, list["totalItems"].clone()), (200, json!(1)), "{list}");
    let (s, made) = t
        .call(
            Method::POST,
            "/api/collections/tags/records",
            Some(&w.clerk),
            Some(json!({"name": "t1"})),
        )
        .await;
    assert_eq!(s, 200, "{made}");
    // A full superuser is not affected.
    assert_eq!(t.get("/api/settings").await.0, 200);
    assert_eq!(
        t.get(&format!("/api/collections/secrets/records/{}", w.secret_id))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn queries_that_walk_out_of_the_scope_answer_403() {
    let w = world().await;
    let t = &w.t;
    let list = "/api/collections/posts/records";
    let one = format!("{list}/{}", w.post_id);
    for (q, ok) in [
        (
            "filter=".to_owned() + &enc(r#"title = "a.b" && id != "x""#),
            true,
        ),
        ("sort=-id,title".to_owned(), true),
        ("expand=tag".to_owned(), true),
        ("filter=".to_owned() + &enc("tag.name != 'x'"), true),
        ("filter=".to_owned() + &enc("secret.name = 's1'"), false),
        ("sort=".to_owned() + &enc("-secret.name"), false),
        ("expand=secret".to_owned(), false),
        ("expand=".to_owned() + &enc("tag,secret"), false),
        (
            "filter=".to_owned() + &enc("@collection.secrets.name = 's1'"),
            false,
        ),
        (
            "filter=".to_owned() + &enc("secrets_via_x.name = 's1'"),
            false,
        ),
    ] {
        let (s, b) = t
            .call(Method::GET, &format!("{list}?{q}"), Some(&w.clerk), None)
            .await;
        assert_eq!(s == 200, ok, "{q}: {s} {b}");
        if !ok {
            assert_eq!(b["message"], REFUSED, "{q}");
        }
        let (s, _) = t
            .call(Method::GET, &format!("{one}?{q}"), Some(&w.clerk), None)
            .await;
        assert_eq!(s == 200, ok, "{q}: one record {s}");
    }
}

/// A dashboard session (cookie and CSRF token) for an email and password.
async fn dashboard(t: &TestApp, email: &str, password: &str) -> (reqwest::Client, String, String) {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/_/login", t.url))
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&res).unwrap();
    let page = res.text().await.unwrap();
    let csrf = csrf_in(&page);
    let res = client
        .post(format!("{}/_/login", t.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "_csrf={}&email={}&password={}",
            enc(&csrf),
            enc(email),
            enc(password)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-in");
    let cookie = session_cookie(&res).unwrap_or(cookie);
    let csrf = csrf_in(&page_text(&client, &cookie, &format!("{}/_/collections", t.url)).await);
    (client, cookie, csrf)
}

/// The HTML of a dashboard page read with a session cookie.
async fn page_text(client: &reqwest::Client, cookie: &str, url: &str) -> String {
    let res = client
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    res.text().await.unwrap()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cairn_admin="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

fn csrf_in(page: &str) -> String {
    let at = page.find(r#"name="_csrf" value=""#).expect("csrf field") + 20;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_dashboard_route_outside_the_scope_answers_403() {
    let w = world().await;
    let t = &w.t;
    let (client, cookie, csrf) = dashboard(t, CLERK, CLERK_PW).await;
    // The menu and the sidebar show only the scope.
    let page = page_text(&client, &cookie, &format!("{}/_/collections/posts", t.url)).await;
    assert!(page.contains("hello"), "{page}");
    for gone in [
        ">Settings<",
        ">Logs<",
        ">SQL<",
        ">secrets<",
        ">Edit collection<",
        ">New collection<",
    ] {
        assert!(!page.contains(gone), "{gone} shown to a scoped superuser");
    }
    assert!(
        page.contains(">tags<") && page.contains(">Collections<"),
        "{page}"
    );
    let routes = cairn::http::admin::table();
    assert!(routes.len() > 40, "{}", routes.len());
    let guest = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let mut refused = 0;
    let mut reached = Vec::new();
    for coll in ["secrets", "posts"] {
        for r in &routes {
            if r.path == "/_/logout" {
                continue; // would end the session; checked last
            }
            let path = fill(r.path, coll, &w.post_id);
            assert!(!path.contains('{'), "unfilled placeholder in {}", r.path);
            // Public pages (email links, sign-in) answer a signed-out GET
            // without sending it to sign-in: the scope does not apply.
            if r.methods.contains(&"GET") {
                let res = guest.get(format!("{}{path}", t.url)).send().await.unwrap();
                let to_login = res
                    .headers()
                    .get("location")
                    .is_some_and(|l| l.to_str().unwrap_or_default().starts_with("/_/login?next="));
                if !to_login && res.status() != 401 {
                    continue;
                }
            }
            let records_page = r.path.starts_with("/_/collections/{name}")
                && (r.path == "/_/collections/{name}"
                    || [
                        "/live",
                        "/count",
                        "/pick",
                        "/export",
                        "/import-csv",
                        "/records/delete",
                        "/records/{id}",
                    ]
                    .iter()
                    .any(|s| r.path.ends_with(s)));
            let inside = ["/_/", "/_/collections", "/_/account"].contains(&r.path)
                || (coll == "posts" && records_page);
            for m in &r.methods {
                let method = Method::from_bytes(m.as_bytes()).unwrap();
                let res = client
                    .request(method, format!("{}{path}", t.url))
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("")
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                if inside {
                    // Not read: the live-updates route is an endless stream.
                    assert_ne!(status, 403, "{m} {path}: inside the scope");
                    reached.push(format!("{m} {path}"));
                } else {
                    let body = res.text().await.unwrap();
                    assert_eq!(status, 403, "{m} {path}");
                    assert!(body.contains("Outside your scope"), "{m} {path}: {body}");
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 40, "{refused}");
    assert!(reached.len() >= 10, "{reached:?}");
    // Signing out still works.
    let res = client
        .post(format!("{}/_/logout", t.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Deleting the scope makes a full superuser again (next request).
    let (s, found) = t
        .get(&format!(
            "{SCOPES}?filter={}",
            enc(&format!("superuser='{}'", w.clerk_id))
        ))
        .await;
    assert_eq!(s, 200, "{found}");
    let id = found["items"][0]["id"].as_str().unwrap();
    assert_eq!(t.delete(&format!("{SCOPES}/{id}")).await.0, 204);
    let got = t
        .call(Method::GET, "/api/settings", Some(&w.clerk), None)
        .await;
    assert_eq!(got.0, 200);
}

#[tokio::test]
async fn a_full_superuser_dashboard_is_unchanged() {
    let w = world().await;
    let (client, cookie, _) =
        dashboard(&w.t, crate::helpers::ADMIN, crate::helpers::PASSWORD).await;
    let page = client
        .get(format!("{}/_/settings", w.t.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(
        body.contains(">SQL<") && body.contains(">secrets<"),
        "{body}"
    );
}
