//! A subscription string as the SDK sends it: `COLL/*` or `COLL/ID`,
//! optionally followed by `?options=<json {query, headers}>`. The whole
//! string is also the SSE event name of every message it receives.

use serde_json::{Map, Value};

/// What a subscription watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `COLL/*`: every record the list rule lets the subscriber see.
    All,
    /// `COLL/ID`: one record, under the view rule.
    One(String),
}

/// A parsed subscription.
#[derive(Debug, Clone)]
pub struct Sub {
    /// The exact string subscribed to (the event name).
    pub raw: String,
    /// Collection name or id as written; `None` for other topics
    /// (`@oauth2`, `PB_CONNECT`…), which only receive direct messages.
    pub collection: Option<String>,
    pub target: Target,
    /// `options.query`: `filter`, `expand`, `fields`, plus values for
    /// `@request.query.*`; `resume` opts into Cairn's resumable feed.
    pub query: Map<String, Value>,
    /// `options.headers`, for `@request.headers.*` (lower-case, `-` → `_`).
    pub headers: Map<String, Value>,
    /// Resume after this change-feed position (Cairn extension; the
    /// token as sent, read by `store::changes::Pos::parse`).
    pub resume: Option<String>,
    /// Does it get live events? Not before its replay has run.
    pub live: bool,
    /// After a resume: the changes this position covers were delivered
    /// already (before the client reconnected, maybe by another node).
    pub seen: Option<crate::store::changes::Seen>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// PocketBase's header-name form: snake_case (`X-Token`, `X-TOKEN`,
/// `xToken` → `x_token`).
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch == '-' || ch == ' ' {
            out.push('_');
            prev_lower = false;
        } else if ch.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
            prev_lower = false;
        } else {
            out.push(ch);
            prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        }
    }
    out
}

impl Sub {
    pub fn parse(raw: &str) -> Self {
        // Only the `options` query parameter is read; the rest of the query
        // is part of the name but means nothing.
        let (topic, qs) = raw.split_once('?').unwrap_or((raw, ""));
        let options: Map<String, Value> = crate::urlencoded::pairs(qs.as_bytes())
            .into_iter()
            .find(|(k, _)| k == "options")
            .and_then(|(_, v)| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        let obj = |k: &str| match options.get(k) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let query: Map<String, Value> = obj("query")
            .into_iter()
            .map(|(k, v)| (k, Value::String(text(&v))))
            .collect();
        let headers: Map<String, Value> = obj("headers")
            .into_iter()
            .map(|(k, v)| (snake(&k), Value::String(text(&v))))
            .collect();
        let resume = query
            .get("resume")
            .and_then(Value::as_str)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        // `COLL/*` and the deprecated bare `COLL` use the list rule,
        // `COLL/ID` the view rule; `@…` topics are not collections.
        let (collection, target) = match topic.split_once('/') {
            Some((c, rest)) if !c.is_empty() && !rest.is_empty() && !rest.contains('/') => (
                Some(c.to_owned()),
                if rest == "*" {
                    Target::All
                } else {
                    Target::One(rest.to_owned())
                },
            ),
            None if !topic.is_empty() && !topic.starts_with('@') && topic != "PB_CONNECT" => {
                (Some(topic.to_owned()), Target::All)
            }
            _ => (None, Target::All),
        };
        Sub {
            raw: raw.to_owned(),
            collection,
            target,
            query,
            headers,
            resume,
            live: true,
            seen: None,
        }
    }

    /// A `query` value as text ("" when absent).
    pub fn q(&self, k: &str) -> &str {
        self.query
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sdk_strings() {
        let s = Sub::parse("posts/*");
        assert_eq!(
            (s.collection.as_deref(), &s.target),
            (Some("posts"), &Target::All)
        );
        let raw = format!(
            "posts/abc?options={}",
            "%7B%22query%22%3A%7B%22filter%22%3A%22a%3D1%22%2C%22resume%22%3A42%7D%2C%22headers%22%3A%7B%22X-Token%22%3A%22t%22%7D%7D"
        );
        let s = Sub::parse(&raw);
        assert_eq!(s.raw, raw);
        assert_eq!(s.target, Target::One("abc".into()));
        assert_eq!(s.q("filter"), "a=1");
        assert_eq!(s.resume.as_deref(), Some("42"));
        assert_eq!(s.headers.get("x_token").and_then(Value::as_str), Some("t"));
        assert_eq!(Sub::parse("@oauth2").collection, None);
        for h in ["X-Token", "X-TOKEN", "xToken", "x_token"] {
            assert_eq!(snake(h), "x_token", "{h}");
        }
        let bare = Sub::parse("posts?x=1");
        assert_eq!(
            (bare.collection.as_deref(), &bare.target),
            (Some("posts"), &Target::All)
        );
        assert_eq!(Sub::parse("a/b/c").collection, None);
    }
}
