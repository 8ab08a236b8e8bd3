//! The auth mails: a collection's template (its options, editable like any
//! other option) rendered for one record and sent in the background.

use serde_json::{Value, json};

use super::sys;
use crate::app::App;
use crate::mail::template::{self, Vars};
use crate::mail::{self as mailer, Mail};
use crate::service::Identity;

/// The `{subject, body}` template of `key`: a top-level option
/// (`verificationTemplate`…) or the `emailTemplate` of `otp` / `authAlert`.
fn template_of<'a>(id: &'a Identity, key: &str) -> Option<(&'a str, &'a str)> {
    let o = id.collection.options.get(key)?;
    let t = o.get("emailTemplate").unwrap_or(o);
    Some((
        t.get("subject").and_then(Value::as_str)?,
        t.get("body").and_then(Value::as_str)?,
    ))
}

/// An auth mail ready to send, with what PocketBase's mailer hooks see of it.
pub struct Composed {
    pub mail: Mail,
    /// The template key (`verificationTemplate`, `otp`, `authAlert`…).
    pub key: String,
    /// PocketBase's `e.meta`: the flow's own values (token, OTP, alert info).
    pub meta: Value,
}

/// Renders template `key` for `id` and sends it to `to` (default: the
/// record's email) in the background. `fill` sets the flow's own variables
/// (token, OTP…). With mailer hooks loaded, they get the mail first.
pub fn send_to(
    app: &App,
    id: &Identity,
    key: &str,
    to: Option<String>,
    fill: impl FnOnce(&mut Vars),
) {
    let Some(composed) = compose(app, id, key, to, fill) else {
        return;
    };
    if let Some(composed) = crate::plugins::hooks::mailer::hand_over(app, id, composed) {
        mailer::send_later_via(&app.settings(), &app.config.sendmail, composed.mail);
    }
}

/// The mail `send_to` sends: `None` without a template or an address.
pub fn compose(
    app: &App,
    id: &Identity,
    key: &str,
    to: Option<String>,
    fill: impl FnOnce(&mut Vars),
) -> Option<Composed> {
    let Some((subject, body)) = template_of(id, key) else {
        tracing::warn!(collection = %id.collection.name, template = key, "no mail template");
        return None;
    };
    let settings = app.settings();
    let mut record = (*id.record).clone();
    for f in &id.collection.fields {
        if f.hidden {
            record.remove(&f.name);
        }
    }
    let mut vars = Vars {
        record,
        ..app_vars(&settings)
    };
    fill(&mut vars);
    let to = to.unwrap_or_else(|| sys::text(&id.record, "email").to_owned());
    if to.is_empty() {
        return None;
    }
    let meta = match key {
        "otp" => json!({"otpId": vars.otp_id, "password": vars.otp}),
        "authAlert" => json!({"info": vars.alert_info}),
        "confirmEmailChangeTemplate" => json!({"token": vars.token, "newEmail": to}),
        _ => json!({"token": vars.token}),
    };
    Some(Composed {
        mail: Mail {
            to,
            subject: template::render(subject, &vars),
            html: template::render(body, &vars),
            more: None,
        },
        key: key.to_owned(),
        meta,
    })
}

/// The variables every mail has: the app's name and URL from the settings.
pub fn app_vars(settings: &Value) -> Vars {
    let meta = |k: &str| {
        settings
            .pointer(&format!("/meta/{k}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Vars {
        app_name: meta("appName"),
        app_url: meta("appURL"),
        ..Vars::default()
    }
}

/// `send_to` the record's own address.
pub fn send_template(app: &App, id: &Identity, key: &str, fill: impl FnOnce(&mut Vars)) {
    send_to(app, id, key, None, fill);
}
