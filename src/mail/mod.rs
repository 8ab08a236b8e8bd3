//! Outgoing mail: PocketBase's templates rendered with minijinja and sent
//! through a real SMTP client (lettre) configured by the `smtp` settings,
//! or, with SMTP disabled, piped to the local `sendmail` (`sendmail.rs`).
//!
//! Mail is sent on a background task: an HTTP answer never waits for (or
//! reveals) a slow or failing mail server, and a failure is logged without
//! the message body (it carries tokens and codes).

pub mod sendmail;
pub mod template;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

/// One rendered mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html: String,
    /// The rest of PocketBase's `mailer.Message`, once a mailer hook had
    /// the message; `None`: the settings' sender, `to` alone, and a text
    /// part made from the HTML.
    pub more: Option<Box<Envelope>>,
}

/// Sender, every recipient, text and headers of a message a hook shaped.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub from: Address,
    /// All `To` recipients (the `to` of `Mail` is not added again).
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    /// The plain-text part (empty: made from the HTML).
    pub text: String,
    pub headers: Vec<(String, String)>,
}

/// `{address, name}`, as PocketBase's `mail.Address`.
#[derive(Debug, Clone, Default)]
pub struct Address {
    pub name: String,
    pub address: String,
}

impl Address {
    fn mailbox(&self) -> Result<Mailbox, String> {
        let addr = self
            .address
            .parse()
            .map_err(|e| format!("address {:?}: {e}", self.address))?;
        Ok(Mailbox::new(
            (!self.name.is_empty()).then(|| self.name.clone()),
            addr,
        ))
    }
}

fn setting<'a>(s: &'a Value, ptr: &str) -> &'a str {
    s.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// Sends `mail` with the SMTP settings in `settings`, in the background
/// (with SMTP disabled: through the local sendmail PocketBase would find).
pub fn send_later(settings: &Value, mail: Mail) {
    send_later_via(settings, "", mail);
}

/// `send_later`, with the `sendmail` program of the configuration ("" =
/// PocketBase's lookup) for when SMTP is disabled.
pub fn send_later_via(settings: &Value, sendmail: &str, mail: Mail) {
    let settings = settings.clone();
    let sendmail = sendmail.to_owned();
    tokio::spawn(async move {
        if let Err(e) = send_via(&settings, &sendmail, &mail).await {
            tracing::warn!(to = %mail.to, subject = %mail.subject, error = %e, "mail not sent");
        }
    });
}

/// Sends `mail` now: over SMTP when enabled, else piped to the local
/// `sendmail -i -t` as PocketBase does (see `sendmail`).
pub async fn send(settings: &Value, mail: &Mail) -> Result<(), String> {
    send_via(settings, "", mail).await
}

/// `send` with a configured sendmail program ("" = PocketBase's lookup).
pub async fn send_via(settings: &Value, sendmail: &str, mail: &Mail) -> Result<(), String> {
    let message = message(settings, mail)?;
    if settings.pointer("/smtp/enabled").and_then(Value::as_bool) != Some(true) {
        let program =
            sendmail::program(sendmail).ok_or("SMTP disabled and no sendmail program found")?;
        return sendmail::pipe(&program, &message.formatted()).await;
    }
    transport(settings)?
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("smtp: {e}"))
}

/// The RFC 5322 message: HTML with a plain-text alternative.
fn message(settings: &Value, mail: &Mail) -> Result<Message, String> {
    let plain = Envelope {
        from: Address {
            name: setting(settings, "/meta/senderName").to_owned(),
            address: setting(settings, "/meta/senderAddress").to_owned(),
        },
        to: vec![Address {
            name: String::new(),
            address: mail.to.clone(),
        }],
        ..Envelope::default()
    };
    let env = mail.more.as_deref().unwrap_or(&plain);
    let from = env.from.mailbox().map_err(|e| format!("sender {e}"))?;
    let domain = env
        .from
        .address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let mut b = Message::builder()
        .message_id(Some(format!(
            "<{}@{domain}>",
            crate::schema::names::random_id(15)
        )))
        .date_now()
        .from(from)
        .subject(mail.subject.clone());
    for a in &env.to {
        b = b.to(a.mailbox().map_err(|e| format!("recipient {e}"))?);
    }
    for a in &env.cc {
        b = b.cc(a.mailbox().map_err(|e| format!("recipient {e}"))?);
    }
    for a in &env.bcc {
        b = b.bcc(a.mailbox().map_err(|e| format!("recipient {e}"))?);
    }
    for (k, v) in &env.headers {
        let name = HeaderName::new_from_ascii(k.clone()).map_err(|e| format!("header {k}: {e}"))?;
        b = b.raw_header(HeaderValue::new(name, v.clone()));
    }
    let text = if env.text.is_empty() {
        template::html_to_text(&mail.html)
    } else {
        env.text.clone()
    };
    b.multipart(MultiPart::alternative_plain_html(text, mail.html.clone()))
        .map_err(|e| format!("build: {e}"))
}

fn transport(settings: &Value) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = setting(settings, "/smtp/host");
    let port = settings
        .pointer("/smtp/port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(587);
    let tls_params = TlsParameters::new(host.to_owned()).map_err(|e| format!("tls: {e}"))?;
    // `tls: true` is implicit TLS (port 465); otherwise STARTTLS when offered.
    let tls = if settings.pointer("/smtp/tls").and_then(Value::as_bool) == Some(true) {
        Tls::Wrapper(tls_params)
    } else {
        Tls::Opportunistic(tls_params)
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(15)));
    let local = setting(settings, "/smtp/localName");
    if !local.is_empty() {
        b = b.hello_name(lettre::transport::smtp::extension::ClientId::Domain(
            local.to_owned(),
        ));
    }
    let user = setting(settings, "/smtp/username");
    if !user.is_empty() {
        b = b.credentials(Credentials::new(
            user.to_owned(),
            setting(settings, "/smtp/password").to_owned(),
        ));
    }
    Ok(b.build())
}
