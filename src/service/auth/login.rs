//! Finishing a sign-in, whatever the method (password, OTP, OAuth2, TOTP):
//! the collection's `authRule`, multi-factor auth (`_mfas`), and the login
//! origin (`_authOrigins`) with its alert mail.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

use super::sys::{self, MFAS, ORIGINS};
use super::{mail, totp};
use crate::app::App;
use crate::schema::{Access, datetime};
use crate::service::{Actor, Error, Identity, rules};
use crate::store::records;

/// Who is signing in, for the login origin and rate limits.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// Checks `authRule`, then MFA, then records the origin (alerting on a new
/// one). `mfa_id` continues a pending multi-factor sign-in.
pub async fn complete(
    app: &App,
    id: Identity,
    method: &str,
    mfa_id: Option<&str>,
    client: &Client,
) -> Result<Identity, Error> {
    check_auth_rule(app, &id)?;
    multi_factor(app, &id, method, mfa_id).await?;
    if let Err(e) = origin(app, &id, client).await {
        tracing::warn!(error = ?e, "auth origin not recorded");
    }
    Ok(id)
}

/// `authRule`: `null` refuses everyone, `""` allows all, an expression is
/// checked against the authenticating record (as `@request.auth` too).
pub fn check_auth_rule(app: &App, id: &Identity) -> Result<(), Error> {
    const DENIED: &str = "The request doesn't satisfy the collection requirements to authenticate.";
    let c = &id.collection;
    match c.auth_rule("authRule") {
        Access::Anyone => Ok(()),
        Access::Superusers => Err(Error::Forbidden(DENIED)),
        Access::Rule(text) => {
            let actor = Actor::User(id.clone());
            let req = rules::request_info(&app.store, &actor, "POST", Map::new(), Map::new());
            let w = rules::rule(&app.store.schema(), c, &text, &req, 1);
            let ok = app
                .store
                .read(|conn| records::get_where(conn, c, id.id(), &w))?
                .is_some();
            if ok {
                Ok(())
            } else {
                Err(Error::Forbidden(DENIED))
            }
        }
    }
}

