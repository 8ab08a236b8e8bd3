//! Record answers written as JSON text without serde's per-string cost.
//!
//! `axum::Json` serializes through `serde_json`, which walks every string
//! byte by byte through its escape table and calls in for each key and
//! value: on a record read that was a tenth of the request (about 5,000
//! instructions for a record with a 1 KB text field), and its buffer
//! started at 128 bytes and was copied as it grew. Here a string is first
//! checked in one pass that the compiler vectorises (nothing to escape is
//! the rule for record text) and copied whole; a string that needs
//! escaping, and every number, is written by `serde_json` itself, so the
//! text is byte for byte what `axum::Json` gave (a unit test compares them).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A JSON response body (`application/json`), like `axum::Json<Value>`.
pub struct JsonOut(pub Value);

impl IntoResponse for JsonOut {
    fn into_response(self) -> Response {
        let mut out = Vec::with_capacity(1024);
        write_value(&mut out, &self.0);
        let mime = HeaderValue::from_static("application/json");
        ([(header::CONTENT_TYPE, mime)], out).into_response()
    }
}

/// Appends `v`'s JSON text (`serde_json`'s compact form) to `out`.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Appends `s` as a JSON string.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // No early exit, so the loop is vectorised: ORs of 16 or 32 bytes'
    // tests at a time.
    let escapes = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if escapes {
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::write_value;
    use serde_json::json;

    /// Byte for byte `serde_json`'s text, escapes, numbers and nesting
    /// included.
    #[test]
    fn the_text_is_serde_jsons() {
        let values = [
            json!(null),
            json!({}),
            json!([]),
            json!({"id": "abc", "n": 1, "f": 1.5, "neg": -7, "big": 1e300, "t": true, "x": false, "z": null}),
            json!({"text": "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} del \u{7f}"}),
            json!({"unicode": "é ü 漢字 😀 \u{2028} \u{2029} </script>", "k\"ey\n": [1, [2, [3, {"a": []}]]]}),
            json!([
                "",
                " ",
                "\u{1f}",
                "\u{20}",
                0,
                0.1,
                123456789012345678u64,
                -0.0
            ]),
        ];
        for v in values {
            let mut out = Vec::new();
            write_value(&mut out, &v);
            assert_eq!(
                String::from_utf8(out).expect("utf-8"),
                serde_json::to_string(&v).expect("json")
            );
        }
    }
}
