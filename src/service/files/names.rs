//! PocketBase's stored file names and content sniffing.
//!
//! A stored name is `snake_case(base)` (at most 100 bytes; under 3 gets a
//! 10-character random pad) + `_` + 10 random `[a-z0-9]` + the original
//! extension (case kept, odd characters dropped; sniffed when missing).
//! Content types always come from the bytes, never from the client.

use crate::schema::names::random_id as random_string;

/// How many leading bytes the sniffer looks at.
pub const SNIFF_LEN: usize = 3072;

/// Go's `inflector.Snakecase`: split at non-ASCII-word characters and `_`,
/// `_` before an upper-case letter that follows a lower-case one, lower-cased.
pub fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for word in s.split(|c: char| !(c.is_ascii_alphanumeric())) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('_');
        }
        let b = word.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c.is_ascii_uppercase() && i > 0 && !b[i - 1].is_ascii_uppercase() {
                out.push('_');
            }
            out.push(c as char);
        }
    }
    out.to_ascii_lowercase()
}

/// The extension as PocketBase keeps it: `filepath.Ext` with characters
/// outside `[\w.*\-+=#]` removed, at most the last 20 bytes.
fn clean_ext(ext: &str) -> String {
    let clean: String = ext
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_.*-+=#".contains(*c))
        .collect();
    if clean.len() > 20 {
        format!(".{}", &clean[clean.len() - 20..])
    } else {
        clean
    }
}

/// Splits `name` like Go's `filepath.Ext` (the last `.` and what follows).
fn split_ext(name: &str) -> (&str, &str) {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) => (&base[..i], &base[i..]),
        None => (base, ""),
    }
}

/// A new stored name for an upload called `original` whose content sniffed
/// as `mime`.
pub fn stored_name(original: &str, mime: &str) -> String {
    let (base, ext) = split_ext(original);
    let mut ext = clean_ext(ext);
    if ext.is_empty() {
        ext = ext_for(mime).to_owned();
    }
    let mut name = snake_case(base);
    if name.len() < 3 {
        name.push_str(&random_string(10));
    } else if name.len() > 100 {
        name.truncate(100);
    }
    format!("{name}_{}{ext}", random_string(10))
}

/// Is `name` a name Cairn could have stored (no path tricks)?
pub fn is_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.*-+=#".contains(&b))
}

/// The content type of a file from its first bytes (as Go's `mimetype`
/// names the common ones); `text/plain; charset=utf-8` for text.
pub fn sniff(head: &[u8]) -> String {
    if let Some(t) = infer::get(head) {
        let m = t.mime_type();
        return match m {
            "image/vnd.microsoft.icon" => "image/x-icon",
            "audio/x-wav" => "audio/wav",
            other => other,
        }
        .to_owned();
    }
    if head.is_empty() {
        return "text/plain".into();
    }
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        // A multi-byte character cut at the sniff boundary is still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let Some(text) = text else {
        return "application/octet-stream".into();
    };
    if has_control(text.as_bytes()) {
        return "application/octet-stream".into();
    }
    let t = text.trim_start_matches('\u{feff}').trim_start();
    // Prefixes compared ignoring ASCII case, without a lowered copy.
    let starts = |p: &str| {
        t.as_bytes()
            .get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
    };
    if starts("<svg") || (starts("<?xml") && t.contains("<svg")) {
        return "image/svg+xml".into();
    }
    if starts("<!doctype html") || starts("<html") {
        return "text/html; charset=utf-8".into();
    }
    if starts("<?xml") {
        return "text/xml; charset=utf-8".into();
    }
    if (t.starts_with('{') || t.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(t).is_ok()
    {
        return "application/json".into();
    }
    "text/plain; charset=utf-8".into()
}

/// Does `b` hold a control byte other than tab, LF, FF and CR (binary)?
/// Checked 64 bytes at a time without an early exit inside a block, which
/// the compiler turns into vector compares: byte by byte with an early
/// exit, this loop was a tenth of a 100 KB upload's instructions.
fn has_control(b: &[u8]) -> bool {
    let bad = |x: u8| x < 0x20 && x != b'\t' && x != b'\n' && x != b'\r' && x != 0x0c;
    b.chunks(64)
        .any(|c| c.iter().fold(false, |acc, &x| acc | bad(x)))
}

