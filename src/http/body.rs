//! The one request-body binder.
//!
//! PocketBase binds the same three encodings on every endpoint that takes a
//! body: `application/json`, `multipart/form-data` (whose `@jsonPayload`
//! parts are JSON objects merged over the other parts) and
//! `application/x-www-form-urlencoded` (where `@jsonPayload` is a plain key). Tools depend on it: typegen signs in
//! with a multipart body, HTML forms post url-encoded ones. Every handler
//! therefore takes [`Body`] (records take `RecordBody`, which binds through
//! [`bind`] too) and decides only how a failure reads: PocketBase answers an
//! unsupported or missing `Content-Type` with 400 "Unsupported Content-Type."
//! except where a handler wraps binding errors in its own message.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::MAX_BODY;

/// Why a body could not be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// A non-empty body in none of the three encodings (or with none named).
    Unsupported,
    /// Malformed JSON, a JSON body that is not an object, a broken multipart
    /// stream or an `@jsonPayload` that is not a JSON object.
    Malformed,
    /// Over [`MAX_BODY`].
    TooLarge,
}

/// PocketBase's generic message for a body that could not be read.
pub const LOADING: &str = "An error occurred while loading the submitted data.";

impl BodyError {
    /// The handler's own message for any binding failure (413 stays 413).
    pub fn wrap(self, message: &str) -> ApiError {
        match self {
            BodyError::TooLarge => ApiError::too_large(),
            _ => ApiError::new(StatusCode::BAD_REQUEST, message),
        }
    }

    /// The handler's own message for malformed bodies; an unsupported
    /// content type keeps PocketBase's "Unsupported Content-Type.".
    pub fn malformed(self, message: &str) -> ApiError {
        match self {
            BodyError::Unsupported => self.into(),
            _ => self.wrap(message),
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Unsupported => {
                ApiError::new(StatusCode::BAD_REQUEST, "Unsupported Content-Type.")
            }
            BodyError::Malformed => ApiError::new(StatusCode::BAD_REQUEST, LOADING),
            BodyError::TooLarge => ApiError::too_large(),
        }
    }
}

impl axum::response::IntoResponse for BodyError {
    fn into_response(self) -> axum::response::Response {
        ApiError::from(self).into_response()
    }
}

/// A request body bound to one JSON object, whatever its encoding.
/// Form values are strings (a repeated key becomes an array of strings).
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = BodyError;

    async fn from_request(req: Request, state: &S) -> Result<Self, BodyError> {
        bind(req, state).await.map(Body)
    }
}

/// The encoding a `Content-Type` names.
enum Encoding {
    Json,
    Multipart,
    Form,
    Other,
}

fn encoding(req: &Request) -> Encoding {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start()
        .to_ascii_lowercase();
    if ct.starts_with("application/json") {
        Encoding::Json
    } else if ct.starts_with("multipart/form-data") {
        Encoding::Multipart
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        Encoding::Form
    } else {
        Encoding::Other
    }
}

/// Binds the body of `req` (see the module docs). An empty body is an empty
/// object in any encoding, as in PocketBase (which skips binding then).
pub async fn bind<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Map<String, Value>, BodyError> {
    let declared_empty = req
        .headers()
        .get(CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0");
    if declared_empty {
        return Ok(Map::new());
    }
    match encoding(&req) {
        Encoding::Multipart => multipart(req, state).await,
        Encoding::Form => {
            let bytes = read(req).await?;
            let mut map = Map::new();
            // No `@jsonPayload` here: PocketBase merges it for multipart only.
            for (k, v) in crate::urlencoded::pairs(&bytes) {
                push_value(&mut map, k, Value::String(v));
            }
            Ok(map)
        }
        Encoding::Json => json(&read(req).await?),
        Encoding::Other => {
            if read(req).await?.is_empty() {
                Ok(Map::new())
            } else {
                Err(BodyError::Unsupported)
            }
        }
    }
}

async fn read(req: Request) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| BodyError::TooLarge)
}

fn json(bytes: &[u8]) -> Result<Map<String, Value>, BodyError> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(BodyError::Malformed),
    }
}

