//! `routerAdd` paths: Go `ServeMux` patterns (`/a/{name}`, `/files/{path...}`,
//! `/exact/{$}`, a trailing `/` matching everything below it).

use std::collections::HashMap;

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

    /// The path parameters when `method` and `path` match.
    pub fn matches(&self, method: &str, path: &str) -> Option<HashMap<String, String>> {
        let any = self.method.is_empty() || self.method == "*";
        let method_ok = any || self.method == method || (method == "HEAD" && self.method == "GET");
        if !method_ok {
            return None;
        }
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let parts: Vec<&str> = if parts == [""] { vec![] } else { parts };
        let mut params = HashMap::new();
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Seg::Lit(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                    i += 1;
                }
                Seg::Param(name) => {
                    let v = parts.get(i).filter(|v| !v.is_empty())?;
                    params.insert(name.clone(), decode(v));
                    i += 1;
                }
                Seg::Rest(name) => {
                    params.insert(name.clone(), decode(&parts[i.min(parts.len())..].join("/")));
                    return Some(params);
                }
                Seg::End => {
                    // `{$}`: only the path ending in the slash itself.
                    return (parts.len() == i + 1 && parts[i].is_empty()).then_some(params);
                }
            }
        }
        let rest = &parts[i.min(parts.len())..];
        if rest.is_empty() || self.prefix {
            Some(params)
        } else {
            None
        }
    }
}

fn decode(s: &str) -> String {
    crate::urlencoded::pairs(format!("v={}", s.replace('+', "%2B")).as_bytes())
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_else(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_servemux_patterns() {
        let p = Pattern::parse("GET", "/api/hello/{name}");
        assert_eq!(
            p.matches("GET", "/api/hello/bob").expect("m")["name"],
            "bob"
        );
        assert!(p.matches("POST", "/api/hello/bob").is_none());
        assert!(p.matches("GET", "/api/hello").is_none());
        assert!(p.matches("GET", "/api/hello/bob/x").is_none());
        let r = Pattern::parse("GET", "/files/{path...}");
        assert_eq!(
            r.matches("GET", "/files/a/b.txt").expect("m")["path"],
            "a/b.txt"
        );
        let e = Pattern::parse("GET", "/x/{$}");
        assert!(e.matches("GET", "/x/").is_some());
        assert!(e.matches("GET", "/x/y").is_none());
        let t = Pattern::parse("GET", "/static/");
        assert!(t.matches("GET", "/static/a/b").is_some());
        let a = Pattern::parse("*", "/any");
        assert!(a.matches("DELETE", "/any").is_some());
    }
}