/// The media type without parameters (`text/plain; charset=utf-8` → `text/plain`).
pub fn essence(mime: &str) -> &str {
    mime.split(';').next().unwrap_or(mime).trim()
}

/// The extension for a sniffed type, for uploads named without one.
pub fn ext_for(mime: &str) -> &'static str {
    match essence(mime) {
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/xml" => ".xml",
        "application/json" => ".json",
        "image/svg+xml" => ".svg",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/bmp" => ".bmp",
        "image/x-icon" => ".ico",
        "image/tiff" => ".tiff",
        "application/pdf" => ".pdf",
        "application/zip" => ".zip",
        "application/gzip" => ".gz",
        "video/mp4" => ".mp4",
        "video/webm" => ".webm",
        "audio/mpeg" => ".mp3",
        "audio/ogg" => ".ogg",
        "audio/wav" => ".wav",
        _ => "",
    }
}

/// Types PocketBase serves inline; everything else (svg included) is an
/// attachment.
pub fn inline(mime: &str) -> bool {
    matches!(
        essence(mime),
        "image/png"
            | "image/jpg"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/x-icon"
            | "image/bmp"
            | "video/webm"
            | "video/mp4"
            | "video/3gpp"
            | "video/quicktime"
            | "video/x-ms-wmv"
            | "audio/basic"
            | "audio/aiff"
            | "audio/mpeg"
            | "audio/midi"
            | "audio/mp3"
            | "audio/wave"
            | "audio/wav"
            | "audio/x-wav"
            | "audio/x-mpeg"
            | "audio/x-m4a"
            | "audio/aac"
            | "application/pdf"
            | "application/x-pdf"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_pocketbase() {
        assert_eq!(snake_case("Hello World"), "hello_world");
        assert_eq!(snake_case("Été Über-file (1)"), "t_ber_file_1");
        assert_eq!(snake_case("HelloWorld"), "hello_world");
        assert_eq!(snake_case("ABC"), "abc");
        assert_eq!(snake_case(""), "");
    }

    #[test]
    fn stored_names() {
        let re = regex::Regex::new(r"^hello_world_[a-z0-9]{10}\.TXT$").expect("re");
        assert!(re.is_match(&stored_name("Hello World.TXT", "text/plain")));
        let short = stored_name("a.b", "text/plain");
        assert!(
            regex::Regex::new(r"^a[a-z0-9]{10}_[a-z0-9]{10}\.b$")
                .expect("re")
                .is_match(&short)
        );
        assert!(stored_name("ab", "text/plain; charset=utf-8").ends_with(".txt"));
        assert!(stored_name(".hidden", "text/plain").ends_with(".hidden"));
        let long = stored_name(&format!("{}.txt", "x".repeat(150)), "text/plain");
        assert_eq!(long.len(), 100 + 1 + 10 + 4);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"hello"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"%PDF-1.4 x"), "application/pdf");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"<svg xmlns='x'></svg>"), "image/svg+xml");
        assert_eq!(sniff(&[0, 1, 2, 3]), "application/octet-stream");
        // Every byte value at every position of a block and past it: only
        // control bytes other than tab, LF, FF and CR make text binary.
        for pos in [0, 1, 31, 63, 64, 65, 200, 3071] {
            for b in 0u8..0x80 {
                let mut head = vec![b'a'; 3072];
                head[pos] = b;
                let binary = b < 0x20 && !b"\t\n\r\x0c".contains(&b);
                assert_eq!(has_control(&head), binary, "byte {b} at {pos}");
                let want = if binary {
                    "application/octet-stream"
                } else {
                    "text/plain; charset=utf-8"
                };
                assert_eq!(sniff(&head), want, "byte {b} at {pos}");
            }
        }
        assert!(inline("image/png") && !inline("image/svg+xml") && !inline("text/plain"));
    }
}
