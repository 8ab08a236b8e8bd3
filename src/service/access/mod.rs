//! Cairn's access-control collections: roles, role assignments, named
//! policies, API keys and superuser scopes (`scopes.rs`).
//!
//! They are ordinary system collections, managed through the records API
//! (and the dashboard) like PocketBase's `_externalAuths`; this module adds
//! what a generic record write cannot know: references to auth records are
//! checked and stored by collection id, policies must parse, reference only
//! existing policies, form no cycle and keep every rule that uses them
//! compiling, a policy in use cannot be renamed or deleted, and an API key
//! is generated on the server and only its digest stored.

pub mod api_keys;
pub mod policies;
pub mod scopes;

use serde_json::{Map, Value};

use super::Error;
use crate::schema::Collection;
use crate::schema::system::{API_KEYS, POLICIES, ROLE_ASSIGNMENTS};
use crate::schema::validate::FieldError;
use crate::service::auth::sys::text;
use crate::store::Schema;
use crate::store::records::{self, Row_};

fn field_err(field: &str, code: &'static str, message: &str) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert(field.into(), FieldError::new(code, message).to_json());
    data
}

/// Checks an access-control record inside its write job, just before it is
/// stored (`old` is the stored version on update).
pub fn before_write(
    conn: &crate::store::Conn,
    schema: &Schema,
    c: &Collection,
    rec: &mut Row_,
    old: Option<&Row_>,
) -> Result<(), Error> {
    if !c.system {
        return Ok(());
    }
    let fail = if old.is_some() {
        "Failed to update record."
    } else {
        "Failed to create record."
    };
    match c.name.as_str() {
        ROLE_ASSIGNMENTS => bind_auth_record(conn, schema, rec, fail),
        API_KEYS => {
            match old {
                // The binding and the secret never change after creation.
                Some(old) => {
                    for k in [
                        "collectionRef",
                        "recordRef",
                        "keyHash",
                        "prefix",
                        "lastUsed",
                    ] {
                        rec.insert(k.into(), old.get(k).cloned().unwrap_or_default());
                    }
                }
                None => {
                    bind_auth_record(conn, schema, rec, fail)?;
                    api_keys::issue(rec);
                }
            }
            Ok(())
        }
        POLICIES => policies::check_save(conn, schema, rec, old, fail),
        scopes::SCOPES => scopes::check_save(schema, rec, fail),
        _ => Ok(()),
    }
}

/// Refuses deleting a policy that is in use (inside the delete job).
pub fn before_delete(
    conn: &crate::store::Conn,
    schema: &Schema,
    c: &Collection,
    rec: &Row_,
) -> Result<(), Error> {
    if c.system && c.name == POLICIES {
        let name = text(rec, "name");
        let users = policies::used_by(conn, schema, name, Some(text(rec, "id")))?;
        if !users.is_empty() {
            return Err(Error::invalid(
                "The policy is in use and cannot be deleted.",
                field_err(
                    "name",
                    "validation_policy_in_use",
                    &format!("In use by: {}.", users.join(", ")),
                ),
            ));
        }
    }
    Ok(())
}

/// Adds what only the creation answer shows (a new API key's plain text).
pub fn after_create(key: Option<Value>, out: &mut Value) {
    if let (Some(key), Value::Object(m)) = (key, out) {
        m.insert("key".into(), key);
    }
}

/// What [`after_create`] adds to a new record of `c` (`rec` as written):
/// an API key's plain key, shown once.
pub fn created_key(c: &Collection, rec: &Row_) -> Option<Value> {
    (c.system && c.name == API_KEYS)
        .then(|| rec.get("key").cloned())
        .flatten()
}

/// `collectionRef` (id or name of an auth collection, stored as the id) and
/// `recordRef` (an existing record of it).
fn bind_auth_record(
    conn: &crate::store::Conn,
    schema: &Schema,
    rec: &mut Row_,
    fail: &str,
) -> Result<(), Error> {
    let coll = schema
        .get(text(rec, "collectionRef"))
        .filter(|c| c.is_auth());
    let Some(coll) = coll else {
        return Err(Error::invalid(
            fail,
            field_err(
                "collectionRef",
                "validation_invalid_collection",
                "Must be the id or name of an auth collection.",
            ),
        ));
    };
    if records::get(conn, &coll, text(rec, "recordRef"))?.is_none() {
        return Err(Error::invalid(
            fail,
            field_err(
                "recordRef",
                "validation_missing_record",
                "No such record in the referenced collection.",
            ),
        ));
    }
    rec.insert("collectionRef".into(), coll.id.clone().into());
    Ok(())
}
