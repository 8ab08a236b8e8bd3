//! PocketBase's mailer hooks: `onMailerRecord{PasswordReset,Verification,
//! EmailChange,OTP,AuthAlert}Send` (tagged by collection) around each auth
//! mail and `onMailerSend` around every send, with PocketBase's event
//! (`e.message`, `e.record`, `e.meta`, `e.mailer`). The chain runs in one
//! engine and its last step sends (`mailer.send`), so code after
//! `e.next()` sees the send done, and a handler that does not call
//! `e.next()` stops the mail, as in PocketBase.
//!
//! The REST flows send in the background (as PocketBase does): with a
//! mailer hook loaded, the composed mail goes to a worker instead of the
//! mail queue, and a throwing hook is logged. `$mails` runs the same chain
//! in the calling handler's engine, so its errors reach the handler.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::App;
use crate::mail::{Address, Envelope, Mail};
use crate::plugins::runtime::HostError;
use crate::service::Identity;
use crate::service::auth::mail::Composed;

/// The record hook fired for the mail of template `key`.
pub fn hook_of(key: &str) -> &'static str {
    match key {
        "verificationTemplate" => "onMailerRecordVerificationSend",
        "resetPasswordTemplate" => "onMailerRecordPasswordResetSend",
        "confirmEmailChangeTemplate" => "onMailerRecordEmailChangeSend",
        "otp" => "onMailerRecordOTPSend",
        _ => "onMailerRecordAuthAlertSend",
    }
}

/// Gives an auth mail of the REST flows to the mailer hooks, when one is
/// loaded; otherwise hands it back to be sent as usual.
pub fn hand_over(app: &App, id: &Identity, composed: Composed) -> Option<Composed> {
    let Some(hooks) = app.hooks.get() else {
        return Some(composed);
    };
    let generation = hooks.current();
    let name = hook_of(&composed.key);
    if !generation.hook_names.contains(name) && !generation.hook_names.contains("onMailerSend") {
        return Some(composed);
    }
    let schema = app.store.schema();
    let payload = json!({
        "name": name,
        "collection": id.collection.to_json(),
        "record": crate::plugins::conn_host::public(&schema, &id.collection, &id.record),
        "message": message_json(&app.settings(), &composed.mail),
        "meta": composed.meta,
    })
    .to_string();
    let hooks = Arc::clone(hooks);
    tokio::spawn(async move {
        if let Err(e) = hooks.call(generation, "__runMailerRecord", payload).await {
            tracing::warn!(hook = name, error = %e, "mail not sent");
        }
    });
    None
}

/// PocketBase's `mailer.Message` of a composed mail (sender from settings).
pub fn message_json(settings: &Value, mail: &Mail) -> Value {
    let meta = |k: &str| settings["meta"][k].as_str().unwrap_or_default().to_owned();
    json!({
        "from": {"address": meta("senderAddress"), "name": meta("senderName")},
        "to": [{"address": mail.to, "name": ""}],
        "bcc": [], "cc": [],
        "subject": mail.subject,
        "html": mail.html,
        "text": "",
        "headers": {},
        "attachments": {},
        "inlineAttachments": {},
    })
}

/// The mail a hook's message describes. Attachments are refused by name.
pub fn mail_of(m: &Value) -> Result<Mail, HostError> {
    for k in ["attachments", "inlineAttachments"] {
        if m[k].as_object().is_some_and(|o| !o.is_empty()) {
            return Err(HostError::new(
                400,
                format!("mail {k} are not supported by Cairn's PocketBase compatibility layer"),
            ));
        }
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let address = |v: &Value| Address {
        name: text(&v["name"]),
        address: text(&v["address"]),
    };
    let list = |k: &str| -> Vec<Address> {
        m[k].as_array()
            .map(|a| a.iter().map(address).collect())
            .unwrap_or_default()
    };
    let to = list("to");
    let first = to
        .first()
        .map(|a| a.address.clone())
        .ok_or_else(|| HostError::new(400, "mail: the message has no recipients"))?;
    let headers = m["headers"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    Ok(Mail {
        to: first,
        subject: text(&m["subject"]),
        html: text(&m["html"]),
        more: Some(Box::new(Envelope {
            from: address(&m["from"]),
            to,
            cc: list("cc"),
            bcc: list("bcc"),
            text: text(&m["text"]),
            headers,
        })),
    })
}

/// `mailer.send`: sends a hook's message now and waits for the server.
pub fn send(app: &App, rt: &tokio::runtime::Handle, message: &Value) -> Result<Value, HostError> {
    let mail = mail_of(message)?;
    rt.block_on(crate::mail::send_via(
        &app.settings(),
        &app.config.sendmail,
        &mail,
    ))
    .map_err(|e| HostError::new(400, e))?;
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_attachments_are_refused() {
        let mail = Mail {
            to: "a@x.test".into(),
            subject: "s".into(),
            html: "<p>h</p>".into(),
            more: None,
        };
        let settings = json!({"meta": {"senderAddress": "bot@x.test", "senderName": "Bot"}});
        let mut m = message_json(&settings, &mail);
        m["to"]
            .as_array_mut()
            .unwrap()
            .push(json!({"address": "b@x.test"}));
        let back = mail_of(&m).expect("mail");
        assert_eq!(back.to, "a@x.test");
        let env = back.more.expect("envelope");
        assert_eq!(env.from.name, "Bot");
        assert_eq!(env.to.len(), 2);
        m["attachments"] = json!({"a.txt": []});
        assert!(mail_of(&m).unwrap_err().message.contains("attachments"));
        assert!(mail_of(&json!({"to": []})).is_err());
    }
}
