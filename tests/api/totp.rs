//! Authenticator apps (Cairn): every refusal of the TOTP endpoints, with
//! the status and message `docs/auth.md` lists.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const BASE: &str = "/api/collections/users";

fn err(status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({"status": status, "message": message, "data": {}}),
    )
}

fn field(code: &str) -> (u16, Value) {
    let message = match code {
        "validation_required" => "Cannot be blank.",
        _ => "Invalid or expired code.",
    };
    (
        400,
        json!({"status": 400, "message": "An error occurred while validating the submitted data.",
               "data": {"code": {"code": code, "message": message}}}),
    )
}

#[tokio::test]
async fn totp_refusals_answer_what_the_docs_say() {
    let t = TestApp::spawn().await;
    let (_, token) = t.user("tess@example.com").await;
    let me = Some(token.as_str());
    let call = |path: &str, who: Option<&str>, body: Value| {
        let path = format!("{BASE}/{path}");
        let t = &t;
        let who = who.map(str::to_owned);
        async move {
            t.call(Method::POST, &path, who.as_deref(), Some(body))
                .await
        }
    };
    assert_eq!(
        call("totp-setup", None, json!({})).await,
        err(
            401,
            "The request requires valid record authorization token."
        )
    );
    assert_eq!(
        call("totp-setup", Some(&t.token), json!({})).await,
        err(
            403,
            "The request requires auth record from _superusers collection."
        )
    );
    assert_eq!(
        call("totp-confirm", me, json!({"code": "123456"})).await,
        err(400, "Start the authenticator setup first.")
    );
    assert_eq!(
        call("totp-disable", me, json!({"code": "123456"})).await,
        err(400, "No authenticator app is enabled.")
    );
    let (s, setup) = call("totp-setup", me, json!({})).await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        call("totp-confirm", me, json!({})).await,
        field("validation_required")
    );
    assert_eq!(
        call("totp-confirm", me, json!({"code": "000000"})).await,
        field("validation_invalid_code")
    );
    let code = cairn::service::auth::totp::current_code(&secret).unwrap();
    let (s, body) = call("totp-confirm", me, json!({"code": code})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        call("totp-setup", me, json!({})).await,
        err(
            400,
            "An authenticator app is already enabled; disable it first."
        )
    );
    assert_eq!(
        call("totp-confirm", me, json!({"code": code})).await,
        err(400, "Start the authenticator setup first.")
    );
    assert_eq!(
        call("totp-disable", me, json!({"code": "000000"})).await,
        field("validation_invalid_code")
    );
    assert_eq!(
        call(
            "auth-with-totp",
            None,
            json!({"mfaId": "nope", "code": code})
        )
        .await,
        err(400, "Failed to authenticate.")
    );
    let (s, body) = call("auth-with-totp", None, json!({})).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["data"]["mfaId"]["code"], "validation_required");
    assert_eq!(body["data"]["code"]["code"], "validation_required");
}
