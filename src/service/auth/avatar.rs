//! The OAuth2 avatar of a user signing up, downloaded into a `file` field.
//!
//! PocketBase (`apis/record_auth_with_oauth2.go`) does this when the auth
//! collection's `oauth2.mappedFields.avatarURL` names a `file` field: the
//! picture at the provider's avatar URL becomes a file of the new record
//! (a `text` or `url` field gets the URL itself). A download that fails is
//! logged and the sign-up goes on without the picture, as in PocketBase; a
//! picture the field refuses (type, size) fails the sign-up with the
//! field's error, as any upload would.

use crate::service::files::{Upload, names::sniff};

/// How long the download may take (PocketBase's 15 seconds).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The largest picture read when the field sets no `maxSize` (the file
/// field's own default limit).
pub const DEFAULT_LIMIT: u64 = 5 << 20;

/// Downloads `url` as an upload for the form key `field`, reading at most
/// `limit + 1` bytes (a larger picture is then refused by the field's size
/// check). `None` when the download fails.
pub async fn download(url: &str, field: &str, limit: u64) -> Option<Upload> {
    match fetch(url, limit).await {
        Ok(bytes) => Some(Upload {
            key: field.to_owned(),
            original: file_name(url),
            path: std::path::PathBuf::new(),
            size: bytes.len() as u64,
            mime: sniff(&bytes[..bytes.len().min(8192)]),
            data: Some(vec![bytes::Bytes::from(bytes)]),
        }),
        Err(e) => {
            tracing::warn!(url, error = %e, "Failed to retrieve OAuth2 avatar");
            None
        }
    }
}

async fn fetch(url: &str, limit: u64) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent("cairn")
        .build()
        .map_err(|e| e.to_string())?;
    let mut res = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("status {}", res.status()));
    }
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        out.extend_from_slice(&chunk);
        if out.len() as u64 > limit {
            break;
        }
    }
    if out.is_empty() {
        return Err("empty body".into());
    }
    Ok(out)
}

/// The URL path's last segment (PocketBase's `path.Base`), `avatar` when
/// there is none; the file store normalises it and adds its suffix.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let last = path
        .split_once('/')
        .map(|(_, p)| p.rsplit('/').next().unwrap_or_default())
        .unwrap_or_default();
    if last.is_empty() {
        "avatar".into()
    } else {
        last.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn the_file_name_is_the_last_path_segment() {
        assert_eq!(file_name("https://cdn.test/u/42/me.png?s=80"), "me.png");
        assert_eq!(file_name("https://cdn.test/"), "avatar");
        assert_eq!(file_name("https://cdn.test"), "avatar");
        assert_eq!(file_name("http://127.0.0.1:9/a/b#x"), "b");
    }
}
