//! Every route that takes a body binds JSON, multipart (with `@jsonPayload`)
//! and url-encoded bodies the same way, and answers a body with no
//! `Content-Type` as PocketBase 0.40.6 does.
//!
//! The cases are keyed by the router's own table (`cairn::http::table()`):
//! a new body-taking route without a case here fails the test. The same
//! sequence of requests runs on three fresh servers, one per encoding, and
//! the answers (volatile ids, tokens and dates masked) must be identical.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{ADMIN, PASSWORD, TestApp, on_postgres};

/// Body-taking methods.
const BODY_METHODS: [&str; 3] = ["POST", "PUT", "PATCH"];

#[derive(Clone, Copy, Debug)]
enum Encoding {
    Json,
    Multipart,
    Form,
}

/// One request: route (as in the table), the concrete path, the body and
/// the status every encoding must get.
struct Case {
    method: &'static str,
    route: &'static str,
    path: String,
    body: Value,
    status: u16,
}

fn case(method: &'static str, route: &'static str, path: &str, body: Value, status: u16) -> Case {
    Case {
        method,
        route,
        path: path.to_owned(),
        body,
        status,
    }
}

/// The cases, in order (later ones may use what earlier ones created).
/// `user` is the id of a `users` record created by `setup`.
fn cases(user: &str) -> Vec<Case> {
    let users = "/api/collections/users";
    vec![
        case(
            "PATCH",
            "/api/settings",
            "/api/settings",
            json!({"meta": {"appName": "Encoded"}, "batch": {"enabled": true, "maxRequests": 10}}),
            200,
        ),
        case(
            "POST",
            "/api/collections",
            "/api/collections",
            json!({"name": "notes", "type": "base", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
                   "fields": [{"name": "title", "type": "text", "required": true}, {"name": "n", "type": "number"}]}),
            200,
        ),
        case(
            "PATCH",
            "/api/collections/{collection}",
            "/api/collections/users",
            json!({"otp": {"enabled": true}, "oauth2": {"enabled": true}, "listRule": ""}),
            200,
        ),
        case(
            "PUT",
            "/api/collections/import",
            "/api/collections/import",
            json!({"collections": [{"name": "imported", "type": "base", "fields": [{"name": "t", "type": "text"}]}]}),
            204,
        ),
        case(
            "POST",
            "/api/collections/{collection}/records",
            "/api/collections/notes/records",
            json!({"id": "note00000000001", "title": "first", "n": "7"}),
            200,
        ),
        case(
            "PATCH",
            "/api/collections/{collection}/records/{id}",
            "/api/collections/notes/records/note00000000001",
            json!({"title": "second", "n+": "2"}),
            200,
        ),
        case(
            "POST",
            "/api/batch",
            "/api/batch",
            json!({"requests": [{"method": "POST", "url": "/api/collections/notes/records", "body": {"title": "in batch"}}]}),
            200,
        ),
        case(
            "POST",
            "/api/realtime",
            "/api/realtime",
            json!({"clientId": "no-such-client", "subscriptions": "notes"}),
            404,
        ),
        case(
            "POST",
            "/api/oauth2-redirect",
            "/api/oauth2-redirect",
            json!({"state": "no-such-client", "code": "abc"}),
            303,
        ),
        case(
            "POST",
            "/api/collections/{collection}/auth-with-password",
            "/api/collections/_superusers/auth-with-password",
            json!({"identity": ADMIN, "password": PASSWORD}),
            200,
        ),
        case(
            "POST",
            "/api/collections/{collection}/auth-refresh",
            "/api/collections/_superusers/auth-refresh",
            json!({"unused": "x"}),
            200,
        ),
        case(
            "POST",
            "/api/collections/{collection}/request-otp",
            &format!("{users}/request-otp"),
            json!({"email": "enc@example.com"}),
            200,
        ),
        case(
            "POST",
            "/api/collections/{collection}/auth-with-otp",
            &format!("{users}/auth-with-otp"),
            json!({"otpId": "missing", "password": "123456"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/auth-with-oauth2",
            &format!("{users}/auth-with-oauth2"),
            json!({"provider": "gitlab", "code": "c", "codeVerifier": "v", "redirectURL": "http://127.0.0.1/cb"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/impersonate/{id}",
            &format!("{users}/impersonate/{user}"),
            json!({"duration": 100}),
            200,
        ),
        case(
            "POST",
            "/api/collections/{collection}/request-verification",
            &format!("{users}/request-verification"),
            json!({"email": "enc@example.com"}),
            204,
        ),
        case(
            "POST",
            "/api/collections/{collection}/confirm-verification",
            &format!("{users}/confirm-verification"),
            json!({"token": "not-a-token"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/request-password-reset",
            &format!("{users}/request-password-reset"),
            json!({"email": "enc@example.com"}),
            204,
        ),
        case(
            "POST",
            "/api/collections/{collection}/confirm-password-reset",
            &format!("{users}/confirm-password-reset"),
            json!({"token": "not-a-token", "password": "newpassword1", "passwordConfirm": "newpassword1"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/request-email-change",
            "/api/collections/_superusers/request-email-change",
            json!({"newEmail": "new@example.com"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/confirm-email-change",
            &format!("{users}/confirm-email-change"),
            json!({"token": "not-a-token", "password": "password123"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/totp-setup",
            "/api/collections/_superusers/totp-setup",
            json!({"unused": "x"}),
            200,
        ),
        case(
            "POST",
            "/api/collections/{collection}/totp-confirm",
            "/api/collections/_superusers/totp-confirm",
            json!({"code": "123456"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/totp-disable",
            "/api/collections/_superusers/totp-disable",
            json!({"code": "123456"}),
            400,
        ),
        case(
            "POST",
            "/api/collections/{collection}/auth-with-totp",
            &format!("{users}/auth-with-totp"),
            json!({"mfaId": "missing", "code": "123456"}),
            400,
        ),
        // Files, operations and webhooks (superusers unless said).
        case(
            "POST",
            "/api/files/token",
            "/api/files/token",
            json!({}),
            200,
        ),
        case(
            "POST",
            "/api/settings/test/s3",
            "/api/settings/test/s3",
            json!({"filesystem": "storage"}),
            400,
        ),
        // Resumable uploads speak the TUS protocol (headers and raw bytes),
        // not form bodies: without `Tus-Resumable` a request is refused
        // with the protocol's 412.
        case("POST", "/api/tus", "/api/tus", json!({}), 412),
        case("PATCH", "/api/tus/{id}", "/api/tus/missing", json!({}), 412),
        case(
            "POST",
            "/api/crons/{id}",
            "/api/crons/__pbDBOptimize__",
            json!({}),
            204,
        ),
        case(
            "POST",
            "/api/backups",
            "/api/backups",
            json!({"name": "enc.zip"}),
            // Bound, then refused: no backups on PostgreSQL (docs/scaling.md).
            if on_postgres() { 400 } else { 204 },
        ),
        case(
            "POST",
            "/api/backups/upload",
            "/api/backups/upload",
            json!({}),
            400,
        ),
        case(
            "POST",
            "/api/backups/{key}/restore",
            "/api/backups/missing.zip/restore",
            json!({}),
            400,
        ),
        case(
            "POST",
            "/api/sql",
            "/api/sql",
            json!({"query": "SELECT 1 AS one"}),
            200,
        ),
        case(
            "POST",
            "/api/webhooks",
            "/api/webhooks",
            json!({"url": "not a url"}),
            400,
        ),
        case(
            "PATCH",
            "/api/webhooks/{id}",
            "/api/webhooks/missing",
            json!({"url": "http://example.com/"}),
            404,
        ),
        case(
            "POST",
            "/api/webhooks/{id}/rotate",
            "/api/webhooks/missing/rotate",
            json!({}),
            404,
        ),
        case(
            "POST",
            "/api/webhooks/{id}/test",
            "/api/webhooks/missing/test",
            json!({}),
            404,
        ),
        case(
            "POST",
            "/api/webhooks/{id}/replay",
            "/api/webhooks/missing/replay",
            json!({"fromSeq": "0"}),
            404,
        ),
        case(
            "POST",
            "/api/webhooks/{id}/recover",
            "/api/webhooks/missing/recover",
            json!({"since": "2000-01-01 00:00:00.000Z"}),
            404,
        ),
        case(
            "POST",
            "/api/webhooks/deliveries/{id}/resend",
            "/api/webhooks/deliveries/missing/resend",
            json!({}),
            404,
        ),
    ]
}

/// Every (method, path) of the route table that takes a body.
fn body_routes() -> Vec<(&'static str, &'static str)> {
    let mut out = vec![];
    for r in cairn::http::table() {
        for m in r.methods {
            if BODY_METHODS.contains(&m) {
                out.push((m, r.path));
            }
        }
    }
    out
}

/// A form field value: strings as they are; other values go to `@jsonPayload`.
fn split(body: &Value) -> (Vec<(String, String)>, Map<String, Value>) {
    let mut fields = vec![];
    let mut payload = Map::new();
    for (k, v) in body.as_object().unwrap() {
        match v {
            Value::String(s) => fields.push((k.clone(), s.clone())),
            other => {
                payload.insert(k.clone(), other.clone());
            }
        }
    }
    (fields, payload)
}

async fn send(t: &TestApp, c: &Case, enc: Encoding) -> (u16, Value) {
    let method = Method::from_bytes(c.method.as_bytes()).unwrap();
    let client = no_redirects();
    let mut req = client
        .request(method, format!("{}{}", t.url, c.path))
        .header("Authorization", &t.token);
    let (fields, payload) = split(&c.body);
    req = match enc {
        Encoding::Json => req.json(&c.body),
        Encoding::Multipart => {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in fields {
                form = form.text(k, v);
            }
            if !payload.is_empty() {
                form = form.text("@jsonPayload", Value::Object(payload).to_string());
            }
            req.multipart(form)
        }
        Encoding::Form => {
            let mut pairs = fields;
            if !payload.is_empty() {
                pairs.push(("@jsonPayload".into(), Value::Object(payload).to_string()));
            }
            let body: String = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", enc_component(k), enc_component(v)))
                .collect::<Vec<_>>()
                .join("&");
            req.header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        }
    };
    let res = client.execute(req.build().unwrap()).await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn enc_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Masks what differs between two servers: tokens, generated ids, times.
fn mask(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let masked = match k.as_str() {
                        "token"
                        | "execTime"
                        | "otpId"
                        | "collectionId"
                        | "secret"
                        | "url"
                        | "created"
                        | "updated"
                        | "lastResetSentAt"
                        | "lastVerificationSentAt"
                        | "tokenKey" => json!("*"),
                        "id" if v.as_str().is_some_and(|s| !s.starts_with("note")) => json!("*"),
                        _ => mask(v),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        other => other.clone(),
    }
}

async fn setup() -> (TestApp, String) {
    let t = TestApp::spawn().await;
    let (user, _) = t.user("enc@example.com").await;
    (t, user)
}

#[tokio::test]
async fn every_body_route_binds_three_encodings_alike() {
    // Every body-taking route of the table has a case.
    let (probe, _) = setup().await;
    let covered: Vec<(&str, &str)> = cases("x").iter().map(|c| (c.method, c.route)).collect();
    let routes = body_routes();
    assert!(routes.len() >= 20, "route table looks empty: {routes:?}");
    for r in &routes {
        assert!(covered.contains(r), "no body case for {} {}", r.0, r.1);
    }
    drop(probe);

    let mut answers: Vec<Vec<(u16, Value)>> = vec![];
    for enc in [Encoding::Json, Encoding::Multipart, Encoding::Form] {
        let (t, user) = setup().await;
        let mut got = vec![];
        for c in cases(&user) {
            if matches!(enc, Encoding::Form) && !split(&c.body).1.is_empty() {
                // Url-encoded forms carry strings only (PocketBase merges
                // `@jsonPayload` for multipart alone): nested cases go as
                // JSON here and are not compared.
                let (status, body) = send(&t, &c, Encoding::Json).await;
                assert_eq!(status, c.status, "{} {}: {body}", c.method, c.path);
                got.push((c.status, Value::Null));
                continue;
            }
            let (status, body) = send(&t, &c, enc).await;
            assert_eq!(status, c.status, "{enc:?} {} {}: {body}", c.method, c.path);
            got.push((status, mask(&body)));
        }
        // What was bound is what was stored.
        let (_, note) = t
            .get("/api/collections/notes/records/note00000000001")
            .await;
        assert_eq!(
            (note["title"].clone(), note["n"].clone()),
            (json!("second"), json!(9)),
            "{enc:?}"
        );
        let (_, s) = t.get("/api/settings").await;
        assert_eq!(s["meta"]["appName"], "Encoded", "{enc:?}");
        answers.push(got);
    }
    let names = cases("x");
    for (i, c) in names.iter().enumerate() {
        assert_eq!(
            answers[0][i], answers[1][i],
            "JSON vs multipart: {} {}",
            c.method, c.path
        );
        if answers[2][i].1 != Value::Null {
            assert_eq!(
                answers[0][i], answers[2][i],
                "JSON vs url-encoded: {} {}",
                c.method, c.path
            );
        }
    }
}

/// PocketBase 0.40.6's answers to a non-empty body with no `Content-Type`
/// (checked against the reference binary): "Unsupported Content-Type."
/// unless the handler wraps binding errors in its own message.
fn no_content_type_answer(method: &str, route: &str) -> (u16, &'static str) {
    match (method, route) {
        (_, "/api/collections") => (
            400,
            "Failed to load the collection type data due to invalid formatting.",
        ),
        ("PATCH", "/api/collections/{collection}") => (
            400,
            "Failed to load the submitted data due to invalid formatting.",
        ),
        (_, "/api/settings")
        | (_, "/api/collections/{collection}/confirm-password-reset")
        | (_, "/api/sql") => (400, "An error occurred while loading the submitted data."),
        (_, "/api/batch") => (400, "Failed to read the submitted batch data."),
        (_, "/api/realtime") => (400, "Something went wrong while processing your request."),
        // Redirects whatever it is given (the flow failed).
        (_, "/api/oauth2-redirect") => (303, ""),
        // Takes no body (a Cairn extension, like PocketBase's files token).
        (_, "/api/collections/{collection}/totp-setup") => (200, ""),
        // Own-record routes check the caller first (a superuser here).
        (_, "/api/collections/{collection}/request-email-change") => (
            403,
            "The request requires auth record from _superusers collection.",
        ),
        // Take no body (checked against PocketBase 0.40.6 where it has them).
        (_, "/api/files/token") => (200, ""),
        (_, "/api/crons/{id}") => (204, ""),
        (_, "/api/backups" | "/api/backups/upload" | "/api/backups/{key}/restore")
            if on_postgres() =>
        {
            (400, "Not supported: backups on PostgreSQL (use pg_dump).")
        }
        (_, "/api/backups") => (204, ""),
        (_, "/api/settings/test/s3") => (400, "Failed to test the S3 filesystem."),
        (_, "/api/backups/upload") => (
            400,
            "An error occurred while validating the submitted data.",
        ),
        (_, "/api/backups/{key}/restore") => (400, "Missing or invalid backup file."),
        // Cairn-only routes: TUS speaks its own protocol (412 without its header).
        (_, "/api/tus") | (_, "/api/tus/{id}") => (412, ""),
        // Webhook routes look the endpoint or delivery up first.
        (_, "/api/webhooks/{id}/rotate")
        | (_, "/api/webhooks/{id}/test")
        | (_, "/api/webhooks/deliveries/{id}/resend") => (404, ""),
        _ => (400, "Unsupported Content-Type."),
    }
}

/// The collection whose route reaches binding with a superuser's token.
fn users_or_superusers(route: &str) -> &'static str {
    if route.ends_with("/auth-refresh")
        || route.contains("/totp-") && !route.ends_with("auth-with-totp")
    {
        "_superusers"
    } else {
        "users"
    }
}

#[tokio::test]
async fn a_body_without_content_type_gets_pocketbase_answer() {
    let (t, user) = setup().await;
    // Enable what would otherwise answer first (batch, OTP, a users record to impersonate).
    t.patch("/api/settings", json!({"batch": {"enabled": true}}))
        .await;
    t.patch(
        "/api/collections/users",
        json!({"otp": {"enabled": true}, "oauth2": {"enabled": true}}),
    )
    .await;
    t.public_collection("notes", json!([{"name": "title", "type": "text"}]))
        .await;
    for (method, route) in body_routes() {
        let path = route
            .replace("{collection}/records/{id}", "notes/records/zzzzzzzzzzzzzzz")
            .replace("{collection}/records", "notes/records")
            .replace(
                "{collection}/impersonate/{id}",
                &format!("users/impersonate/{user}"),
            )
            .replace("{collection}", users_or_superusers(route))
            .replace("{key}", "missing.zip")
            .replace("crons/{id}", "crons/__pbDBOptimize__")
            .replace("{id}", "missing");
        let (status, body) = send_raw(&t, method, &path, None, "{\"a\":1}").await;
        let (want_status, want_message) = no_content_type_answer(method, route);
        assert_eq!(status, want_status, "{method} {path}: {body}");
        if !want_message.is_empty() {
            assert_eq!(body["message"], want_message, "{method} {path}");
            // PocketBase names the blank field; others carry no data.
            let want_data = match route {
                "/api/backups/upload" if !on_postgres() => {
                    json!({"file": {"code": "validation_required", "message": "Cannot be blank."}})
                }
                "/api/settings/test/s3" => {
                    json!({"filesystem": {"code": "validation_required", "message": "Cannot be blank."}})
                }
                _ => json!({}),
            };
            assert_eq!(body["data"], want_data, "{method} {path}");
        }
    }
    // An empty body is no body, whatever the Content-Type says.
    let (status, _) = send_raw(
        &t,
        "POST",
        "/api/collections/users/request-password-reset",
        Some("text/plain"),
        "",
    )
    .await;
    assert_eq!(
        status, 400,
        "a blank email is a validation error, not a binding one"
    );
}

async fn send_raw(
    t: &TestApp,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> (u16, Value) {
    let mut req = no_redirects()
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", t.url),
        )
        .header("Authorization", &t.token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
