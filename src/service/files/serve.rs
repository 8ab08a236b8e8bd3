//! `GET /api/files/{collection}/{record}/{filename}`: which stored object
//! answers, and whether the caller may have it.
//!
//! Files of non-protected fields are public whatever the rules (as in
//! PocketBase). Protected ones need a file token whose owner passes the
//! collection's viewRule and, in Cairn, the field's read rule; anything
//! else is the same 404 a missing file gets.

use serde_json::{Map, Value};

use super::Files;
use super::storage::Meta;
use super::thumbs::{self, Spec};
use crate::schema::{FieldKind, value};
use crate::service::auth::{self, TokenKind};
use crate::service::{Actor, Error};
use crate::store::Store;
use crate::store::records;

/// What to send back.
pub struct Found {
    pub key: String,
    pub meta: Meta,
    /// The name for `Content-Disposition` (`<size>_<name>` for thumbs).
    pub filename: String,
}

fn missing() -> Error {
    Error::missing_record()
}

/// The actor a file token stands for (invalid or absent: guest).
fn token_actor(store: &Store, token: Option<&str>) -> Actor {
    match token.and_then(|t| auth::verify(store, t, TokenKind::File)) {
        Some((id, _)) if id.collection.name == crate::schema::system::SUPERUSERS => {
            Actor::Superuser(id)
        }
        Some((id, _)) => Actor::User(id),
        None => Actor::Guest,
    }
}

/// Finds the object for a file request and checks access.
pub async fn locate(
    store: &Store,
    files: &Files,
    coll: &str,
    record_id: &str,
    filename: &str,
    token: Option<&str>,
    thumb: Option<&str>,
) -> Result<Found, Error> {
    let c = store
        .schema()
        .get(coll)
        .ok_or(Error::NotFound("Missing or invalid collection context."))?;
    if !super::names::is_safe(filename) || !is_id_like(record_id) {
        return Err(missing());
    }
    let rec = store
        .read(|conn| records::get(conn, &c, record_id))?
        .ok_or_else(missing)?;
    let field = c
        .fields
        .iter()
        .find(|f| {
            matches!(f.kind, FieldKind::File(_))
                && rec
                    .get(&f.name)
                    .map(value::to_list)
                    .unwrap_or_default()
                    .iter()
                    .any(|n| n == filename)
        })
        .ok_or_else(missing)?;
    let FieldKind::File(opts) = &field.kind else {
        return Err(missing());
    };
    if opts.protected {
        let actor = token_actor(store, token);
        let req = crate::service::rules::request_info(store, &actor, "GET", Map::new(), Map::new());
        let seen = crate::service::records::view(store, &c, &actor, &req, record_id)
            .map_err(|_| missing())?;
        // A field read rule that hides the field hides its files too.
        if seen.get(&field.name).is_none_or(Value::is_null) {
            return Err(missing());
        }
    }
    let key = format!("{}/{record_id}/{filename}", c.id);
    let backend = files.backend();
    let meta = backend
        .head(&key)
        .await
        .map_err(|e| Error::Internal(format!("head {key}: {e}")))?
        .ok_or_else(missing)?;
    // PocketBase always allows its dashboard's `100x100` (defaultThumbSizes).
    if let Some(size) = thumb.filter(|s| *s == "100x100" || opts.thumbs.iter().any(|t| t == s))
        && thumbs::is_thumbable(filename)
        && let Some(spec) = Spec::parse(size)
        && let Some(tkey) = thumbs::thumb_key(&key, size)
        && let Some(tmeta) = files.thumbs.ensure(&backend, &key, &tkey, spec).await
    {
        return Ok(Found {
            key: tkey,
            meta: tmeta,
            filename: format!("{size}_{filename}"),
        });
    }
    Ok(Found {
        key,
        meta,
        filename: filename.to_owned(),
    })
}

fn is_id_like(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `POST /api/files/token`: a short-lived file token for the caller.
pub fn file_token(actor: &Actor) -> Result<String, Error> {
    let id = actor.identity().ok_or(Error::Unauthorized(
        "The request requires valid record authorization token.",
    ))?;
    auth::issue(
        &id.collection,
        &id.record,
        TokenKind::File,
        Map::new(),
        None,
    )
}
