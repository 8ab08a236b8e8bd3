//! Request paths whose percent-decoded bytes are not UTF-8
//! (`/api/collections/x/records/%FF%FE`).
//!
//! axum's `Path` extractor rejects them with a plain-text 400. PocketBase's
//! router keeps the raw bytes, looks the segment up, finds nothing and
//! answers its ordinary JSON 404 for that place ("Missing collection
//! context.", "The requested resource wasn't found.", "File not found.").
//! No collection name, record id or route contains such bytes, so this
//! module replaces each invalid sequence with U+FFFD (re-encoded) before
//! routing: the request then meets exactly the 404 an unknown name meets,
//! on every route at once.

use axum::http::{Request, Uri};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Repairs the request's path in place. Must run before routing (axum
/// decodes path parameters while routing), so the server calls it for
/// every request before handing it to the router.
pub fn repair<B>(req: &mut Request<B>) {
    let Some(path) = repaired(req.uri().path()) else {
        return;
    };
    let uri = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    // Re-encoded segments are plain ASCII: this parses.
    if let Ok(uri) = uri.parse::<Uri>() {
        *req.uri_mut() = uri;
    }
}

/// The path with every segment that does not decode to UTF-8 replaced by
/// its lossy decoding, percent-encoded; `None` when nothing needs it.
fn repaired(path: &str) -> Option<String> {
    if !path.contains('%') || percent_decode_str(path).decode_utf8().is_ok() {
        return None;
    }
    let segments: Vec<String> = path
        .split('/')
        .map(|seg| {
            let bytes: Vec<u8> = percent_decode_str(seg).collect();
            match std::str::from_utf8(&bytes) {
                Ok(_) => seg.to_owned(),
                Err(_) => {
                    let text = String::from_utf8_lossy(&bytes);
                    utf8_percent_encode(&text, NON_ALPHANUMERIC).to_string()
                }
            }
        })
        .collect();
    Some(segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::repaired;

    #[test]
    fn only_invalid_segments_change() {
        assert_eq!(repaired("/api/collections/x/records/abc"), None);
        assert_eq!(repaired("/api/a%20b/%E2%9C%93"), None);
        assert_eq!(
            repaired("/api/collections/x%2Fy/records/%FF%FEz").as_deref(),
            Some("/api/collections/x%2Fy/records/%EF%BF%BD%EF%BF%BDz")
        );
    }
}
