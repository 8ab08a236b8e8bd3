//! The mail-confirmed flows of auth collections: email verification,
//! password reset and email change.
//!
//! Each token is a JWT of its own type signed with the record's `tokenKey`
//! plus the collection's secret for that type, and carries the email it was
//! sent to. That makes them single-use without a token table: verifying
//! again is a no-op, a reset rotates `tokenKey` (so the reset token and every
//! auth token die with it), and an email change changes the email the token
//! names.

use std::sync::Arc;

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::sys::{self, ORIGINS};
use super::{TokenKind, Verified, issue, mail, verify, verify_password};
use crate::app::App;
use crate::schema::system::SUPERUSERS;
use crate::schema::validate::{self, FieldError};
use crate::schema::{Collection, FieldKind, names};
use crate::service::{Error, Identity};
use crate::store::records;

const INVALID_DATA: &str = "An error occurred while validating the submitted data.";
const ALL_VERIFIED: &str = "All superusers are verified by default.";

fn field_errors(pairs: Vec<(&str, FieldError)>) -> Error {
    let mut data = Map::new();
    for (k, e) in pairs {
        data.insert(k.to_owned(), e.to_json());
    }
    Error::invalid(INVALID_DATA, data)
}

fn invalid_token() -> Error {
    field_errors(vec![(
        "token",
        FieldError::new("validation_invalid_token", "Invalid or expired token."),
    )])
}

/// Checks an email input: required and well-formed.
pub fn check_email(key: &str, email: &str) -> Result<(), Error> {
    if email.is_empty() {
        return Err(field_errors(vec![(key, FieldError::required())]));
    }
    if !validate::is_email(email) {
        return Err(field_errors(vec![(
            key,
            FieldError::new("validation_is_email", "Must be a valid email address."),
        )]));
    }
    Ok(())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn find_by_email(app: &App, c: &Arc<Collection>, email: &str) -> Result<Option<Identity>, Error> {
    let found = app
        .store
        .read(|conn| records::find_by(conn, c, "email", email))?;
    Ok(found.map(|record| Identity {
        collection: Arc::clone(c),
        record: record.into(),
    }))
}

fn token_error(code: &'static str, message: &str) -> Error {
    field_errors(vec![("token", FieldError::new(code, message))])
}

/// The payload of a token before its signature is checked (PocketBase
/// reports missing claims before bad signatures).
fn unverified_claims(token: &str) -> Map<String, Value> {
    jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
        .map(|t| t.claims)
        .unwrap_or_default()
}

/// Verifies a flow token for collection `c`: its claims, then its
/// signature and type, then that the email it names is still the record's.
fn token_identity(
    app: &App,
    c: &Collection,
    token: &str,
    kind: TokenKind,
) -> Result<(Identity, Map<String, Value>), Error> {
    if token.is_empty() {
        return Err(field_errors(vec![("token", FieldError::required())]));
    }
    let claims = unverified_claims(token);
    let claim = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    if claim("email").is_empty() {
        return Err(token_error(
            "validation_invalid_token_claims",
            "Missing email token claim.",
        ));
    }
    if claim("collectionId") != c.id {
        return Err(token_error(
            "validation_token_collection_mismatch",
            "The provided token is for different auth collection.",
        ));
    }
    let (id, claims) = verify(&app.store, token, kind).ok_or_else(invalid_token)?;
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !same(email, sys::text(&id.record, "email")) {
        return Err(invalid_token());
    }
    Ok((id, claims))
}

fn email_claims(id: &Identity) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("email".into(), sys::text(&id.record, "email").into());
    m
}

/// Resend guard: one mail of a kind per record per 2 minutes.
const RESEND_WINDOW: std::time::Duration = std::time::Duration::from_secs(120);

fn resend_key(kind: &str, id: &Identity) -> String {
    format!("{kind}\0{}\0{}", id.collection.id, id.id())
}

fn refuse_superusers(c: &Collection, message: &'static str) -> Result<(), Error> {
    if c.name == SUPERUSERS {
        return Err(Error::bad(message));
    }
    Ok(())
}

/// `request-verification`: mails a verification link to an unverified
/// record; unknown or verified emails get the same silent 204.
pub async fn request_verification(
    app: &App,
    c: &Arc<Collection>,
    email: &str,
) -> Result<(), Error> {
    refuse_superusers(c, ALL_VERIFIED)?;
    check_email("email", email)?;
    let Some(id) = find_by_email(app, c, email)? else {
        return Ok(());
    };
    if id.record.get("verified").and_then(Value::as_bool) == Some(true)
        || !app
            .throttle
            .allow(&resend_key("verification", &id), 1, RESEND_WINDOW)
    {
        return Ok(());
    }
    let token = issue(
        c,
        &id.record,
        TokenKind::Verification,
        email_claims(&id),
        None,
    )?;
    mail::send_template(app, &id, "verificationTemplate", |v| v.token = token);
    Ok(())
}

