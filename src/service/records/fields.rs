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

/// A malformed `fields` value (the caller answers a generic 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFields;

/// `excerpt(max[, withEllipsis])`; anything else is an error.
fn parse_excerpt(m: &str) -> Result<Excerpt, BadFields> {
    let args = m
        .trim()
        .strip_prefix("excerpt(")
        .and_then(|a| a.strip_suffix(')'))
        .ok_or(BadFields)?;
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    if parts.is_empty() || parts.len() > 2 {
        return Err(BadFields);
    }
    // PocketBase casts the number, so `2.5` is 2.
    let max = parts[0].parse::<f64>().map_err(|_| BadFields)?;
    if !max.is_finite() || max < 1.0 {
        return Err(BadFields);
    }
    let ellipsis = matches!(parts.get(1), Some(&("true" | "1")));
    Ok(Excerpt {
        max: max as usize,
        ellipsis,
    })
}

impl FieldsTree {
    /// Parses a `fields` value; a malformed modifier is an error.
    pub fn parse(s: &str) -> Result<Self, BadFields> {
        let mut root = FieldsTree::default();
        for entry in split_top(s)
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (path, modifier) = match entry.split_once(':') {
                Some((p, m)) => (p.trim(), Some(parse_excerpt(m)?)),
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
                    // A repeated name: the last occurrence wins.
                    slot.0 = modifier;
                }
                node = &mut slot.1;
            }
        }
        Ok(root)
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

/// Tags that do not separate words when stripped (everything else does).
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "br", "button", "cite", "code", "data",
    "dfn", "em", "font", "i", "img", "input", "kbd", "label", "mark", "q", "s", "samp", "select",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
];

/// Elements whose content is not text.
const SKIP_CONTENT: &[&str] = &["script", "style", "textarea"];

fn decode_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "#39" => '\'',
        "nbsp" => '\u{a0}',
        n if n.starts_with("#x") || n.starts_with("#X") => {
            char::from_u32(u32::from_str_radix(&n[2..], 16).ok()?)?
        }
        n if n.starts_with('#') => char::from_u32(n[1..].parse().ok()?)?,
        _ => return None,
    })
}

/// The visible text of an HTML fragment.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skip_until: Option<String> = None;
    while let Some(ch) = rest.chars().next() {
        if ch == '<'
            && let Some(end) = rest.find('>')
        {
            let tag = &rest[1..end];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            rest = &rest[end + 1..];
            if let Some(skip) = &skip_until {
                if closing && &name == skip {
                    skip_until = None;
                }
                continue;
            }
            if !closing && SKIP_CONTENT.contains(&name.as_str()) {
                skip_until = Some(name);
                continue;
            }
            if !INLINE_TAGS.contains(&name.as_str()) {
                out.push(' ');
            }
            continue;
        }
        rest = &rest[ch.len_utf8()..];
        if skip_until.is_some() {
            continue;
        }
        if ch == '&'
            && let Some(semi) = rest.find(';').filter(|i| *i <= 10)
            && let Some(decoded) = decode_entity(&rest[..semi])
        {
            out.push(decoded);
            rest = &rest[semi + 1..];
            continue;
        }
        out.push(ch);
    }
    out
}

/// Plain text of an HTML string: tags removed, ASCII whitespace collapsed,
/// trimmed and cut to `max` characters (with `...` when asked and cut).
pub fn excerpt(html: &str, ex: Excerpt) -> String {
    let text = html_text(html);
    let mut collapsed = String::with_capacity(text.len());
    let mut in_space = false;
    for ch in text.chars() {
        if ch.is_ascii_whitespace() {
            if !in_space {
                collapsed.push(' ');
            }
            in_space = true;
        } else {
            collapsed.push(ch);
            in_space = false;
        }
    }
    let trimmed = collapsed.trim();
    if trimmed.chars().count() <= ex.max {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(ex.max).collect();
    cut = cut.trim().to_owned();
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
        let t = FieldsTree::parse("id,title:excerpt(5,true),expand.author.name").unwrap();
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
        let t = FieldsTree::parse("*,expand.a.x").unwrap();
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
        assert_eq!(e("<br>a<br/>b<hr>c", 100, false), "ab c");
        assert_eq!(e("x<script>bad()</script>y &amp; z", 100, false), "xy & z");
        assert!(parse_excerpt("excerpt(0)").is_err());
        assert!(parse_excerpt("excerpt(1,2,3)").is_err());
        assert_eq!(
            parse_excerpt("excerpt(2.5, 1)"),
            Ok(Excerpt {
                max: 2,
                ellipsis: true
            })
        );
    }
}
