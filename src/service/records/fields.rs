//! `fields`: pick which keys of each record are returned, with
//! `name:excerpt(max[,withEllipsis])` for text.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One level of a `fields` spec.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldsTree {
    /// `*` at this level: keep every key.
    pub all: bool,
    pub keys: BTreeMap<String, (Option<Excerpt>, FieldsTree)>,
}

/// `:excerpt(max, withEllipsis)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Excerpt {
    pub max: usize,
    pub ellipsis: bool,
}

/// Splits on commas that are not inside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_excerpt(m: &str) -> Option<Excerpt> {
    let args = m.strip_prefix("excerpt(")?.strip_suffix(')')?;
    let mut it = args.split(',').map(str::trim);
    let max = it.next()?.parse().ok()?;
    let ellipsis = matches!(it.next(), Some("true" | "1" | "t"));
    Some(Excerpt { max, ellipsis })
}

impl FieldsTree {
    pub fn parse(s: &str) -> Self {
        let mut root = FieldsTree::default();
        for entry in split_top(s)
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (path, modifier) = match entry.split_once(':') {
                Some((p, m)) => (p, parse_excerpt(m)),
                None => (entry, None),
            };
            let parts: Vec<&str> = path.split('.').collect();
            let mut node = &mut root;
            for (i, part) in parts.iter().enumerate() {
                if *part == "*" {
                    node.all = true;
                    break;
                }
                let last = i + 1 == parts.len();
                let slot = node.keys.entry((*part).to_owned()).or_default();
                if last {
                    slot.0 = modifier.or(slot.0);
                }
                node = &mut slot.1;
            }
        }
        root
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.keys.is_empty()
    }

    /// Applies the spec to one record object in place.
    pub fn apply(&self, m: &mut Map<String, Value>) {
        if !self.all {
            m.retain(|k, _| self.keys.contains_key(k));
        }
        for (k, (ex, sub)) in &self.keys {
            let Some(v) = m.get_mut(k) else { continue };
            if let Some(ex) = ex
                && let Value::String(s) = v
            {
                *s = excerpt(s, *ex);
            }
            if sub.is_empty() {
                continue;
            }
            match v {
                Value::Object(o) => sub.apply(o),
                Value::Array(a) => {
                    for x in a.iter_mut() {
                        if let Value::Object(o) = x {
                            sub.apply(o);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Plain text of an HTML string: tags removed, whitespace collapsed, cut to
/// `max` characters (with `...` when asked and something was cut).
pub fn excerpt(html: &str, ex: Excerpt) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= ex.max {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(ex.max).collect();
    cut = cut.trim_end().to_owned();
    if ex.ellipsis {
        cut.push_str("...");
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_keys_and_nested_expand() {
        let t = FieldsTree::parse("id,title:excerpt(5,true),expand.author.name");
        let mut m = json!({"id": "1", "title": "<p>Hello   world</p>", "n": 2,
            "expand": {"author": {"name": "A", "email": "a@x"}}})
        .as_object()
        .cloned()
        .unwrap();
        t.apply(&mut m);
        assert_eq!(
            Value::Object(m),
            json!({"id": "1", "title": "Hello...", "expand": {"author": {"name": "A"}}})
        );
    }

    #[test]
    fn star_keeps_everything() {
        let t = FieldsTree::parse("*,expand.a.x");
        let mut m = json!({"id": "1", "expand": {"a": [{"x": 1, "y": 2}]}})
            .as_object()
            .cloned()
            .unwrap();
        t.apply(&mut m);
        assert_eq!(
            Value::Object(m),
            json!({"id": "1", "expand": {"a": [{"x": 1}]}})
        );
    }

    #[test]
    fn excerpts() {
        let e = |s, max, ellipsis| excerpt(s, Excerpt { max, ellipsis });
        assert_eq!(e("<b>a</b>  b\n c", 100, true), "a b c");
        assert_eq!(e("abcdef", 3, false), "abc");
        assert_eq!(e("abcdef", 3, true), "abc...");
    }
}