/// `confirm-verification`: marks the record verified.
pub async fn confirm_verification(
    app: &App,
    c: &Arc<Collection>,
    token: &str,
) -> Result<(), Error> {
    refuse_superusers(c, ALL_VERIFIED)?;
    let (id, _) = token_identity(app, c, token, TokenKind::Verification)?;
    app.throttle.clear(&resend_key("verification", &id));
    if id.record.get("verified").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let (coll, rid) = (Arc::clone(&id.collection), id.id().to_owned());
    app.store
        .write_again(move |ctx| sys::update(ctx, &coll, &rid, &[("verified", true.into())]))
        .await?;
    Ok(())
}

/// `request-password-reset`: mails a reset link; unknown emails get the
/// same silent 204.
pub async fn request_password_reset(
    app: &App,
    c: &Arc<Collection>,
    email: &str,
) -> Result<(), Error> {
    if !c.password_auth_enabled() {
        return Err(Error::bad(
            "The collection is not configured to allow password authentication.",
        ));
    }
    check_email("email", email)?;
    let Some(id) = find_by_email(app, c, email)? else {
        return Ok(());
    };
    if !app
        .throttle
        .allow(&resend_key("reset", &id), 1, RESEND_WINDOW)
    {
        return Ok(());
    }
    let token = issue(
        c,
        &id.record,
        TokenKind::PasswordReset,
        email_claims(&id),
        None,
    )?;
    mail::send_template(app, &id, "resetPasswordTemplate", |v| v.token = token);
    Ok(())
}

/// Validates a new password and its confirmation against the collection's
/// password field.
fn new_password_errors(
    c: &Collection,
    password: &str,
    confirm: &str,
) -> Vec<(&'static str, FieldError)> {
    let (min, max) = match c.field("password").map(|f| &f.kind) {
        Some(FieldKind::Password(o)) => (o.min.max(1), if o.max > 0 { o.max } else { 255 }),
        _ => (8, 255),
    };
    let mut errs = Vec::new();
    let n = password.chars().count() as i64;
    if password.is_empty() {
        errs.push(("password", FieldError::required()));
    } else if n < min || n > max {
        errs.push((
            "password",
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between {min} and {max}."),
            )
            .with_params(serde_json::json!({"min": min, "max": max})),
        ));
    }
    if confirm.is_empty() {
        errs.push(("passwordConfirm", FieldError::required()));
    } else if confirm != password {
        errs.push((
            "passwordConfirm",
            FieldError::new("validation_values_mismatch", "Values don't match."),
        ));
    }
    errs
}

/// `confirm-password-reset`: sets the password, rotates `tokenKey` (every
/// earlier token, this one included, stops working), marks the email
/// verified (the link proved access to it) and forgets login origins.
pub async fn confirm_password_reset(
    app: &App,
    c: &Arc<Collection>,
    token: &str,
    password: &str,
    confirm: &str,
) -> Result<(), Error> {
    let mut errs = new_password_errors(c, password, confirm);
    let found = if token.is_empty() {
        errs.insert(0, ("token", FieldError::required()));
        None
    } else {
        match token_identity(app, c, token, TokenKind::PasswordReset) {
            Ok((id, _)) => Some(id),
            Err(_) => {
                errs.insert(
                    0,
                    (
                        "token",
                        FieldError::new("validation_invalid_token", "Invalid or expired token."),
                    ),
                );
                None
            }
        }
    };
    if !errs.is_empty() {
        return Err(field_errors(errs));
    }
    let id = found.ok_or_else(invalid_token)?;
    let hash = super::hash_password_cost(password.to_owned(), super::password_cost(c)).await?;
    set_password(app, &id, hash, true).await?;
    app.throttle.clear(&resend_key("reset", &id));
    Ok(())
}

