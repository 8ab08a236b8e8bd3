//! Rows of the auth system collections (`_otps`, `_mfas`, `_authOrigins`,
//! `_externalAuths`), written like any record: same table layout as
//! PocketBase, and every change goes to `_changes`.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::schema::{Collection, datetime, names};
use crate::service::Error;
use crate::store::records::{self, Action, Row_};
use crate::store::{Store, WriteCtx};

pub const OTPS: &str = "_otps";
pub const MFAS: &str = "_mfas";
pub const ORIGINS: &str = "_authOrigins";
pub const EXTERNAL_AUTHS: &str = "_externalAuths";

pub fn collection(store: &Store, name: &str) -> Result<Arc<Collection>, Error> {
    store
        .schema()
        .get(name)
        .ok_or_else(|| Error::Internal(format!("missing system collection {name}")))
}

/// Inserts a row with the given fields (plus id and timestamps); returns it.
pub fn insert(
    ctx: &mut WriteCtx<'_>,
    c: &Collection,
    fields: &[(&str, Value)],
) -> Result<Row_, Error> {
    let now = datetime::now();
    let mut rec = Map::new();
    for f in &c.fields {
        rec.insert(f.name.clone(), f.kind.zero_value());
    }
    let id = names::new_record_id();
    rec.insert("id".into(), id.clone().into());
    rec.insert("created".into(), now.clone().into());
    rec.insert("updated".into(), now.into());
    for (k, v) in fields {
        rec.insert((*k).to_owned(), v.clone());
    }
    records::insert(ctx.conn, c, &rec)?;
    records::append_change(ctx, c, &id, Action::Create, &rec)?;
    Ok(rec)
}

/// Deletes a row by id (no-op when already gone).
pub fn delete(ctx: &mut WriteCtx<'_>, c: &Collection, id: &str) -> Result<(), Error> {
    if let Some(rec) = records::get(ctx.conn, c, id)? {
        records::delete(ctx.conn, c, id)?;
        records::append_change(ctx, c, id, Action::Delete, &rec)?;
    }
    Ok(())
}

/// Sets fields on a record of any collection (auth records included) and
/// logs the change; returns the updated record.
pub fn update(
    ctx: &mut WriteCtx<'_>,
    c: &Collection,
    id: &str,
    fields: &[(&str, Value)],
) -> Result<Row_, Error> {
    let mut rec = records::get(ctx.conn, c, id)?.ok_or_else(Error::missing_record)?;
    let old = rec.clone();
    for (k, v) in fields {
        rec.insert((*k).to_owned(), v.clone());
    }
    if c.field("updated").is_some() {
        rec.insert("updated".into(), datetime::now().into());
    }
    records::update(ctx.conn, c, id, &rec)?;
    records::append_update(ctx, c, id, &old, &rec)?;
    Ok(rec)
}

/// The string value of a row field.
pub fn text<'a>(rec: &'a Row_, k: &str) -> &'a str {
    rec.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Deletes the rows of system collection `name` that belong to a record.
pub fn delete_for_record(
    ctx: &mut WriteCtx<'_>,
    schema: &crate::store::Schema,
    name: &str,
    collection_id: &str,
    record_id: &str,
) -> Result<(), Error> {
    let Some(c) = schema.get(name) else {
        return Ok(());
    };
    let rows = records::find_all(
        ctx.conn,
        &c,
        &[("collectionRef", collection_id), ("recordRef", record_id)],
        10_000,
    )?;
    for r in rows {
        delete(ctx, &c, text(&r, "id"))?;
    }
    Ok(())
}

/// An auth record is being deleted: its OTPs, MFA sessions, origins,
/// linked accounts, authenticator enrolment, role assignments and API keys
/// go with it.
pub fn forget_record(
    ctx: &mut WriteCtx<'_>,
    schema: &crate::store::Schema,
    collection_id: &str,
    record_id: &str,
) -> Result<(), Error> {
    use crate::schema::system::{API_KEYS, ROLE_ASSIGNMENTS};
    for name in [
        OTPS,
        MFAS,
        ORIGINS,
        EXTERNAL_AUTHS,
        ROLE_ASSIGNMENTS,
        API_KEYS,
    ] {
        delete_for_record(ctx, schema, name, collection_id, record_id)?;
    }
    crate::store::totp::delete(ctx.conn, collection_id, record_id)?;
    Ok(())
}
