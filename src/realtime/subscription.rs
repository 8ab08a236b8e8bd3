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
    /// Resume after this change sequence number (Cairn extension).
    pub resume: Option<i64>,
    /// Events with `seq` below this are not for this subscription (it was
    /// added later, or its replay has not run yet).
    pub live_from: i64,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Sub {
    pub fn parse(raw: &str) -> Self {
        let (topic, opts) = match raw.split_once("?options=") {
            Some((t, o)) => (t, Some(o)),
            None => (raw, None),
        };
        let options: Map<String, Value> = opts
            .and_then(|o| {
                let decoded = crate::urlencoded::pairs(format!("x={o}").as_bytes())
                    .into_iter()
                    .next()
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                serde_json::from_str(&decoded).ok()
            })
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
            .map(|(k, v)| (k.to_lowercase().replace('-', "_"), Value::String(text(&v))))
            .collect();
        let resume = query
            .get("resume")
            .and_then(|v| v.as_str()?.trim().parse::<i64>().ok());
        let (collection, target) = match topic.split_once('/') {
            Some((c, rest)) if !c.is_empty() && !rest.is_empty() && !rest.contains('/') => (
                Some(c.to_owned()),
                if rest == "*" {
                    Target::All
                } else {
                    Target::One(rest.to_owned())
                },
            ),
            _ => (None, Target::All),
        };
        Sub {
            raw: raw.to_owned(),
            collection,
            target,
            query,
            headers,
            resume,
            live_from: 0,
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
        assert_eq!(s.resume, Some(42));
        assert_eq!(s.headers.get("x_token").and_then(Value::as_str), Some("t"));
        assert_eq!(Sub::parse("@oauth2").collection, None);
        assert_eq!(Sub::parse("a/b/c").collection, None);
    }
}