/// Stores a new password hash, rotates `tokenKey` and drops the record's
/// login origins (PocketBase does the same on every password change).
pub async fn set_password(
    app: &App,
    id: &Identity,
    hash: String,
    verify_email: bool,
) -> Result<(), Error> {
    let origins = sys::collection(&app.store, ORIGINS)?;
    let (coll, rid) = (Arc::clone(&id.collection), id.id().to_owned());
    app.store
        .write(move |ctx| {
            let mut fields = vec![
                ("password", Value::from(hash)),
                ("tokenKey", names::random_secret(50).into()),
            ];
            if verify_email {
                fields.push(("verified", true.into()));
            }
            sys::update(ctx, &coll, &rid, &fields)?;
            let rows = records::find_all(
                ctx.conn,
                &origins,
                &[("collectionRef", &coll.id), ("recordRef", &rid)],
                10_000,
            )?;
            for r in rows {
                sys::delete(ctx, &origins, sys::text(&r, "id"))?;
            }
            Ok(())
        })
        .await
}

/// Rotates a record's `tokenKey`, so every token issued for it before
/// stops working (a superuser's dashboard sessions end too). The
/// dashboard's "Reset issued tokens"; PocketBase offers no API for it.
pub async fn reset_tokens(app: &App, c: &Arc<Collection>, id: &str) -> Result<(), Error> {
    let (coll, rid) = (Arc::clone(c), id.to_owned());
    app.store
        .write_again(move |ctx| {
            let key = names::random_secret(50);
            sys::update(ctx, &coll, &rid, &[("tokenKey", key.into())]).map(|_| ())
        })
        .await
}

/// `request-email-change` (the record itself): mails a confirmation link
/// to the new address.
pub async fn request_email_change(app: &App, id: &Identity, new_email: &str) -> Result<(), Error> {
    let c = &id.collection;
    refuse_superusers(c, "All superusers can change their emails directly.")?;
    check_email("newEmail", new_email)?;
    if new_email.eq_ignore_ascii_case(sys::text(&id.record, "email")) {
        return Err(field_errors(vec![(
            "newEmail",
            FieldError::new("validation_not_in_invalid", "Must not be in list."),
        )]));
    }
    if find_by_email(app, c, new_email)?.is_some() {
        return Err(field_errors(vec![(
            "newEmail",
            FieldError::new("validation_invalid_new_email", "Invalid new email address."),
        )]));
    }
    let mut claims = email_claims(id);
    claims.insert("newEmail".into(), new_email.into());
    let token = issue(c, &id.record, TokenKind::EmailChange, claims, None)?;
    mail::send_to(
        app,
        id,
        "confirmEmailChangeTemplate",
        Some(new_email.to_owned()),
        |v| {
            v.token = token;
        },
    );
    Ok(())
}

/// `confirm-email-change`: needs the record's password; sets the new email
/// (verified) and rotates `tokenKey`. Any token problem also fails the
/// password (PocketBase cannot tell whose password it is).
pub async fn confirm_email_change(
    app: &App,
    c: &Arc<Collection>,
    token: &str,
    password: &str,
) -> Result<(), Error> {
    let bad_password = || {
        FieldError::new(
            "validation_invalid_password",
            "Missing or invalid auth record password.",
        )
    };
    let password_err = || {
        if password.is_empty() {
            FieldError::required()
        } else {
            bad_password()
        }
    };
    if token.is_empty() {
        return Err(field_errors(vec![
            ("password", password_err()),
            ("token", FieldError::required()),
        ]));
    }
    let fail = |code: &'static str, message: &str| {
        field_errors(vec![
            ("password", password_err()),
            ("token", FieldError::new(code, message)),
        ])
    };
    let claims = unverified_claims(token);
    let new_email = claims
        .get("newEmail")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if new_email.is_empty() {
        return Err(fail(
            "validation_invalid_token_payload",
            "Invalid token payload - newEmail must be set.",
        ));
    }
    let Ok((id, _)) = token_identity(app, c, token, TokenKind::EmailChange) else {
        return Err(fail(
            "validation_invalid_token",
            "Invalid or expired token.",
        ));
    };
    if find_by_email(app, c, &new_email)?.is_some() {
        return Err(fail(
            "validation_invalid_token_email",
            "The new email address is invalid.",
        ));
    }
    let hash = id
        .record
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if password.is_empty() || verify_password(password.to_owned(), hash).await == Verified::No {
        return Err(field_errors(vec![("password", password_err())]));
    }
    let (coll, rid) = (Arc::clone(&id.collection), id.id().to_owned());
    app.store
        .write(move |ctx| {
            sys::update(
                ctx,
                &coll,
                &rid,
                &[
                    ("email", new_email.into()),
                    ("verified", true.into()),
                    ("tokenKey", names::random_secret(50).into()),
                ],
            )
        })
        .await?;
    Ok(())
}
