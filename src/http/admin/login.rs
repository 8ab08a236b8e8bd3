//! Sign-in (password, then the OTP step when `_superusers` requires MFA),
//! sign-out, and the first superuser (the one-time install link).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use tower_sessions::Session;

use super::session::{self, K_MFA};
use super::view::{self, Form};
use crate::app::App;
use crate::http::extract::Client;
use crate::schema::system::SUPERUSERS;
use crate::service::auth::{self, otp, superusers, sys, totp};
use crate::service::{Actor, Error, Identity};
use crate::store::records;

/// Sign-in attempts per client IP per minute.
const LOGIN_ATTEMPTS: usize = 20;

/// Where to go after sign-in: only paths inside the dashboard.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/_/") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/_/".to_owned(),
    }
}

fn has_superuser(app: &App) -> bool {
    let Some(c) = app.store.schema().get(SUPERUSERS) else {
        return false;
    };
    app.store
        .read(|conn| crate::store::records::all_ids(conn, &c))
        .map(|ids| !ids.is_empty())
        .unwrap_or(true)
}

fn superusers(app: &App) -> Option<Arc<crate::schema::Collection>> {
    app.store.schema().get(SUPERUSERS)
}

fn login_ctx(app: &App, csrf: &str, next: &str, email: &str, error: &str) -> Value {
    json!({
        "app_name": super::shell::app_name(app),
        "title": "Sign in",
        "csrf": csrf, "next": next, "email": email, "error": error,
    })
}

pub async fn page(
    State(app): State<Arc<App>>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !has_superuser(&app) {
        return Redirect::to("/_/install").into_response();
    }
    let csrf = session::csrf_token(&session).await;
    let next = safe_next(q.get("next").map(String::as_str));
    view::render("login.html", login_ctx(&app, &csrf, &next, "", ""))
}

