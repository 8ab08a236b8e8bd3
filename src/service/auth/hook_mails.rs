//! `$mails.sendRecord…` for `pb_hooks`: one auth mail of a record, sent
//! now, with the flow's token and the collection's template, as
//! PocketBase's `mails` package does. None of the REST request checks
//! apply (resend throttle, already verified, superusers): the hook decides.
//! The hook runs the mailer hooks and sends (`plugins/hooks/mailer.rs`),
//! synchronously, so an SMTP failure is thrown to the hook.

use std::sync::Arc;

use serde_json::Map;

use super::mail::Composed;
use super::{TokenKind, issue, mail, sys};
use crate::app::App;
use crate::schema::Collection;
use crate::service::{Error, Identity};
use crate::store::records;

/// Which mail.
pub enum RecordMail {
    PasswordReset,
    Verification,
    /// To the new address, with a token naming it.
    EmailChange(String),
    /// An OTP the hook created: its id and code.
    Otp {
        id: String,
        pass: String,
    },
    /// A login alert with the given location text.
    AuthAlert(String),
}

/// Composes `what` for record `record_id` of `c`.
pub fn compose(
    app: &App,
    c: &Arc<Collection>,
    record_id: &str,
    what: RecordMail,
) -> Result<Composed, Error> {
    if !c.is_auth() {
        return Err(Error::bad("The collection is not an auth collection."));
    }
    let record = app
        .store
        .read(|conn| records::find_by(conn, c, "id", record_id))?
        .ok_or_else(Error::missing_record)?;
    let id = Identity {
        collection: Arc::clone(c),
        record: record.into(),
    };
    let mut claims = Map::new();
    claims.insert("email".into(), sys::text(&id.record, "email").into());
    let token = |kind, claims| issue(c, &id.record, kind, claims, None);
    let composed = match what {
        RecordMail::PasswordReset => {
            let t = token(TokenKind::PasswordReset, claims)?;
            mail::compose(app, &id, "resetPasswordTemplate", None, |v| v.token = t)
        }
        RecordMail::Verification => {
            let t = token(TokenKind::Verification, claims)?;
            mail::compose(app, &id, "verificationTemplate", None, |v| v.token = t)
        }
        RecordMail::EmailChange(new_email) => {
            super::flows::check_email("newEmail", &new_email)?;
            claims.insert("newEmail".into(), new_email.clone().into());
            let t = token(TokenKind::EmailChange, claims)?;
            let to = Some(new_email);
            mail::compose(app, &id, "confirmEmailChangeTemplate", to, |v| v.token = t)
        }
        RecordMail::Otp { id: otp_id, pass } => mail::compose(app, &id, "otp", None, |v| {
            v.otp = pass;
            v.otp_id = otp_id;
        }),
        RecordMail::AuthAlert(info) => {
            mail::compose(app, &id, "authAlert", None, |v| v.alert_info = info)
        }
    };
    composed.ok_or_else(|| {
        Error::bad("The record has no email address or the collection no mail template.")
    })
}
