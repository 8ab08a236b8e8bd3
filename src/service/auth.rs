//! Passwords, tokens and superuser sign-in.
//!
//! Tokens are HS256 JWTs signed with the record's `tokenKey` plus the
//! collection's secret for that token type, so rotating a record's
//! `tokenKey` (password change) revokes every token issued before.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Actor, Error, Identity};
use crate::schema::system::SUPERUSERS;
use crate::schema::{Collection, datetime, names, validate};
use crate::store::records::{self, Action};
use crate::store::{Store, StoreError};

/// JWT claims, PocketBase's shape (the SDK decodes them client-side).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub id: String,
    pub collection_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub refreshable: bool,
    pub exp: i64,
}

/// Hashes a password with argon2id off the async threads.
pub async fn hash_password(plain: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(plain.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hash: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Verifies a password against a stored PHC hash, off the async threads.
/// Unknown identities verify against a dummy hash so timing does not tell.
pub async fn verify_password(plain: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let dummy = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4BpJ7Q/6bHqRWs2QDbC4ouZKZx6D8TWh8oMzu0lQbH0";
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy.to_owned());
        let ok = PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(plain.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn secret_for(c: &Collection, rec: &Map<String, Value>, token: &str) -> Vec<u8> {
    let key = rec
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{key}{}", c.token_secret(token)).into_bytes()
}

/// Issues an auth token for a record.
pub fn issue_token(
    c: &Collection,
    rec: &Map<String, Value>,
    refreshable: bool,
) -> Result<String, Error> {
    let claims = Claims {
        id: rec
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        collection_id: c.id.clone(),
        kind: "auth".into(),
        refreshable,
        exp: time::OffsetDateTime::now_utc().unix_timestamp() + c.token_duration("authToken"),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&secret_for(c, rec, "authToken")),
    )
    .map_err(|e| Error::Internal(format!("jwt: {e}")))
}

/// Resolves a bearer token to an identity; invalid tokens give `None`.
pub fn verify_token(store: &Store, token: &str) -> Option<(Identity, Claims)> {
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return None;
    }
    // Read the claims first to find whose key verifies the signature.
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(token).ok()?;
    let c = store.schema().get(&unverified.claims.collection_id)?;
    if !c.is_auth() || unverified.claims.kind != "auth" {
        return None;
    }
    let rec = store
        .read(|conn| records::get(conn, &c, &unverified.claims.id))
        .ok()??;
    let mut check = Validation::new(Algorithm::HS256);
    check.required_spec_claims.clear();
    check.leeway = 0;
    let verified = decode::<Claims>(
        token,
        &DecodingKey::from_secret(&secret_for(&c, &rec, "authToken")),
        &check,
    )
    .ok()?;
    Some((
        Identity {
            collection: c,
            record: rec,
        },
        verified.claims,
    ))
}

/// The actor a request's Authorization header stands for.
pub fn actor_from_header(store: &Store, header: Option<&str>) -> Actor {
    match header.and_then(|h| verify_token(store, h)) {
        Some((id, _)) if id.collection.name == SUPERUSERS => Actor::Superuser(id),
        Some((id, _)) => Actor::User(id),
        None => Actor::Guest,
    }
}

/// `auth-with-password`: returns the identity on success.
pub async fn authenticate(
    store: &Store,
    c: Arc<Collection>,
    identity: &str,
    password: &str,
) -> Result<Identity, Error> {
    if !c.password_auth_enabled() {
        return Err(Error::Forbidden(
            "The collection is not configured to allow password authentication.",
        ));
    }
    let fields = c.identity_fields();
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
    if identity.is_empty() || !verify_password(password.to_owned(), hash).await {
        return Err(Error::bad("Failed to authenticate."));
    }
    let record = found.ok_or_else(|| Error::bad("Failed to authenticate."))?;
    Ok(Identity {
        collection: c,
        record,
    })
}

/// Creates or updates a superuser (the CLI's `superuser upsert/create/update`).
/// Changing the password rotates the token key, revoking old tokens.
pub async fn upsert_superuser(
    store: &Store,
    email: &str,
    password: &str,
    mode: UpsertMode,
) -> Result<(), Error> {
    if !validate::is_email(email) {
        return Err(Error::bad("Invalid email address."));
    }
    if password.chars().count() < 8 {
        return Err(Error::bad("The password must be at least 8 characters."));
    }
    let c = store
        .schema()
        .get(SUPERUSERS)
        .ok_or_else(|| Error::Internal("missing _superusers".into()))?;
    let hash = hash_password(password.to_owned()).await?;
    let email = email.to_owned();
    store
        .write(move |ctx| {
            let now = datetime::now();
            let existing = records::find_by(ctx.conn, &c, "email", &email)?;
            match (existing, mode) {
                (Some(_), UpsertMode::Create) => {
                    Err(Error::bad("A superuser with this email already exists."))
                }
                (None, UpsertMode::Update) => Err(Error::NotFound("No superuser with this email.")),
                (Some(mut rec), _) => {
                    rec.insert("password".into(), hash.into());
                    rec.insert("tokenKey".into(), names::random_secret(50).into());
                    rec.insert("updated".into(), now.into());
                    let id = rec
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    records::update(ctx.conn, &c, &id, &rec)?;
                    records::append_change(ctx, &c, &id, Action::Update, &rec)?;
                    Ok(())
                }
                (None, _) => {
                    let id = names::new_record_id();
                    let mut rec = Map::new();
                    for f in &c.fields {
                        rec.insert(f.name.clone(), f.kind.zero_value());
                    }
                    rec.insert("id".into(), id.clone().into());
                    rec.insert("email".into(), email.clone().into());
                    rec.insert("password".into(), hash.into());
                    rec.insert("tokenKey".into(), names::random_secret(50).into());
                    rec.insert("verified".into(), true.into());
                    rec.insert("created".into(), now.clone().into());
                    rec.insert("updated".into(), now.into());
                    records::insert(ctx.conn, &c, &rec)?;
                    records::append_change(ctx, &c, &id, Action::Create, &rec)?;
                    Ok(())
                }
            }
        })
        .await
}

/// Deletes a superuser by email.
pub async fn delete_superuser(store: &Store, email: &str) -> Result<(), Error> {
    let c = store
        .schema()
        .get(SUPERUSERS)
        .ok_or_else(|| Error::Internal("missing _superusers".into()))?;
    let email = email.to_owned();
    store
        .write(move |ctx| {
            let rec = records::find_by(ctx.conn, &c, "email", &email)?
                .ok_or(Error::NotFound("No superuser with this email."))?;
            let id = rec
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            records::delete(ctx.conn, &c, &id)?;
            records::append_change(ctx, &c, &id, Action::Delete, &rec)?;
            Ok(())
        })
        .await
}

/// What `upsert_superuser` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertMode {
    Upsert,
    Create,
    Update,
}
