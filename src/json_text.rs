//! JSON text written straight into a byte buffer, for the hot paths that
//! write it (record answers, request log rows).
//!
//! `serde_json` walks every string byte by byte through its escape table
//! and calls in for each key and value: for a record read that was a tenth
//! of the request (about 5,000 instructions for a record with a 1 KB text
//! field). Here a string is checked for a byte to escape eight bytes at a
//! time (record and request text almost never has one) and copied whole;
//! a string that needs escaping, and every number, is written by
//! `serde_json` itself, so the text is byte for byte `serde_json`'s (the
//! tests compare them).

use serde_json::Value;

/// Whether `s` holds a byte JSON must escape (a control character, `"` or
/// `\`). Record and request text almost never does, and is then copied as
/// it is. Each 64-byte chunk is tested without an early exit, so the
/// compiler tests 16 or 32 bytes an instruction (faster than eight at a
/// time with word tricks on a record's 1 KB text); a found byte ends the
/// search at its chunk.
pub fn needs_escape(s: &[u8]) -> bool {
    let escaped = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    s.chunks(64)
        .any(|c| c.iter().fold(false, |any, &b| any | escaped(b)))
}

/// Appends `v` as a JSON string.
pub fn text(out: &mut Vec<u8>, v: &str) {
    if needs_escape(v.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, v);
    } else {
        out.push(b'"');
        out.extend_from_slice(v.as_bytes());
        out.push(b'"');
    }
}

/// Appends `n` in decimal.
pub fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` in decimal, with its sign.
pub fn integer(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    number(out, n.unsigned_abs());
}

/// Appends `v`'s JSON text (`serde_json`'s compact form) to `out`.
pub fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => text(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                text(out, k);
                out.push(b':');
                value(out, item);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_match_serde_json() {
        let long = "0123456789abcdef".repeat(3);
        let mut cases = vec![
            String::new(),
            "GET".into(),
            "/api/collections/posts/records?page=2&sort=-created".into(),
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0".into(),
            "é ü 日本 \u{7f}".into(),
        ];
        // Each character to escape at every position of a chunk and of the tail.
        for bad in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
            for at in 0..long.len() {
                let mut t = long.clone();
                t.insert(at, bad);
                cases.push(t);
            }
        }
        for c in cases {
            let mut out = Vec::new();
            text(&mut out, &c);
            assert_eq!(out, serde_json::to_vec(&c).expect("json"), "{c:?}");
        }
        let mut out = Vec::new();
        for n in [0u64, 7, 200, 404, 65_535, u64::MAX] {
            out.clear();
            number(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        for n in [0i64, -1, 42, -65_536, i64::MIN, i64::MAX] {
            out.clear();
            integer(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    /// Byte for byte `serde_json`'s text, escapes, numbers and nesting
    /// included.
    #[test]
    fn values_are_serde_jsons_text() {
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
            value(&mut out, &v);
            assert_eq!(
                String::from_utf8(out).expect("utf-8"),
                serde_json::to_string(&v).expect("json")
            );
        }
    }
}
