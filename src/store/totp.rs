//! `_totp`: authenticator-app enrolments (Cairn's TOTP extension), one row
//! per auth record. Not a collection: secrets never pass through the
//! records API or `_changes`.

use super::StoreError;
use super::sql::{Db, Val};

/// One enrolment. `recovery` holds SHA-256 hex digests of unused codes.
#[derive(Debug, Clone, Default)]
pub struct Enrolment {
    pub collection: String,
    pub record: String,
    pub secret: String,
    pub confirmed: bool,
    pub last_step: i64,
    pub recovery: Vec<String>,
}

pub fn get(db: &dyn Db, collection: &str, record: &str) -> Result<Option<Enrolment>, StoreError> {
    db.row(
        "SELECT secret, confirmed, lastStep, recovery FROM _totp
         WHERE collectionRef = ?1 AND recordRef = ?2",
        &[Val::Text(collection), Val::Text(record)],
        |r| {
            Ok(Enrolment {
                collection: collection.to_owned(),
                record: record.to_owned(),
                secret: r.text(0)?,
                confirmed: r.bool(1)?,
                last_step: r.int(2)?,
                recovery: serde_json::from_str(&r.text(3)?).unwrap_or_default(),
            })
        },
    )
}

pub fn put(db: &dyn Db, e: &Enrolment, now: &str) -> Result<(), StoreError> {
    let recovery = serde_json::to_string(&e.recovery).unwrap_or_else(|_| "[]".into());
    db.exec(
        "INSERT INTO _totp (collectionRef, recordRef, secret, confirmed, lastStep, recovery, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(collectionRef, recordRef) DO UPDATE SET secret = excluded.secret,
           confirmed = excluded.confirmed, lastStep = excluded.lastStep, recovery = excluded.recovery",
        &[
            Val::Text(&e.collection),
            Val::Text(&e.record),
            Val::Text(&e.secret),
            e.confirmed.into(),
            Val::Int(e.last_step),
            Val::Text(&recovery),
            Val::Text(now),
        ],
    )?;
    Ok(())
}

pub fn delete(db: &dyn Db, collection: &str, record: &str) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM _totp WHERE collectionRef = ?1 AND recordRef = ?2",
        &[Val::Text(collection), Val::Text(record)],
    )?;
    Ok(())
}
