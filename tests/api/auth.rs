//! Auth extensions beyond PocketBase, black-box: PocketBase password hashes
//! carried over (and upgraded), authenticator apps (TOTP) as a second
//! factor, and rate limits keyed by identity with `Retry-After`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub fn stored_hash(t: &TestApp, email: &str) -> String {
    t.app
        .store
        .read(|db| {
            db.row(
                "SELECT password FROM users WHERE email = ?1",
                &[cairn::store::sql::Val::Text(email)],
                |r| r.text(0),
            )
        })
        .unwrap()
        .expect("the user's row")
}

async fn login(t: &TestApp, email: &str, pw: &str) -> (u16, Value) {
    t.call(
        Method::POST,
        "/api/collections/users/auth-with-password",
        None,
        Some(json!({"identity": email, "password": pw})),
    )
    .await
}

#[tokio::test]
async fn pocketbase_bcrypt_hashes_sign_in_and_are_upgraded() {
    let t = TestApp::spawn().await;
    let bcrypt = bcrypt::hash("moved-from-pb", 10).unwrap();
    let (s, rec) = t
        .post(
            "/api/collections/users/records",
            json!({"email": "moved@example.com", "passwordHash": bcrypt, "verified": true}),
        )
        .await;
    assert_eq!(s, 200, "{rec}");
    assert!(rec.get("passwordHash").is_none() && rec.get("password").is_none());
    assert_eq!(stored_hash(&t, "moved@example.com"), bcrypt);

    assert_eq!(
        login(&t, "moved@example.com", "wrong-password").await.0,
        400
    );
    assert_eq!(
        stored_hash(&t, "moved@example.com"),
        bcrypt,
        "a failed login changes nothing"
    );
    let (s, first) = login(&t, "moved@example.com", "moved-from-pb").await;
    assert_eq!(s, 200, "{first}");
    let upgraded = stored_hash(&t, "moved@example.com");
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=6,p=1$"),
        "{upgraded}"
    );
    // The old session survives the upgrade; the password still works.
    let token = first["token"].as_str().unwrap();
    let (s, _) = t
        .call(
            Method::POST,
            "/api/collections/users/auth-refresh",
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(login(&t, "moved@example.com", "moved-from-pb").await.0, 200);
    assert_eq!(
        stored_hash(&t, "moved@example.com"),
        upgraded,
        "no rehash once current"
    );
}