/// Text parts become values; file parts are not part of the object (record
/// writes take them through `RecordBody`).
async fn multipart<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Map<String, Value>, BodyError> {
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|_| BodyError::Malformed)?;
    let mut map = Map::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(BodyError::TooLarge);
            }
            Err(_) => return Err(BodyError::Malformed),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some();
        let text = field.text().await.map_err(|_| BodyError::TooLarge)?;
        if !is_file {
            push_value(&mut map, name, Value::String(text));
        }
    }
    merge_json_payload(&mut map)?;
    Ok(map)
}

/// Adds a form value; a repeated key collects its values in an array.
pub fn push_value(map: &mut Map<String, Value>, key: String, v: Value) {
    match map.get_mut(&key) {
        Some(Value::Array(a)) => a.push(v),
        Some(existing) => {
            let prev = existing.take();
            *existing = Value::Array(vec![prev, v]);
        }
        None => {
            map.insert(key, v);
        }
    }
}

/// Merges the `@jsonPayload` form value (a JSON object) over the others.
pub fn merge_json_payload(map: &mut Map<String, Value>) -> Result<(), BodyError> {
    let payloads = match map.remove("@jsonPayload") {
        None => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(v) => vec![v],
    };
    for p in payloads {
        let Value::String(p) = p else {
            return Err(BodyError::Malformed);
        };
        match serde_json::from_str::<Value>(&p) {
            Ok(Value::Object(o)) => map.extend(o),
            _ => return Err(BodyError::Malformed),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(ct: Option<&str>, body: &'static str) -> Request {
        let mut b = Request::builder().method("POST").uri("/");
        if let Some(ct) = ct {
            b = b.header(CONTENT_TYPE, ct);
        }
        b.body(axum::body::Body::from(body)).unwrap()
    }

    async fn bound(ct: Option<&str>, body: &'static str) -> Result<Value, BodyError> {
        bind(request(ct, body), &()).await.map(Value::Object)
    }

    #[tokio::test]
    async fn three_encodings_bind_alike() {
        let want = json!({"a": "1", "b": ["x", "y"]});
        assert_eq!(
            bound(Some("application/json"), r#"{"a":"1","b":["x","y"]}"#).await,
            Ok(want.clone())
        );
        assert_eq!(
            bound(Some("application/x-www-form-urlencoded"), "a=1&b=x&b=y").await,
            Ok(want.clone())
        );
        let mp = concat!(
            "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n",
            "--X\r\nContent-Disposition: form-data; name=\"@jsonPayload\"\r\n\r\n{\"b\":[\"x\"]}\r\n",
            "--X\r\nContent-Disposition: form-data; name=\"@jsonPayload\"\r\n\r\n{\"b\":[\"x\",\"y\"]}\r\n",
            "--X--\r\n"
        );
        assert_eq!(
            bound(Some("multipart/form-data; boundary=X"), mp).await,
            Ok(want)
        );
    }

    #[tokio::test]
    async fn bad_bodies() {
        assert_eq!(bound(None, "{}").await, Err(BodyError::Unsupported));
        assert_eq!(
            bound(Some("text/plain"), "{}").await,
            Err(BodyError::Unsupported)
        );
        assert_eq!(bound(Some("text/plain"), "").await, Ok(json!({})));
        assert_eq!(
            bound(Some("application/json"), "[1]").await,
            Err(BodyError::Malformed)
        );
        assert_eq!(
            bound(Some("application/json"), "{\"a\":").await,
            Err(BodyError::Malformed)
        );
        assert_eq!(bound(Some("application/json"), "null").await, Ok(json!({})));
        assert_eq!(
            bound(Some("application/json"), " ").await,
            Err(BodyError::Malformed)
        );
        assert_eq!(
            bound(
                Some("application/x-www-form-urlencoded"),
                "%40jsonPayload=%5B1%5D"
            )
            .await,
            Ok(json!({"@jsonPayload": "[1]"}))
        );
        assert_eq!(
            bound(Some("multipart/form-data; boundary=X"), "--X\r\nbroken").await,
            Err(BodyError::Malformed)
        );
    }
}
