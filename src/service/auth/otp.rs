//! One-time passwords by mail (`request-otp`, `auth-with-otp`), stored in
//! `_otps` like PocketBase: the code is hashed, single-use and expires after
//! the collection's `otp.duration`.

use std::sync::Arc;

use rand::RngExt;
use serde_json::Value;

use super::flows::check_email;
use super::login::expired;
use super::sys::{self, OTPS};
use super::{Verified, hash_password, mail, verify_password};
use crate::app::App;
use crate::schema::{Collection, names};
use crate::service::{Error, Identity};
use crate::store::records;

fn otp_option(c: &Collection, k: &str) -> Option<i64> {
    c.options
        .get("otp")
        .and_then(|o| o.get(k))
        .and_then(Value::as_i64)
}

pub fn otp_enabled(c: &Collection) -> bool {
    c.options
        .get("otp")
        .and_then(|o| o.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true)
}

fn require_enabled(c: &Collection) -> Result<(), Error> {
    if otp_enabled(c) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "The collection is not configured to allow OTP authentication.",
        ))
    }
}

/// `request-otp`: mails a code and answers its id. Unknown emails get an
/// id too (for nothing), so the answer does not tell who has an account.
pub async fn request(app: &App, c: &Arc<Collection>, email: &str) -> Result<String, Error> {
    require_enabled(c)?;
    check_email("email", email)?;
    let found = app
        .store
        .read(|conn| records::find_by(conn, c, "email", email))?;
    let Some(record) = found else {
        return Ok(names::new_record_id());
    };
    let len = otp_option(c, "length").unwrap_or(8).clamp(4, 32) as usize;
    let code: String = {
        let mut rng = rand::rng();
        (0..len)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let hash = hash_password(code.clone()).await?;
    let otps = sys::collection(&app.store, OTPS)?;
    let (coll, rid, sent_to) = (
        c.id.clone(),
        sys::text(&record, "id").to_owned(),
        sys::text(&record, "email").to_owned(),
    );
    let row = app
        .store
        .write(move |ctx| {
            sys::insert(
                ctx,
                &otps,
                &[
                    ("collectionRef", coll.into()),
                    ("recordRef", rid.into()),
                    ("password", hash.into()),
                    ("sentTo", sent_to.into()),
                ],
            )
        })
        .await?;
    let otp_id = sys::text(&row, "id").to_owned();
    let id = Identity {
        collection: Arc::clone(c),
        record: record.into(),
    };
    let oid = otp_id.clone();
    mail::send_template(app, &id, "otp", |v| {
        v.otp = code;
        v.otp_id = oid;
    });
    Ok(otp_id)
}

/// Attempts (right or wrong) per record within one OTP lifetime.
const MAX_ATTEMPTS: usize = 5;

/// `auth-with-otp`: checks the code and consumes it. A code sent to an
/// unverified record's current email verifies it and, like PocketBase,
/// replaces its password with a random one (whoever set it may not own the
/// address), which also ends its other sessions.
pub async fn authenticate(
    app: &App,
    c: Arc<Collection>,
    otp_id: &str,
    code: &str,
) -> Result<Identity, Error> {
    const FAILED: &str = "Invalid or expired OTP.";
    require_enabled(&c)?;
    let otps = sys::collection(&app.store, OTPS)?;
    let row = app.store.read(|conn| records::get(conn, &otps, otp_id))?;
    let duration = otp_option(&c, "duration").unwrap_or(180);
    let row = row.filter(|r| {
        sys::text(r, "collectionRef") == c.id && !expired(sys::text(r, "created"), duration)
    });
    if let Some(r) = &row {
        let key = format!("otp\0{}\0{}", c.id, sys::text(r, "recordRef"));
        let window = std::time::Duration::from_secs(duration.max(1) as u64);
        if !app.throttle.allow(&key, MAX_ATTEMPTS, window) {
            let body = serde_json::json!({
                "data": {},
                "message": "Too many attempts, please try again later with a new OTP.",
                "status": 429
            });
            return Err(Error::Raw(
                429,
                body.as_object().cloned().unwrap_or_default(),
            ));
        }
    }
    let hash = row.as_ref().map(|r| sys::text(r, "password").to_owned());
    if code.is_empty() || verify_password(code.to_owned(), hash).await == Verified::No {
        return Err(Error::bad(FAILED));
    }
    let row = row.ok_or_else(|| Error::bad(FAILED))?;
    let rid = sys::text(&row, "recordRef").to_owned();
    let record = app
        .store
        .read(|conn| records::get(conn, &c, &rid))?
        .ok_or_else(|| Error::bad(FAILED))?;
    let verify = sys::text(&row, "sentTo") == sys::text(&record, "email")
        && record.get("verified").and_then(Value::as_bool) != Some(true);
    let (oid, coll) = (otp_id.to_owned(), Arc::clone(&c));
    let record = app
        .store
        .write(move |ctx| {
            // Consumed: a second use of the same id finds nothing.
            if records::get(ctx.conn, &otps, &oid)?.is_none() {
                return Err(Error::bad(FAILED));
            }
            sys::delete(ctx, &otps, &oid)?;
            Ok(record)
        })
        .await?;
    let id = Identity {
        collection: Arc::clone(&coll),
        record: record.into(),
    };
    if !verify {
        return Ok(id);
    }
    let hash = hash_password(names::random_secret(30)).await?;
    super::flows::set_password(app, &id, hash, true).await?;
    let record = app
        .store
        .read(|conn| records::get(conn, &coll, &rid))?
        .ok_or_else(|| Error::bad(FAILED))?;
    Ok(Identity {
        collection: coll,
        record: record.into(),
    })
}
