//! Passwords, tokens and superuser sign-in.
//!
//! Tokens are HS256 JWTs signed with the record's `tokenKey` plus the
//! collection's secret for that token type, so rotating a record's
//! `tokenKey` (password change) revokes every token issued before.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde_json::{Map, Value};

use super::{Actor, Error, Identity};

mod avatar;
pub mod flows;
pub mod hook_mails;
mod id_token;
pub mod login;
pub mod mail;
pub mod oauth2;
mod oauth2_user;
mod password;
pub mod providers;
pub use password::{
    ARGON2_PARAMS, Verified, hash_password, hash_password_cost, hash_password_now,
    is_password_hash, password_cost, verify_password, verify_password_cost,
};
pub mod otp;
pub mod superusers;
pub mod sys;
pub mod throttle;
mod token_cache;
pub mod totp;
use crate::schema::Collection;
use crate::schema::system::SUPERUSERS;
use crate::store::records;
use crate::store::{Store, StoreError};
pub use mail::app_vars;
pub use superusers::{UpsertMode, delete_superuser, upsert_superuser};

/// The token types PocketBase issues, each signed with the record's
/// `tokenKey` plus the collection's secret for that type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Auth,
    Verification,
    PasswordReset,
    EmailChange,
    File,
}

impl TokenKind {
    /// The `type` claim.
    pub fn claim(self) -> &'static str {
        match self {
            TokenKind::Auth => "auth",
            TokenKind::Verification => "verification",
            TokenKind::PasswordReset => "passwordReset",
            TokenKind::EmailChange => "emailChange",
            TokenKind::File => "file",
        }
    }
    /// The collection option holding its secret and duration.
    pub fn option(self) -> &'static str {
        match self {
            TokenKind::Auth => "authToken",
            TokenKind::Verification => "verificationToken",
            TokenKind::PasswordReset => "passwordResetToken",
            TokenKind::EmailChange => "emailChangeToken",
            TokenKind::File => "fileToken",
        }
    }
}

fn secret_for(c: &Collection, rec: &Map<String, Value>, kind: TokenKind) -> Vec<u8> {
    let key = rec
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{key}{}", c.token_secret(kind.option())).into_bytes()
}

/// Issues a token of `kind` for a record: claims `{id, collectionId, type,
/// exp}` plus `extra`; `duration` overrides the collection's (seconds).
pub fn issue(
    c: &Collection,
    rec: &Map<String, Value>,
    kind: TokenKind,
    extra: Map<String, Value>,
    duration: Option<i64>,
) -> Result<String, Error> {
    let mut claims = extra;
    let id = rec.get("id").cloned().unwrap_or_default();
    claims.insert("id".into(), id);
    claims.insert("collectionId".into(), c.id.clone().into());
    claims.insert("type".into(), kind.claim().into());
    let ttl = duration.unwrap_or_else(|| c.token_duration(kind.option()));
    claims.insert(
        "exp".into(),
        (time::OffsetDateTime::now_utc().unix_timestamp() + ttl).into(),
    );
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&secret_for(c, rec, kind)),
    )
    .map_err(|e| Error::Internal(format!("jwt: {e}")))
}

/// Issues an auth token for a record.
pub fn issue_token(
    c: &Collection,
    rec: &Map<String, Value>,
    refreshable: bool,
) -> Result<String, Error> {
    let mut extra = Map::new();
    extra.insert("refreshable".into(), refreshable.into());
    issue(c, rec, TokenKind::Auth, extra, None)
}

/// Verifies a token of `kind`: the identity it names and its claims.
/// Expired, tampered, revoked (tokenKey rotated) or wrong-type tokens give `None`.
pub fn verify(
    store: &Store,
    token: &str,
    kind: TokenKind,
) -> Option<(Identity, Map<String, Value>)> {
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return None;
    }
    // Read the claims first to find whose key verifies the signature.
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token).ok()?;
    let claim = |k: &str| unverified.claims.get(k).and_then(Value::as_str);
    if claim("type") != Some(kind.claim()) {
        return None;
    }
    let c = store.schema().get(claim("collectionId")?)?;
    if !c.is_auth() {
        return None;
    }
    let id = claim("id")?.to_owned();
    let rec = store.read(|conn| records::get(conn, &c, &id)).ok()??;
    let mut check = Validation::new(Algorithm::HS256);
    check.required_spec_claims.clear();
    check.required_spec_claims.insert("exp".into());
    check.leeway = 0;
    let verified = decode::<Map<String, Value>>(
        token,
        &DecodingKey::from_secret(&secret_for(&c, &rec, kind)),
        &check,
    )
    .ok()?;
    Some((
        Identity {
            collection: c,
            record: rec.into(),
        },
        verified.claims,
    ))
}

/// Resolves a bearer token to an identity and its claims; invalid tokens
/// give `None`.
pub fn verify_token(store: &Store, token: &str) -> Option<(Identity, Map<String, Value>)> {
    verify_auth(store, token).map(|(id, v)| (id, v.claims.clone()))
}

