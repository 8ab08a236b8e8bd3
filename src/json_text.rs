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
/// search at its chunk. What is left (most strings are shorter than a
/// chunk: ids, dates, names) is tested eight bytes a word, the last word
/// overlapping the one before, not a byte at a time (about six
/// instructions a byte: 3,000 a create for the strings of its answer, its
/// log row and a webhook body).
pub fn needs_escape(s: &[u8]) -> bool {
    let escaped = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let any = |c: &[u8]| c.iter().fold(false, |any, &b| any | escaped(b));
    let chunks = s.chunks_exact(64);
    let tail = chunks.remainder();
    if chunks.into_iter().any(any) {
        return true;
    }
    let word =
        |w: &[u8]| <[u8; 8]>::try_from(w).map_or(true, |w| word_escapes(u64::from_le_bytes(w)));
    match tail.len() {
        0..8 => any(tail),
        n => tail.chunks_exact(8).any(word) || word(&tail[n - 8..]),
    }
}

/// Whether one of the eight bytes of `x` must be escaped: the classic
/// "has a zero byte" test, `(v - 0x01…) & !v & 0x80…`, on `x` for bytes
/// below a space and on `x` xor `"` and `\` repeated for those two. It
/// reports a byte only when one is there: a borrow starts only at a
/// matching byte, and bytes of 0x80 and above are masked out by `!v`.
fn word_escapes(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH != 0;
    below(x, 0x20)
        | below(x ^ (ONES * u64::from(b'"')), 1)
        | below(x ^ (ONES * u64::from(b'\\')), 1)
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
        let long = "0123456789abcdef".repeat(5);
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

    /// Every length up to three chunks, every position: a byte to escape
    /// is found wherever it is, and nothing else is (high bytes, DEL and
    /// the neighbours of `"` and `\` included).
    #[test]
    fn escapes_are_found_exactly() {
        let fine = "a é日 \u{7f}#!][~".as_bytes();
        for len in 0..200 {
            let clean: Vec<u8> = fine.iter().copied().cycle().take(len).collect();
            assert!(!needs_escape(&clean), "len {len}");
            for at in 0..len {
                for bad in [b'"', b'\\', b'\n', 0, 0x1f] {
                    let mut t = clean.clone();
                    t[at] = bad;
                    assert!(needs_escape(&t), "len {len}, {bad} at {at}");
                }
            }
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
