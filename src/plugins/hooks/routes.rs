//! `routerAdd` paths: Go `ServeMux` patterns (`/a/{name}`, `/files/{path...}`,
//! `/exact/{$}`, a trailing `/` matching everything below it).
//!
//! Every request is matched against every route before the built-in API
//! sees it, so a match allocates only what it returns (issue 15's
//! benchmark: a map of parameters and two segment lists were ~4k
//! instructions a request).

/// One registered route.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Upper case; empty or `*` for any method.
    method: String,
    segments: Vec<Seg>,
    /// A trailing `/` without `{$}`: matches any deeper path too.
    prefix: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Lit(String),
    Param(String),
    Rest(String),
    End,
}

impl Pattern {
    pub fn parse(method: &str, path: &str) -> Self {
        // PocketBase also accepts "METHOD /path" in the path argument.
        let (method, path) = match path.split_once(' ') {
            Some((m, p)) if method.is_empty() => (m.to_owned(), p.trim().to_owned()),
            _ => (method.to_uppercase(), path.to_owned()),
        };
        let prefix = path.ends_with('/') && path.len() > 1;
        let segments = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s == "{$}" {
                    Seg::End
                } else if let Some(inner) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    match inner.strip_suffix("...") {
                        Some(name) => Seg::Rest(name.to_owned()),
                        None => Seg::Param(inner.to_owned()),
                    }
                } else {
                    Seg::Lit(s.to_owned())
                }
            })
            .collect();
        Self {
            method,
            segments,
            prefix,
        }
    }

    /// The path parameters (in pattern order) when `method` and `path`
    /// match.
    pub fn matches(&self, method: &str, path: &str) -> Option<Vec<(String, String)>> {
        let any = self.method.is_empty() || self.method == "*";
        let method_ok = any || self.method == method || (method == "HEAD" && self.method == "GET");
        if !method_ok {
            return None;
        }
        let trimmed = path.trim_start_matches('/');
        // The path's segments, walked once; `rest` is what is left of it.
        let mut rest = (!trimmed.is_empty()).then_some(trimmed);
        let mut params = Vec::new();
        for seg in &self.segments {
            match seg {
                Seg::Lit(l) => {
                    if next(&mut rest) != Some(l.as_str()) {
                        return None;
                    }
                }
                Seg::Param(name) => {
                    let v = next(&mut rest).filter(|v| !v.is_empty())?;
                    params.push((name.clone(), decode(v)));
                }
                Seg::Rest(name) => {
                    params.push((name.clone(), decode(rest.unwrap_or_default())));
                    return Some(params);
                }
                Seg::End => {
                    // `{$}`: only the path ending in the slash itself.
                    let last = next(&mut rest) == Some("");
                    return (last && rest.is_none()).then_some(params);
                }
            }
        }
        if rest.is_none() || self.prefix {
            Some(params)
        } else {
            None
        }
    }
}

/// The first segment of `rest`, which keeps what follows its `/` (`None`
/// once the last segment was taken).
fn next<'a>(rest: &mut Option<&'a str>) -> Option<&'a str> {
    let r = (*rest)?;
    let (seg, tail) = r.split_once('/').map_or((r, None), |(a, b)| (a, Some(b)));
    *rest = tail;
    Some(seg)
}

/// A path segment percent-decoded (`+` and `&` stay as they are).
fn decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let escaped = s.replace('+', "%2B").replace('&', "%26");
    crate::urlencoded::pairs(format!("v={escaped}").as_bytes())
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_else(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(p: &Pattern, method: &str, path: &str, name: &str) -> String {
        let m = p.matches(method, path).expect("a match");
        m.into_iter().find(|(k, _)| k == name).expect("the param").1
    }

    #[test]
    fn go_servemux_patterns() {
        let p = Pattern::parse("GET", "/api/hello/{name}");
        assert_eq!(param(&p, "GET", "/api/hello/bob", "name"), "bob");
        assert_eq!(param(&p, "GET", "/api/hello/b%20o+b&c", "name"), "b o+b&c");
        assert_eq!(param(&p, "GET", "/api/hello/a&b=c", "name"), "a&b=c");
        assert!(p.matches("POST", "/api/hello/bob").is_none());
        assert!(p.matches("GET", "/api/hello").is_none());
        assert!(p.matches("GET", "/api/hello/bob/x").is_none());
        assert!(p.matches("GET", "/api/hello/").is_none());
        let r = Pattern::parse("GET", "/files/{path...}");
        assert_eq!(param(&r, "GET", "/files/a/b.txt", "path"), "a/b.txt");
        assert_eq!(param(&r, "GET", "/files", "path"), "");
        let two = Pattern::parse("GET", "/u/{a}/x/{b}");
        assert_eq!(
            two.matches("GET", "/u/1/x/2"),
            Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert!(two.matches("GET", "/u/1/y/2").is_none());
        let e = Pattern::parse("GET", "/x/{$}");
        assert!(e.matches("GET", "/x/").is_some());
        assert!(e.matches("GET", "/x/y").is_none());
        assert!(e.matches("GET", "/x").is_none());
        let t = Pattern::parse("GET", "/static/");
        assert!(t.matches("GET", "/static/a/b").is_some());
        let a = Pattern::parse("*", "/any");
        assert!(a.matches("DELETE", "/any").is_some());
        assert!(a.matches("DELETE", "/any/more").is_none());
        let root = Pattern::parse("GET", "/");
        assert!(root.matches("GET", "/").is_some());
    }
}
