//! Use-cases: what the API does, independent of HTTP.
//!
//! Services take validated inputs and an `Actor`, check access, run store
//! jobs and return plain values. Their single error type says what went
//! wrong in client terms; `http::error` maps it to PocketBase's JSON.

pub mod access;
pub mod auth;
pub mod backups;
pub mod batch;
pub mod collections;
pub mod console;
pub mod cron;
pub mod files;
pub mod logs;
pub mod metrics;
pub mod records;
pub mod rules;
pub mod settings;
pub mod webhooks;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::schema::Collection;
use crate::store::StoreError;
use crate::store::records::Row_;

/// Every failure a service reports, in client terms.
#[derive(Debug)]
pub enum Error {
    /// 400 with a message and a `data` object (validation errors).
    BadRequest(String, Map<String, Value>),
    /// 401.
    Unauthorized(&'static str),
    /// 403.
    Forbidden(&'static str),
    /// 403 with field errors (Cairn's field write rules).
    ForbiddenData(&'static str, Map<String, Value>),
    /// 404.
    NotFound(&'static str),
    /// A status with a body that is not PocketBase's error shape (the MFA
    /// step's 401 answers exactly `{"mfaId": ...}`).
    Raw(u16, Map<String, Value>),
    /// 500: the detail is logged, never shown.
    Internal(String),
}

impl Error {
    pub fn bad(message: &str) -> Self {
        Error::BadRequest(message.to_owned(), Map::new())
    }
    pub fn invalid(message: &str, data: Map<String, Value>) -> Self {
        Error::BadRequest(message.to_owned(), data)
    }
    pub fn superusers_only() -> Self {
        Error::Forbidden("Only superusers can perform this action.")
    }
    pub fn missing_record() -> Self {
        Error::NotFound("The requested resource wasn't found.")
    }
}

impl Error {
    /// Status, message and data as a client sees them. Internal details
    /// are logged here and replaced by a generic message.
    pub fn parts(&self) -> (u16, String, Map<String, Value>) {
        match self {
            Error::BadRequest(m, d) => (400, m.clone(), d.clone()),
            Error::Unauthorized(m) => (401, (*m).to_owned(), Map::new()),
            Error::Forbidden(m) => (403, (*m).to_owned(), Map::new()),
            Error::ForbiddenData(m, d) => (403, (*m).to_owned(), d.clone()),
            Error::NotFound(m) => (404, (*m).to_owned(), Map::new()),
            Error::Raw(s, body) => (*s, String::new(), body.clone()),
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                (
                    400,
                    "Something went wrong while processing your request.".to_owned(),
                    Map::new(),
                )
            }
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // What the PostgreSQL store does not do is the caller's answer,
            // not a server fault.
            StoreError::Unsupported(what) => Error::bad(&format!("Not supported: {what}.")),
            e => Error::Internal(e.to_string()),
        }
    }
}

/// PocketBase's list envelope; `total < 0` means "not counted" (skipTotal).
/// The items are moved in: `json!` would serialize them into a copy of the
/// whole page (a quarter of a list request's instructions).
pub fn page_envelope(page: i64, per_page: i64, total: i64, items: Vec<Value>) -> Value {
    let total_pages = if total < 0 {
        -1
    } else {
        (total + per_page - 1) / per_page
    };
    let mut out = Map::new();
    out.insert("page".into(), page.into());
    out.insert("perPage".into(), per_page.into());
    out.insert("totalItems".into(), total.into());
    out.insert("totalPages".into(), total_pages.into());
    out.insert("items".into(), Value::Array(items));
    Value::Object(out)
}

/// An authenticated auth record.
#[derive(Debug, Clone)]
pub struct Identity {
    pub collection: Arc<Collection>,
    /// Shared: a request's caller is cloned into its extractors and its
    /// `@request.auth`, which copied the whole record each time.
    pub record: Arc<Row_>,
}

impl Identity {
    pub fn id(&self) -> &str {
        self.record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Who is making a request.
#[derive(Debug, Clone, Default)]
pub enum Actor {
    #[default]
    Guest,
    Superuser(Identity),
    User(Identity),
}

impl Actor {
    pub fn is_superuser(&self) -> bool {
        matches!(self, Actor::Superuser(_))
    }
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Actor::Guest => None,
            Actor::Superuser(i) | Actor::User(i) => Some(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::page_envelope;
    use serde_json::json;

    #[test]
    fn page_envelope_is_pocketbases() {
        let items = vec![
            json!({"id": "a", "n": [1, {"x": null}]}),
            json!({"id": "b"}),
        ];
        assert_eq!(
            page_envelope(2, 2, 5, items.clone()),
            json!({"page": 2, "perPage": 2, "totalItems": 5, "totalPages": 3, "items": items})
        );
        assert_eq!(
            page_envelope(1, 30, -1, Vec::new()),
            json!({"page": 1, "perPage": 30, "totalItems": -1, "totalPages": -1, "items": []})
        );
    }
}
