//! What a caller who is neither superuser nor manager may change on an auth
//! record (PocketBase's rules): `email` and `verified` only through their
//! flows, and a new `password` only with the right `oldPassword`.
//! A manager is whoever satisfies the collection's `manageRule` for the
//! record; managers change all three freely.

use crate::store::Conn;
use serde_json::{Map, Value};

use super::{Gate, Input, passes};
use crate::filter::ast::RequestInfo;
use crate::schema::validate::FieldError;
use crate::schema::{Access, Collection, value};
use crate::service::auth::{Verified, verify_password};
use crate::service::{Actor, Error, rules};
use crate::store::records::Row_;
use crate::store::{Schema, Store};

/// Does `actor` manage record `id` (its collection's `manageRule`)?
/// Checked for single-record answers (view, update), where it decides
/// whether the email is shown.
pub(super) fn manages(
    store: &Store,
    c: &Collection,
    actor: &Actor,
    req: &RequestInfo,
    id: &str,
) -> Result<bool, Error> {
    if !c.is_auth() || actor.identity().is_none() || actor.is_superuser() {
        return Ok(false);
    }
    match c.auth_rule("manageRule") {
        Access::Superusers => Ok(false),
        Access::Anyone => Ok(true),
        Access::Rule(text) => {
            let w = rules::rule(&store.schema(), c, &text, req, 1);
            Ok(store
                .read(|conn| crate::store::records::get_where(conn, c, id, &w))?
                .is_some())
        }
    }
}

#[derive(Clone)]
pub(super) struct AuthRights {
    /// `None`: nobody manages (null rule).
    manage: Option<Gate>,
    /// Whether `oldPassword` matched; `None` when it was not sent.
    old_password: Option<bool>,
}

impl AuthRights {
    /// Prepared outside the writer: the manage rule compiled and the old
    /// password checked (argon2 is too slow for the writer thread).
    pub(super) async fn prepare(
        store: &Store,
        schema: &Schema,
        c: &Collection,
        actor: &Actor,
        req: &RequestInfo,
        id: &str,
        input: &Input,
    ) -> Result<Option<Self>, Error> {
        if !c.is_auth() || actor.is_superuser() {
            return Ok(None);
        }
        let manage = match c.auth_rule("manageRule") {
            Access::Superusers => None,
            Access::Anyone => Some(Gate::Allow),
            Access::Rule(text) => Some(Gate::Rule(rules::rule(schema, c, &text, req, 1))),
        };
        let changing_password = input
            .get("password")
            .is_some_and(|v| !value::coerce_text(v).is_empty());
        let old = input
            .get("oldPassword")
            .map(value::coerce_text)
            .unwrap_or_default();
        let old_password = if changing_password && !old.is_empty() {
            let stored = store.read(|conn| crate::store::records::get(conn, c, id))?;
            let hash = stored
                .as_ref()
                .and_then(|r| r.get("password").and_then(Value::as_str).map(str::to_owned));
            Some(verify_password(old, hash).await != Verified::No)
        } else {
            None
        };
        Ok(Some(Self {
            manage,
            old_password,
        }))
    }

    /// Inside the job: adds PocketBase's field errors for forbidden changes.
    pub(super) fn check(
        &self,
        conn: &Conn,
        c: &Collection,
        id: &str,
        old: &Row_,
        input: &Input,
        errors: &mut Map<String, Value>,
    ) -> Result<(), Error> {
        let manager = match &self.manage {
            Some(g) => passes(conn, c, id, g)?,
            None => false,
        };
        if manager {
            return Ok(());
        }
        let mismatch =
            || FieldError::new("validation_values_mismatch", "Values don't match.").to_json();
        for key in ["email", "verified"] {
            if let (Some(v), Some(f)) = (input.get(key), c.field(key)) {
                let new = value::coerce(f, v);
                if old.get(key).is_some_and(|o| *o != new) {
                    errors.insert(key.into(), mismatch());
                }
            }
        }
        let changing_password = input
            .get("password")
            .is_some_and(|v| !value::coerce_text(v).is_empty());
        if changing_password {
            match self.old_password {
                None => {
                    errors.insert("oldPassword".into(), FieldError::required().to_json());
                }
                Some(false) => {
                    errors.insert(
                        "oldPassword".into(),
                        FieldError::new(
                            "validation_invalid_old_password",
                            "Missing or invalid old password.",
                        )
                        .to_json(),
                    );
                }
                Some(true) => {}
            }
        }
        Ok(())
    }
}