#[tokio::test]
async fn password_hash_is_superuser_only_and_checked() {
    let t = TestApp::spawn().await;
    let bcrypt = bcrypt::hash("x-password-1", 4).unwrap();
    // A guest cannot smuggle a hash in: the field is ignored, so the
    // password is still required.
    let (s, body) = t
        .call(
            Method::POST,
            "/api/collections/users/records",
            None,
            Some(json!({"email": "g@example.com", "passwordHash": bcrypt})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["data"]["password"]["code"], "validation_required");
    let (s, body) = t
        .post(
            "/api/collections/users/records",
            json!({"email": "h@example.com", "passwordHash": "plain-text-not-a-hash"}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        body["data"]["passwordHash"]["code"],
        "validation_invalid_password_hash"
    );
    let (s, _) = t
        .get("/api/collections/users/records?filter=email%3D'h%40example.com'")
        .await;
    assert_eq!(s, 200);
}

fn code_for(secret: &str) -> String {
    cairn::service::auth::totp::current_code(secret).unwrap()
}

#[tokio::test]
async fn authenticator_app_second_factor() {
    let t = TestApp::spawn().await;
    let (id, token) = t.user("totp@example.com").await;
    let base = "/api/collections/users";
    // Guests cannot enrol; the owner can.
    let (s, _) = t
        .call(Method::POST, &format!("{base}/totp-setup"), None, None)
        .await;
    assert_eq!(s, 401);
    let (s, setup) = t
        .call(
            Method::POST,
            &format!("{base}/totp-setup"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let url = setup["url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&format!("secret={secret}")), "{url}");

    // Not enabled until confirmed: password alone still signs in.
    assert_eq!(login(&t, "totp@example.com", "password123").await.0, 200);
    let (s, body) = t
        .call(
            Method::POST,
            &format!("{base}/totp-confirm"),
            Some(&token),
            Some(json!({"code": "000000"})),
        )
        .await;
    let wrong_code = code_for(&secret) != "000000";
    if wrong_code {
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["data"]["code"]["code"], "validation_invalid_code");
    }
    let code = code_for(&secret);
    let (s, body) = t
        .call(
            Method::POST,
            &format!("{base}/totp-confirm"),
            Some(&token),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let recovery: Vec<String> = body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // Now a password sign-in stops at the second factor, PocketBase's MFA shape.
    let (s, body) = login(&t, "totp@example.com", "password123").await;
    assert_eq!(s, 401, "{body}");
    let mfa = body["mfaId"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let with_totp = |mfa: String, code: String| {
        t.call(
            Method::POST,
            "/api/collections/users/auth-with-totp",
            None,
            Some(json!({"mfaId": mfa, "code": code})),
        )
    };
    let (s, _) = with_totp(mfa.clone(), "12345".into()).await;
    assert_eq!(s, 400);
    let used = code_for(&secret);
    let (s, body) = with_totp(mfa.clone(), used.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["record"]["id"], id.as_str());
    // The session is consumed, and the same code cannot be replayed.
    let (s, _) = with_totp(mfa, used.clone()).await;
    assert_eq!(s, 400);
    let (_, body) = login(&t, "totp@example.com", "password123").await;
    let mfa2 = body["mfaId"].as_str().unwrap().to_owned();
    let (s, _) = with_totp(mfa2.clone(), used).await;
    assert_eq!(s, 400, "a used time step is never accepted again");
    // A recovery code works once.
    let (s, _) = with_totp(mfa2.clone(), recovery[0].clone()).await;
    assert_eq!(s, 200);
    let (_, body) = login(&t, "totp@example.com", "password123").await;
    let mfa3 = body["mfaId"].as_str().unwrap().to_owned();
    let (s, _) = with_totp(mfa3.clone(), recovery[0].clone()).await;
    assert_eq!(s, 400);
    // Disabling needs a valid code; afterwards the password alone works again.
    let (s, _) = t
        .call(
            Method::POST,
            &format!("{base}/totp-disable"),
            Some(&token),
            Some(json!({"code": "zz"})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = t
        .call(
            Method::POST,
            &format!("{base}/totp-disable"),
            Some(&token),
            Some(json!({"code": recovery[1]})),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(login(&t, "totp@example.com", "password123").await.0, 200);
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_identity_with_retry_after() {
    let t = TestApp::spawn().await;
    t.user("target@example.com").await;
    let (s, body) = t
        .patch(
            "/api/settings",
            json!({
                "trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": true},
                "rateLimits": {"enabled": true, "rules": [
                    {"label": "*:auth", "maxRequests": 3, "duration": 60}
                ]}
            }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // Each attempt from another (forwarded) IP: the per-IP counters never
    // fill, the per-identity one does.
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..5 {
        let res = t
            .client
            .post(format!(
                "{}/api/collections/users/auth-with-password",
                t.url
            ))
            .header("X-Forwarded-For", format!("10.0.0.{i}"))
            .json(&json!({"identity": "TARGET@example.com", "password": "wrong-guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
        }
    }
    assert_eq!(statuses, vec![400, 400, 400, 429, 429]);
    let secs: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    // Another identity from a fresh IP is unaffected.
    let res = t
        .client
        .post(format!(
            "{}/api/collections/users/auth-with-password",
            t.url
        ))
        .header("X-Forwarded-For", "10.0.1.1")
        .json(&json!({"identity": "other@example.com", "password": "x-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

/// A token used before is remembered as verified (`service::auth::
/// token_cache`); each of these must still end it at once: a new password,
/// a new collection secret, the record deleted, the expiry passed.
#[tokio::test]
async fn a_token_seen_before_ends_as_one_never_seen() {
    let t = TestApp::spawn().await;
    let (id, token) = t.user("cached@example.com").await;
    let path = format!("/api/collections/users/records/{id}");
    // The own record (the users' view rule is `id = @request.auth.id`:
    // 404 to anyone else) and auth-refresh (which reads the claims).
    let refresh = |token: String| {
        let (t, path) = (&t, &path);
        async move {
            let (view, _) = t.call(Method::GET, path, Some(&token), None).await;
            let refresh = "/api/collections/users/auth-refresh";
            let (s, _) = t.call(Method::POST, refresh, Some(&token), None).await;
            if (view, s) == (200, 200) {
                200
            } else {
                assert_eq!(view, 404);
                s
            }
        }
    };
    for _ in 0..3 {
        assert_eq!(refresh(token.clone()).await, 200);
    }
    let (s, body) = t
        .patch(
            &path,
            json!({"password": "another-pass-1", "passwordConfirm": "another-pass-1"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(refresh(token).await, 401, "a new password ends old tokens");

    // Sets the users collection's `authToken` options, then signs in: a
    // token that has just been used (and so remembered).
    let signed_in = |auth_token: Value| {
        let t = &t;
        async move {
            let patch = json!({ "authToken": auth_token });
            let (s, body) = t.patch("/api/collections/users", patch).await;
            assert_eq!(s, 200, "{body}");
            let (s, body) = login(t, "cached@example.com", "another-pass-1").await;
            assert_eq!(s, 200, "{body}");
            body["token"].as_str().expect("token").to_owned()
        }
    };
    let token = signed_in(json!({})).await;
    assert_eq!(refresh(token.clone()).await, 200);
    let secret = "a-new-secret-of-thirty-chars-or-more-0123";
    signed_in(json!({ "secret": secret })).await;
    let ended = "a new collection secret ends old tokens";
    assert_eq!(refresh(token).await, 401, "{ended}");

    let token = signed_in(json!({"duration": 2})).await;
    assert_eq!(refresh(token.clone()).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    assert_eq!(refresh(token).await, 401, "an expired token ends");

    let token = signed_in(json!({"duration": 600})).await;
    assert_eq!(refresh(token.clone()).await, 200);
    assert_eq!(t.delete(&path).await.0, 204);
    assert_eq!(refresh(token).await, 401, "a deleted record's token ends");
}
