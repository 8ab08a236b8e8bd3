//! `onRecordAuthRequest`: PocketBase runs it before every sign-in's answer
//! (password, OTP, OAuth2, refresh), once the credentials were checked.
//! Its handlers see `e.record` (the record as the answer shows it),
//! `e.token`, `e.meta`, `e.authMethod` and `e.collection`; a throw refuses
//! the sign-in, a handler that does not call `e.next()` answers itself,
//! and what they change in `e.record`, `e.token` or `e.meta` is what the
//! answer holds (nothing is saved).
//!
//! Also the host side of what custom sign-in routes call:
//! `record.newAuthToken()`, `record.validatePassword(pw)` and
//! `$apis.recordAuthResponse(e, record, method, meta)` (`host_op`).

use serde_json::{Value, json};

use super::records::Outcome;
use crate::app::App;
use crate::plugins::conn_host::{NO_ROWS, svc};
use crate::plugins::runtime::HostError;
use crate::schema::{Collection, CollectionKind};
use crate::service::auth::{self, Verified};
use crate::service::{Actor, Error, Identity};

/// A sign-in's answer: `{token, record, meta}`.
pub struct Answer {
    pub record: Value,
    pub token: String,
    pub meta: Option<Value>,
}

/// Runs the `onRecordAuthRequest` handlers of `c` over `a` (`request`);
/// `method` is PocketBase's `authMethod` (`password`, `otp`, `oauth2`,
/// empty for a refresh or an impersonation).
pub async fn request(
    app: &App,
    c: &Collection,
    method: &str,
    a: Answer,
) -> Result<Outcome<Answer>, Error> {
    let fields = json!({"token": a.token, "meta": a.meta, "authMethod": method});
    // The caller is not signed in yet (`e.auth` is empty).
    let out = super::request::record(
        app,
        c,
        "onRecordAuthRequest",
        &Actor::Guest,
        a.record,
        fields,
    );
    Ok(match out.await? {
        Outcome::Done((record, mut f)) => Outcome::Done(Answer {
            record,
            token: f["token"].as_str().unwrap_or_default().to_owned(),
            meta: Some(f["meta"].take()).filter(|m| !m.is_null()),
        }),
        Outcome::Answered(res) => Outcome::Answered(res),
    })
}

/// `auth.token` (`record.newAuthToken()`), `auth.checkPassword`
/// (`record.validatePassword(pw)`: against the stored hash) and
/// `auth.answer` (`$apis.recordAuthResponse`: the collection's `authRule`,
/// then `{token, record}` as a sign-in answers), for the auth record
/// `{collection, id}`.
pub fn host_op(
    app: &App,
    rt: &tokio::runtime::Handle,
    op: &str,
    args: &Value,
) -> Result<Value, HostError> {
    let text = |k: &str| args[k].as_str().unwrap_or_default();
    let c = app
        .store
        .schema()
        .get(text("collection"))
        .ok_or_else(|| HostError::new(404, NO_ROWS))?;
    if c.kind != CollectionKind::Auth {
        return Err(HostError::new(
            400,
            format!("{} is not an auth collection", c.name),
        ));
    }
    let record = app
        .store
        .read(|conn| crate::store::records::get(conn, &c, text("id")))
        .map_err(|e| svc(e.into()))?
        .ok_or_else(|| HostError::new(404, NO_ROWS))?;
    let id = Identity {
        collection: c,
        record: record.into(),
    };
    match op {
        "auth.token" => Ok(Value::String(
            auth::issue_token(&id.collection, &id.record, true).map_err(svc)?,
        )),
        "auth.checkPassword" => {
            let hash = id.record.get("password").and_then(Value::as_str);
            let cost = auth::password_cost(&id.collection);
            let plain = text("password").to_owned();
            let v = rt.block_on(auth::verify_password_cost(
                plain,
                Some(hash.unwrap_or_default().to_owned()),
                cost,
            ));
            Ok(Value::Bool(hash.is_some() && v != Verified::No))
        }
        "auth.answer" => {
            auth::login::check_auth_rule(app, &id).map_err(svc)?;
            let token = auth::issue_token(&id.collection, &id.record, true).map_err(svc)?;
            let (record, ..) = auth::own_view(&app.store, &id).map_err(svc)?;
            Ok(json!({"token": token, "record": record}))
        }
        _ => Err(HostError::new(400, format!("unknown operation {op}"))),
    }
}
