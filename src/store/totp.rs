//! `_totp`: authenticator-app enrolments (Cairn's TOTP extension), one row
//! per auth record. Not a collection: secrets never pass through the
//! records API or `_changes`.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

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

pub fn get(
    conn: &Connection,
    collection: &str,
    record: &str,
) -> Result<Option<Enrolment>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT secret, confirmed, lastStep, recovery FROM _totp
         WHERE collectionRef = ?1 AND recordRef = ?2",
    )?;
    let row = stmt
        .query_row(params![collection, record], |r| {
            let recovery: String = r.get(3)?;
            Ok(Enrolment {
                collection: collection.to_owned(),
                record: record.to_owned(),
                secret: r.get(0)?,
                confirmed: r.get(1)?,
                last_step: r.get(2)?,
                recovery: serde_json::from_str(&recovery).unwrap_or_default(),
            })
        })
        .optional()?;
    Ok(row)
}

pub fn put(conn: &Connection, e: &Enrolment, now: &str) -> Result<(), StoreError> {
    let recovery = serde_json::to_string(&e.recovery).unwrap_or_else(|_| "[]".into());
    conn.execute(
        "INSERT INTO _totp (collectionRef, recordRef, secret, confirmed, lastStep, recovery, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(collectionRef, recordRef) DO UPDATE SET secret = excluded.secret,
           confirmed = excluded.confirmed, lastStep = excluded.lastStep, recovery = excluded.recovery",
        params![e.collection, e.record, e.secret, e.confirmed, e.last_step, recovery, now],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, collection: &str, record: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM _totp WHERE collectionRef = ?1 AND recordRef = ?2",
        params![collection, record],
    )?;
    Ok(())
}