/// The actor a request's Authorization header stands for.
pub fn actor_from_header(store: &Store, header: Option<&str>) -> Actor {
    if let Some(key) = header.and_then(crate::service::access::api_keys::key_in) {
        return crate::service::access::api_keys::actor(store, key)
            .map(|(a, _)| a)
            .unwrap_or_default();
    }
    match header.and_then(|h| verify_auth(store, h)).map(|(id, _)| id) {
        Some(id) if id.collection.name == SUPERUSERS => Actor::Superuser(id),
        Some(id) => Actor::User(id),
        None => Actor::Guest,
    }
}

/// An auth token's identity and what verifying it found, through the
/// cache of tokens verified before ([`token_cache`] says why a hit is as
/// good as the full check).
fn verify_auth(store: &Store, token: &str) -> Option<(Identity, Arc<token_cache::Verified>)> {
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return None;
    }
    let key = token_cache::key(token);
    if let Some(v) = token_cache::get(&key) {
        if let Some(id) = cached(store, &v) {
            return Some((id, v));
        }
        token_cache::forget(&key);
    }
    let (id, claims) = verify(store, token, TokenKind::Auth)?;
    let secret = secret_for(&id.collection, &id.record, TokenKind::Auth);
    let v = Arc::new(token_cache::Verified::new(claims, &secret));
    token_cache::put(key, Arc::clone(&v));
    Some((id, v))
}

/// The identity a cached verification stands for, if it still holds: not
/// expired, the record still there and its signing key unchanged.
fn cached(store: &Store, v: &token_cache::Verified) -> Option<Identity> {
    if v.expired(time::OffsetDateTime::now_utc().unix_timestamp()) {
        return None;
    }
    let c = store.schema().get(v.collection_id())?;
    if !c.is_auth() {
        return None;
    }
    let rec = store
        .read(|conn| records::get(conn, &c, v.record_id()))
        .ok()??;
    v.signed_with(&secret_for(&c, &rec, TokenKind::Auth))
        .then(|| Identity {
            collection: c,
            record: rec.into(),
        })
}

/// `auth-with-password`: returns the identity on success.
pub async fn authenticate(
    store: &Store,
    c: Arc<Collection>,
    identity: &str,
    identity_field: Option<&str>,
    password: &str,
) -> Result<Identity, Error> {
    if !c.password_auth_enabled() {
        return Err(Error::Forbidden(
            "The collection is not configured to allow password authentication.",
        ));
    }
    let mut fields = c.identity_fields();
    if let Some(only) = identity_field {
        if !fields.iter().any(|f| f == only) {
            let mut data = Map::new();
            data.insert(
                "identityField".into(),
                crate::schema::validate::FieldError::new(
                    "validation_in_invalid",
                    "Must be a valid value.",
                )
                .to_json(),
            );
            return Err(Error::invalid(
                "An error occurred while validating the submitted data.",
                data,
            ));
        }
        fields = vec![only.to_owned()];
    }
    let found = store.read(|conn| {
        for f in &fields {
            if let Some(r) = records::find_by(conn, &c, f, identity)? {
                return Ok(Some(r));
            }
        }
        Ok::<_, StoreError>(None)
    })?;
    let hash = found
        .as_ref()
        .and_then(|r| r.get("password").and_then(Value::as_str).map(str::to_owned));
    let cost = password_cost(&c);
    let outcome = password::verify_password_cost(password.to_owned(), hash, cost).await;
    if identity.is_empty() || outcome == Verified::No {
        return Err(Error::bad("Failed to authenticate."));
    }
    let mut record = found.ok_or_else(|| Error::bad("Failed to authenticate."))?;
    if outcome == Verified::YesRehash {
        let hash = hash_password_cost(password.to_owned(), cost).await?;
        let (coll, rid) = (Arc::clone(&c), sys::text(&record, "id").to_owned());
        record = store
            .write(move |ctx| sys::update(ctx, &coll, &rid, &[("password", hash.into())]))
            .await?;
    }
    Ok(Identity {
        collection: c,
        record: record.into(),
    })
}

/// `auth-with-password`, then the sign-in completion (authRule, MFA,
/// origin). A bcrypt hash imported from PocketBase (or an argon2 hash with
/// old parameters) is replaced by a fresh argon2id hash on success; the
/// `tokenKey` stays, so existing sessions survive the upgrade.
pub async fn sign_in_with_password(
    app: &crate::app::App,
    c: Arc<Collection>,
    identity: &str,
    identity_field: Option<&str>,
    password: &str,
    mfa_id: Option<&str>,
    client: &login::Client,
) -> Result<Identity, Error> {
    let id = authenticate(&app.store, c, identity, identity_field, password).await?;
    login::complete(app, id, "password", mfa_id, client).await
}

/// The record of a sign-in's answer, presented to its own owner (a
/// superuser to itself), with that caller and its request context (for
/// `expand`).
pub fn own_view(
    store: &Store,
    id: &Identity,
) -> Result<(Value, Actor, crate::filter::ast::RequestInfo), Error> {
    let actor = if id.collection.name == SUPERUSERS {
        Actor::Superuser(id.clone())
    } else {
        Actor::User(id.clone())
    };
    let req = super::rules::request_info(store, &actor, "POST", Map::new(), Map::new());
    let record = super::records::present(store, &id.collection, &id.record, &actor, &req, false)?;
    Ok((record, actor, req))
}
