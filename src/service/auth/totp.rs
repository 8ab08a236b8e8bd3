//! Authenticator apps (TOTP, RFC 6238), Cairn's extension to PocketBase's
//! MFA: a record that has confirmed an enrolment must complete every
//! sign-in with a code from its app (or a one-time recovery code), through
//! the same `mfaId` PocketBase's MFA uses.
//!
//! Codes are 6 digits, 30-second steps, one step of clock skew allowed;
//! a step that was used once is never accepted again (no replay).

use rand::RngExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, Totp};

use crate::app::App;
use crate::schema::datetime;
use crate::service::{Error, Identity};
use crate::store::totp::{self as store, Enrolment};

const RECOVERY_CODES: usize = 10;

fn app_name(app: &App) -> String {
    app.settings()
        .pointer("/meta/appName")
        .and_then(Value::as_str)
        .unwrap_or("Cairn")
        .to_owned()
}

fn totp_for(secret_b32: &str, issuer: &str, account: &str) -> Result<Totp, Error> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|e| Error::Internal(format!("totp secret: {e:?}")))?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| Error::Internal(format!("totp: {e:?}")))
}

fn digest(code: &str) -> String {
    Sha256::digest(code.trim().to_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn account(id: &Identity) -> String {
    let email = id
        .record
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if email.is_empty() {
        id.id().to_owned()
    } else {
        email.to_owned()
    }
}

fn load(app: &App, id: &Identity) -> Result<Option<Enrolment>, Error> {
    let (c, r) = (id.collection.id.clone(), id.id().to_owned());
    Ok(app.store.read(|conn| store::get(conn, &c, &r))?)
}

/// Has this record a confirmed authenticator?
pub fn enrolled(app: &App, id: &Identity) -> Result<bool, Error> {
    Ok(load(app, id)?.is_some_and(|e| e.confirmed))
}

/// Starts (or restarts) an enrolment: a new secret and its `otpauth://` URL
/// for a QR code. Refused while a confirmed one exists.
pub async fn setup(app: &App, id: &Identity) -> Result<Value, Error> {
    if enrolled(app, id)? {
        return Err(Error::bad(
            "An authenticator app is already enabled; disable it first.",
        ));
    }
    let secret = Secret::generate().to_base32();
    let url = totp_for(&secret, &app_name(app), &account(id))?
        .to_url()
        .map_err(|e| Error::Internal(format!("totp url: {e:?}")))?;
    let e = Enrolment {
        collection: id.collection.id.clone(),
        record: id.id().to_owned(),
        secret: secret.clone(),
        ..Enrolment::default()
    };
    app.store
        .write_again(move |ctx| Ok::<_, Error>(store::put(ctx.conn, &e, &datetime::now())?))
        .await?;
    Ok(json!({"secret": secret, "url": url}))
}

/// Checks a code against the enrolment; on success returns the updated
/// enrolment (step or recovery code consumed) to store.
fn check(app: &App, e: &Enrolment, code: &str, allow_recovery: bool) -> Option<Enrolment> {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let totp = totp_for(&e.secret, &app_name(app), "x").ok()?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let step = (now / 30) as i64;
        // The step that matched, within one step of skew; never one used before.
        let matched = [step - 1, step, step + 1].into_iter().find(|s| {
            *s > e.last_step
                && bool::from(
                    totp.generate((*s as u64) * 30)
                        .to_string()
                        .as_bytes()
                        .ct_eq(code.as_bytes()),
                )
        })?;
        let mut next = e.clone();
        next.last_step = matched;
        return Some(next);
    }
    if allow_recovery {
        let d = digest(code);
        let pos = e.recovery.iter().position(|x| *x == d)?;
        let mut next = e.clone();
        next.recovery.remove(pos);
        return Some(next);
    }
    None
}

fn invalid_code() -> Error {
    let mut data = serde_json::Map::new();
    data.insert(
        "code".into(),
        crate::schema::validate::FieldError::new(
            "validation_invalid_code",
            "Invalid or expired code.",
        )
        .to_json(),
    );
    Error::invalid(
        "An error occurred while validating the submitted data.",
        data,
    )
}

/// Confirms an enrolment with a first code; answers the recovery codes
/// (shown once; only their digests are kept).
pub async fn confirm(app: &App, id: &Identity, code: &str) -> Result<Value, Error> {
    let e = load(app, id)?
        .filter(|e| !e.confirmed)
        .ok_or_else(|| Error::bad("Start the authenticator setup first."))?;
    let mut next = check(app, &e, code, false).ok_or_else(invalid_code)?;
    let codes: Vec<String> = {
        let mut rng = rand::rng();
        (0..RECOVERY_CODES)
            .map(|_| {
                (0..10)
                    .map(|i| {
                        if i == 5 {
                            '-'
                        } else {
                            char::from(b"abcdefghjkmnpqrstuvwxyz23456789"[rng.random_range(0..31)])
                        }
                    })
                    .collect()
            })
            .collect()
    };
    // The confirming code proves the app works; it may still sign in once.
    next.last_step = e.last_step;
    next.confirmed = true;
    next.recovery = codes.iter().map(|c| digest(c)).collect();
    app.store
        .write_again(move |ctx| Ok::<_, Error>(store::put(ctx.conn, &next, &datetime::now())?))
        .await?;
    Ok(json!({"recoveryCodes": codes}))
}

/// Verifies a sign-in code (authenticator or recovery code) for a record
/// with a confirmed enrolment, consuming it.
pub async fn verify_code(app: &App, id: &Identity, code: &str) -> Result<(), Error> {
    let e = load(app, id)?
        .filter(|e| e.confirmed)
        .ok_or_else(|| Error::bad("Failed to authenticate."))?;
    let next = check(app, &e, code, true).ok_or_else(|| Error::bad("Failed to authenticate."))?;
    app.store
        .write_again(move |ctx| {
            // Re-check inside the writer so two racing uses of one code
            // cannot both succeed.
            let cur = store::get(ctx.conn, &next.collection, &next.record)?;
            let stale = cur.is_none_or(|c| c.last_step != e.last_step || c.recovery != e.recovery);
            if stale {
                return Err(Error::bad("Failed to authenticate."));
            }
            Ok(store::put(ctx.conn, &next, &datetime::now())?)
        })
        .await
}

/// Removes the enrolment after checking a current code (owners), or
/// unconditionally (superusers).
pub async fn disable(app: &App, id: &Identity, code: Option<&str>) -> Result<(), Error> {
    if let Some(code) = code {
        let e = load(app, id)?
            .filter(|e| e.confirmed)
            .ok_or_else(|| Error::bad("No authenticator app is enabled."))?;
        check(app, &e, code, true).ok_or_else(invalid_code)?;
    }
    let (c, r) = (id.collection.id.clone(), id.id().to_owned());
    app.store
        .write_again(move |ctx| Ok::<_, Error>(store::delete(ctx.conn, &c, &r)?))
        .await
}

/// The current code for a secret (tests and the CLI).
pub fn current_code(secret_b32: &str) -> Option<String> {
    let totp = totp_for(secret_b32, "x", "x").ok()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    Some(totp.generate(now).to_string())
}
