//! Superuser management for the CLI (`superuser upsert|create|update|delete`),
//! which works while `serve` runs: the change goes through the same store.

use serde_json::{Map, Value};

use crate::schema::system::SUPERUSERS;
use crate::schema::{datetime, names, validate};
use crate::service::Error;
use crate::store::Store;
use crate::store::records::{self, Action};

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
    let hash = super::hash_password_cost(password.to_owned(), super::password_cost(&c)).await?;
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
                    let old = rec.clone();
                    rec.insert("password".into(), hash.into());
                    rec.insert("tokenKey".into(), names::random_secret(50).into());
                    rec.insert("updated".into(), now.into());
                    let id = rec
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    records::update(ctx.conn, &c, &id, &rec)?;
                    records::append_update(ctx, &c, &id, &old, &rec)?;
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
        .write_again(move |ctx| {
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
