//! `application/x-www-form-urlencoded` decoding (query strings and form
//! bodies), shared by the HTTP layer and the batch service.

/// Decodes `a=1&b=x+y&c=%2C` into pairs, in order (keys may repeat).
pub fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let Some(h) = std::str::from_utf8(&b[i + 1..(i + 3).min(b.len())])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes() {
        assert_eq!(
            super::pairs(b"a=1&b=x+y&c=%2C%zz&d"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), ",%zz".into()),
                ("d".into(), String::new())
            ]
        );
    }
}