pub async fn submit(
    State(app): State<Arc<App>>,
    session: Session,
    Client(client): Client,
    form: Form,
) -> Response {
    let Some(c) = superusers(&app) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let (email, password) = (form.text("email"), form.text("password"));
    let next = safe_next(form.get("next"));
    let csrf = session::csrf_token(&session).await;
    let fail = |status: StatusCode, msg: &str| {
        let ctx = login_ctx(&app, &csrf, &next, &email, msg);
        view::render_status(status, "login.html", ctx)
    };
    // Always on, whatever the rate-limit settings: password guessing.
    let key = format!("admin-login\0{}", client.ip);
    if !app
        .throttle
        .allow(&key, LOGIN_ATTEMPTS, std::time::Duration::from_secs(60))
    {
        return fail(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts, please try again later.",
        );
    }
    if let Err(e) = app.limiter.check_identity(
        &Actor::Guest,
        &client.ip,
        SUPERUSERS,
        "authWithPassword",
        &email,
    ) {
        return fail(e.status, "Too many attempts, please try again later.");
    }
    let signed =
        auth::sign_in_with_password(&app, Arc::clone(&c), &email, None, &password, None, &client)
            .await;
    match signed {
        Ok(id) => match session::sign_in(&session, &id).await {
            Ok(()) => Redirect::to(&next).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(Error::Raw(401, body)) if body.contains_key("mfaId") => {
            let mfa = body.get("mfaId").cloned().unwrap_or_default();
            // A superuser with an authenticator app finishes with its code.
            let mfa_id = mfa.as_str().unwrap_or_default();
            if mfa_identity(&app, mfa_id)
                .is_some_and(|id| totp::enrolled(&app, &id).unwrap_or(false))
            {
                let pending = json!({"mfaId": mfa, "method": "totp", "email": email, "next": next});
                if session.insert(K_MFA, pending).await.is_err() {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
                return Redirect::to("/_/login/mfa").into_response();
            }
            let otp_id = match otp::request(&app, &c, &email).await {
                Ok(id) => id,
                Err(_) => {
                    return fail(
                        StatusCode::BAD_REQUEST,
                        "Multi-factor sign-in needs one-time passwords (OTP) enabled for superusers.",
                    );
                }
            };
            let pending = json!({"mfaId": mfa, "otpId": otp_id, "email": email, "next": next});
            if session.insert(K_MFA, pending).await.is_err() {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            Redirect::to("/_/login/mfa").into_response()
        }
        Err(_) => fail(StatusCode::BAD_REQUEST, "Invalid email or password."),
    }
}

/// The superuser a pending multi-factor sign-in (`_mfas` record) is for.
fn mfa_identity(app: &App, mfa_id: &str) -> Option<Identity> {
    let c = superusers(app)?;
    let mfas = sys::collection(&app.store, sys::MFAS).ok()?;
    let rec = app
        .store
        .read(|conn| {
            let Some(m) = records::get(conn, &mfas, mfa_id)?
                .filter(|m| sys::text(m, "collectionRef") == c.id)
            else {
                return Ok(None);
            };
            records::get(conn, &c, sys::text(&m, "recordRef"))
        })
        .ok()
        .flatten()?;
    Some(Identity {
        collection: c,
        record: rec.into(),
    })
}

async fn pending(session: &Session) -> Option<Value> {
    session.get::<Value>(K_MFA).await.ok().flatten()
}

fn mfa_ctx(app: &App, csrf: &str, p: &Value, error: &str) -> Value {
    let totp = p.get("method").and_then(Value::as_str) == Some("totp");
    let title = if totp {
        "Enter your authenticator code"
    } else {
        "Enter your one-time password"
    };
    json!({
        "app_name": super::shell::app_name(app),
        "title": title, "totp": totp,
        "csrf": csrf, "email": p.get("email"), "error": error,
    })
}

pub async fn mfa_page(State(app): State<Arc<App>>, session: Session) -> Response {
    let Some(p) = pending(&session).await else {
        return Redirect::to("/_/login").into_response();
    };
    let csrf = session::csrf_token(&session).await;
    view::render("login_mfa.html", mfa_ctx(&app, &csrf, &p, ""))
}

pub async fn mfa_submit(
    State(app): State<Arc<App>>,
    session: Session,
    Client(client): Client,
    form: Form,
) -> Response {
    let Some(p) = pending(&session).await else {
        return Redirect::to("/_/login").into_response();
    };
    let Some(c) = superusers(&app) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let code = form.text("code");
    let result = if s("method") == "totp" {
        // Code guessing counts against the sign-in limit of this client.
        let key = format!("admin-login\0{}", client.ip);
        let window = std::time::Duration::from_secs(60);
        if !app.throttle.allow(&key, LOGIN_ATTEMPTS, window) {
            Err(Error::bad("Too many attempts, please try again later."))
        } else if let Some(id) = mfa_identity(&app, &s("mfaId")) {
            match totp::verify_code(&app, &id, code.trim()).await {
                Ok(()) => auth::login::complete(&app, id, "totp", Some(&s("mfaId")), &client).await,
                Err(e) => Err(e),
            }
        } else {
            Err(Error::bad("Failed to authenticate."))
        }
    } else {
        match otp::authenticate(&app, Arc::clone(&c), &s("otpId"), code.trim()).await {
            Ok(id) => auth::login::complete(&app, id, "otp", Some(&s("mfaId")), &client).await,
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(id) => match session::sign_in(&session, &id).await {
            Ok(()) => Redirect::to(&safe_next(Some(&s("next")))).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(_) => {
            let csrf = session::csrf_token(&session).await;
            let ctx = mfa_ctx(&app, &csrf, &p, "Invalid or expired code.");
            view::render_status(StatusCode::BAD_REQUEST, "login_mfa.html", ctx)
        }
    }
}

pub async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/_/login").into_response()
}

/// One-time install tokens, per data directory (tests run several apps in
/// one process).
fn tokens() -> &'static Mutex<HashMap<PathBuf, String>> {
    static T: std::sync::OnceLock<Mutex<HashMap<PathBuf, String>>> = std::sync::OnceLock::new();
    T.get_or_init(Default::default)
}

/// The install token while no superuser exists (printed at startup as
/// `/_/#/pbinstall/TOKEN`, PocketBase's link shape).
pub fn install_token(app: &App) -> Option<String> {
    if has_superuser(app) {
        return None;
    }
    let mut map = tokens().lock().ok()?;
    Some(
        map.entry(app.store.path().to_owned())
            .or_insert_with(session::random_token)
            .clone(),
    )
}

fn install_ctx(app: &App, csrf: &str, token: &str, email: &str, error: &str) -> Value {
    json!({
        "app_name": super::shell::app_name(app),
        "title": "Create your first superuser",
        "csrf": csrf, "token": token, "email": email, "error": error,
    })
}

pub async fn install_page(
    State(app): State<Arc<App>>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if has_superuser(&app) {
        return Redirect::to("/_/login").into_response();
    }
    let csrf = session::csrf_token(&session).await;
    let token = q.get("token").cloned().unwrap_or_default();
    view::render("install.html", install_ctx(&app, &csrf, &token, "", ""))
}

pub async fn install_submit(State(app): State<Arc<App>>, session: Session, form: Form) -> Response {
    let csrf = session::csrf_token(&session).await;
    let (token, email) = (form.text("token"), form.text("email"));
    let fail = |msg: &str| {
        let ctx = install_ctx(&app, &csrf, &token, &email, msg);
        view::render_status(StatusCode::BAD_REQUEST, "install.html", ctx)
    };
    let Some(expected) = install_token(&app) else {
        return Redirect::to("/_/login").into_response();
    };
    if !view::same(token.trim(), &expected) {
        return fail("The setup token is not valid. Use the link printed in the server's output.");
    }
    let (password, confirm) = (form.text("password"), form.text("passwordConfirm"));
    if password != confirm {
        return fail("The passwords do not match.");
    }
    match superusers::upsert_superuser(
        &app.store,
        &email,
        &password,
        superusers::UpsertMode::Create,
    )
    .await
    {
        Ok(()) => {
            if let Ok(mut m) = tokens().lock() {
                m.remove(app.store.path());
            }
            // As the button says (and PocketBase's installer does): signed in.
            let created = superusers(&app).and_then(|c| {
                let rec = app
                    .store
                    .read(|conn| records::find_by(conn, &c, "email", &email));
                Some(Identity {
                    collection: c,
                    record: rec.ok().flatten()?.into(),
                })
            });
            match created {
                Some(id) if session::sign_in(&session, &id).await.is_ok() => {
                    Redirect::to("/_/").into_response()
                }
                _ => Redirect::to("/_/login").into_response(),
            }
        }
        Err(e) => fail(&e.parts().1),
    }
}

/// Prints the one-time link for creating the first superuser (while none
/// exists), in PocketBase's shape.
pub fn print_install_link(app: &App, addr: std::net::SocketAddr) {
    if let Some(t) = install_token(app) {
        println!(
            "(!) No superuser yet. Open this link to create the first one:\n    http://{addr}/_/#/pbinstall/{t}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_inside_the_dashboard() {
        assert_eq!(
            safe_next(Some("/_/collections/x?filter=a")),
            "/_/collections/x?filter=a"
        );
        for bad in [
            "//evil.example/_/",
            "https://evil.example",
            "/api/collections",
            "/_/\\evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/_/", "{bad}");
        }
        assert_eq!(safe_next(None), "/_/");
    }
}