/// Is a second factor required for this record? Either the collection's
/// `mfa` option (with its optional rule) or an enrolled authenticator app.
fn mfa_required(app: &App, id: &Identity) -> Result<bool, Error> {
    if totp::enrolled(app, id)? {
        return Ok(true);
    }
    let c = &id.collection;
    let mfa = c.options.get("mfa");
    if mfa.and_then(|m| m.get("enabled")).and_then(Value::as_bool) != Some(true) {
        return Ok(false);
    }
    let rule = mfa
        .and_then(|m| m.get("rule"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if rule.trim().is_empty() {
        return Ok(true);
    }
    let actor = Actor::User(id.clone());
    let req = rules::request_info(&app.store, &actor, "POST", Map::new(), Map::new());
    let w = rules::rule(&app.store.schema(), c, rule, &req, 1);
    Ok(app
        .store
        .read(|conn| records::get_where(conn, c, id.id(), &w))?
        .is_some())
}

fn mfa_duration(id: &Identity) -> i64 {
    id.collection
        .options
        .get("mfa")
        .and_then(|m| m.get("duration"))
        .and_then(Value::as_i64)
        .unwrap_or(600)
}

async fn multi_factor(
    app: &App,
    id: &Identity,
    method: &str,
    mfa_id: Option<&str>,
) -> Result<(), Error> {
    let c = sys::collection(&app.store, MFAS)?;
    if let Some(mfa_id) = mfa_id.filter(|m| !m.is_empty()) {
        let found = app.store.read(|conn| records::get(conn, &c, mfa_id))?;
        let Some(m) = found.filter(|m| {
            sys::text(m, "collectionRef") == id.collection.id
                && !expired(sys::text(m, "created"), mfa_duration(id))
        }) else {
            return Err(Error::bad("Invalid or expired MFA session."));
        };
        if sys::text(&m, "recordRef") != id.id() {
            return Err(Error::bad("Invalid MFA session."));
        }
        if sys::text(&m, "method") == method {
            return Err(Error::bad("A different authentication method is required."));
        }
        let mfa_id = mfa_id.to_owned();
        app.store
            .write(move |ctx| sys::delete(ctx, &c, &mfa_id))
            .await?;
        return Ok(());
    }
    if !mfa_required(app, id)? {
        return Ok(());
    }
    let (coll, rec, method) = (
        id.collection.id.clone(),
        id.id().to_owned(),
        method.to_owned(),
    );
    let row = app
        .store
        .write(move |ctx| {
            sys::insert(
                ctx,
                &c,
                &[
                    ("collectionRef", coll.into()),
                    ("recordRef", rec.into()),
                    ("method", method.into()),
                ],
            )
        })
        .await?;
    // PocketBase answers exactly `{"mfaId": ...}` (the SDK reads it from
    // the error's response).
    let mut body = Map::new();
    body.insert("mfaId".into(), row.get("id").cloned().unwrap_or_default());
    Err(Error::Raw(401, body))
}

/// Has a row created at `created` outlived `secs`?
pub fn expired(created: &str, secs: i64) -> bool {
    // Millisecond precision: a whole-second floor would let a code live
    // almost a second longer than `secs`.
    datetime::parse(created)
        .is_none_or(|t| time::OffsetDateTime::now_utc() - t > time::Duration::seconds(secs))
}

/// PocketBase's device fingerprint, `md5(IP + User-Agent)` (kept so origins
/// migrated from PocketBase stay recognised).
fn fingerprint(client: &Client) -> String {
    let mut h = Md5::new();
    h.update(client.ip.as_bytes());
    h.update(client.user_agent.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Devices remembered per record; a new one evicts the oldest.
const MAX_ORIGINS: usize = 5;

/// With login alerts on, remembers where this sign-in came from; a new
/// device for a record that already has one gets the "login from a new
/// location" mail.
async fn origin(app: &App, id: &Identity, client: &Client) -> Result<(), Error> {
    let alert = id.collection.options.get("authAlert");
    if alert
        .and_then(|a| a.get("enabled"))
        .and_then(Value::as_bool)
        != Some(true)
    {
        return Ok(());
    }
    let c = sys::collection(&app.store, ORIGINS)?;
    let fp = fingerprint(client);
    let (coll, rec) = (id.collection.id.clone(), id.id().to_owned());
    let known = app.store.read(|conn| {
        records::find_all(
            conn,
            &c,
            &[("collectionRef", &coll), ("recordRef", &rec)],
            1000,
        )
    })?;
    if let Some(same) = known.iter().find(|r| sys::text(r, "fingerprint") == fp) {
        let oid = sys::text(same, "id").to_owned();
        app.store
            .write(move |ctx| sys::update(ctx, &c, &oid, &[]).map(|_| ()))
            .await?;
        return Ok(());
    }
    let first = known.is_empty();
    let mut by_created: Vec<(&str, &str)> = known
        .iter()
        .map(|r| (sys::text(r, "created"), sys::text(r, "id")))
        .collect();
    by_created.sort_unstable();
    let excess = (known.len() + 1).saturating_sub(MAX_ORIGINS);
    let oldest: Vec<String> = by_created
        .iter()
        .take(excess)
        .map(|(_, id)| (*id).to_owned())
        .collect();
    app.store
        .write(move |ctx| {
            for old in &oldest {
                sys::delete(ctx, &c, old)?;
            }
            sys::insert(
                ctx,
                &c,
                &[
                    ("collectionRef", coll.into()),
                    ("recordRef", rec.into()),
                    ("fingerprint", fp.into()),
                ],
            )
        })
        .await?;
    if !first {
        let mut ua: String = client.user_agent.chars().take(200).collect();
        if client.user_agent.chars().count() > 200 {
            ua.push_str("...");
        }
        let when = datetime::format(time::OffsetDateTime::now_utc());
        let info = format!("{when} - {} {ua}", client.ip);
        mail::send_template(app, id, "authAlert", |v| v.alert_info = info);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_exact_to_the_millisecond() {
        let ago = |ms: i64| {
            datetime::format(time::OffsetDateTime::now_utc() - time::Duration::milliseconds(ms))
        };
        assert!(!expired(&ago(500), 1));
        assert!(expired(&ago(1_200), 1));
        assert!(!expired(&ago(9_900), 10));
        assert!(expired(&ago(10_100), 10));
        assert!(expired("not a date", 10));
    }
}
