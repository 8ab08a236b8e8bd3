//! Rate limiting with PocketBase's settings (`rateLimits.rules`: `label`,
//! `maxRequests`, `duration`, `audience`) and PocketBase's semantics, so a
//! configuration moved over behaves the same:
//!
//! - a label is a tag (`users:create`, `*:auth`, `users:authWithPassword`)
//!   or a path (`/api/`, `POST /api/batch`; a trailing `/` makes a prefix);
//! - one rule applies per request: on collection routes the first of
//!   `coll:action`, `coll:tag`, `*:action`, `*:tag`, then path rules; path
//!   rules try exact labels before prefixes (longest first);
//! - counters are fixed windows of `duration` seconds per client IP — per
//!   collection and route on collection routes, per rule elsewhere;
//! - superusers and `excludedIPs` are never limited.
//!
//! Fixed windows (not a token bucket such as governor's GCRA) because that
//! is what PocketBase users configured their numbers against: "N requests,
//! then nothing until the window ends". Beyond PocketBase, sign-in attempts
//! are also counted per identity (any IP), and a 429 carries `Retry-After`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use crate::app::App;
use crate::service::{Actor, auth};

/// The limits in force and their counters; both replaced when settings change.
pub struct Limiter {
    current: RwLock<Arc<Rules>>,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

#[derive(Default)]
struct Rules {
    enabled: bool,
    excluded_ips: Vec<String>,
    rules: Vec<Rule>,
    /// The settings' `rateLimits` these were built from.
    source: Value,
}

struct Rule {
    key: String,
    kind: Label,
    audience: String,
    max: u32,
    window: Duration,
}

#[derive(Debug, PartialEq)]
enum Label {
    Path {
        method: Option<String>,
        path: String,
    },
    Tag {
        collection: String,
        action: String,
    },
}

impl Label {
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some((method, path)) = s.split_once(' ')
            && path.starts_with('/')
        {
            return Some(Label::Path {
                method: Some(method.to_owned()),
                path: path.to_owned(),
            });
        }
        if s.starts_with('/') {
            return Some(Label::Path {
                method: None,
                path: s.to_owned(),
            });
        }
        let (collection, action) = s.split_once(':').unwrap_or(("", s));
        (!action.is_empty()).then(|| Label::Tag {
            collection: collection.to_owned(),
            action: action.to_owned(),
        })
    }

    fn path_match(&self, method: &Method, path: &str) -> Option<(bool, usize)> {
        let Label::Path { method: m, path: p } = self else {
            return None;
        };
        if m.as_deref().is_some_and(|m| m != method.as_str()) {
            return None;
        }
        if p == path {
            return Some((true, p.len()));
        }
        let prefix = p.ends_with('/') && (path.starts_with(p.as_str()) || format!("{path}/") == *p);
        prefix.then_some((false, p.len()))
    }
}

/// Is `s` a label PocketBase accepts:
/// `^(\w+ \/[\w\/-]*|\/[\w\/-]*|\w+:\w+|\*:\w+|\w+)$`?
pub fn valid_label(s: &str) -> bool {
    let word = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_alphanumeric() || c == '_');
    let path = |x: &str| {
        x.starts_with('/')
            && x[1..]
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '-'))
    };
    if let Some((m, p)) = s.split_once(' ') {
        return word(m) && path(p);
    }
    if let Some((c, a)) = s.split_once(':') {
        return (c == "*" || word(c)) && word(a);
    }
    path(s) || word(s)
}

impl Rules {
    fn from_settings(v: &Value) -> Self {
        let rl = v.get("rateLimits");
        let get = |k: &str| rl.and_then(|r| r.get(k));
        let excluded_ips = get("excludedIPs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut rules = Vec::new();
        for r in get("rules").and_then(Value::as_array).into_iter().flatten() {
            let label = r.get("label").and_then(Value::as_str).unwrap_or_default();
            let max = r.get("maxRequests").and_then(Value::as_u64).unwrap_or(0);
            let secs = r.get("duration").and_then(Value::as_u64).unwrap_or(0);
            let audience = r
                .get("audience")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (Some(kind), true) = (Label::parse(label), max > 0 && secs > 0) else {
                continue;
            };
            rules.push(Rule {
                key: format!("{label}@@{audience}"),
                kind,
                audience: audience.to_owned(),
                max: u32::try_from(max).unwrap_or(u32::MAX),
                window: Duration::from_secs(secs),
            });
        }
        Rules {
            source: rl.cloned().unwrap_or_default(),
            enabled: get("enabled").and_then(Value::as_bool).unwrap_or(false),
            excluded_ips,
            rules,
        }
    }

    fn audience_ok(r: &Rule, authed: bool) -> bool {
        match r.audience.as_str() {
            "@guest" => !authed,
            "@auth" => authed,
            _ => true,
        }
    }

    fn tag(&self, collection: &str, action: &str, authed: bool) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            Self::audience_ok(r, authed)
                && matches!(&r.kind, Label::Tag { collection: c, action: a }
                    if c == collection && a == action)
        })
    }

    /// The best path rule: exact before prefix, longer prefixes first.
    fn path(&self, method: &Method, path: &str, authed: bool) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| Self::audience_ok(r, authed))
            .filter_map(|r| r.kind.path_match(method, path).map(|m| (r, m)))
            // Exact before prefix, longer first, a method-specific label
            // before a plain one.
            .max_by_key(|(r, (exact, len))| {
                let method = matches!(
                    r.kind,
                    Label::Path {
                        method: Some(_),
                        ..
                    }
                );
                (*exact, *len, method)
            })
            .map(|(r, _)| r)
    }

    /// The one rule for a request.
    fn pick(
        &self,
        method: &Method,
        path: &str,
        route: Option<&Route>,
        authed: bool,
    ) -> Option<&Rule> {
        route
            .and_then(|rt| self.route_tag(rt, authed))
            .or_else(|| self.path(method, path, authed))
    }

    /// The first of `coll:action`, `coll:tag`, `*:action`, `*:tag`.
    fn route_tag(&self, rt: &Route, authed: bool) -> Option<&Rule> {
        let coll = rt.collection.as_str();
        [
            (coll, Some(rt.action)),
            (coll, rt.tag),
            ("*", Some(rt.action)),
            ("*", rt.tag),
        ]
        .into_iter()
        .find_map(|(c, a)| self.tag(c, a?, authed))
    }
}

/// A records or auth route of one collection: its action and extra tag.
struct Route {
    collection: String,
    action: &'static str,
    tag: Option<&'static str>,
}

fn route_of(method: &Method, path: &str) -> Option<(String, &'static str, Option<&'static str>)> {
    let rest = path.strip_prefix("/api/collections/")?;
    let mut parts = rest.split('/');
    let coll = parts.next().filter(|c| !c.is_empty())?.to_owned();
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    let m = method.as_str();
    let (action, tag) = match (a, b, c, m) {
        (Some("records"), None, _, "GET") => ("list", None),
        (Some("records"), None, _, "POST") => ("create", None),
        (Some("records"), Some(_), None, "GET") => ("view", None),
        (Some("records"), Some(_), None, "PATCH") => ("update", None),
        (Some("records"), Some(_), None, "DELETE") => ("delete", None),
        (Some("auth-methods"), None, _, "GET") => ("listAuthMethods", None),
        (Some(x), None, _, "POST") => match x {
            "auth-refresh" => ("authRefresh", None),
            "auth-with-password" => ("authWithPassword", Some("auth")),
            "auth-with-oauth2" => ("authWithOAuth2", Some("auth")),
            "auth-with-otp" => ("authWithOTP", Some("auth")),
            "auth-with-totp" => ("authWithTOTP", Some("auth")),
            "request-otp" => ("requestOTP", None),
            "request-password-reset" => ("requestPasswordReset", None),
            "confirm-password-reset" => ("confirmPasswordReset", None),
            "request-verification" => ("requestVerification", None),
            "confirm-verification" => ("confirmVerification", None),
            "request-email-change" => ("requestEmailChange", None),
            "confirm-email-change" => ("confirmEmailChange", None),
            _ => return None,
        },
        _ => return None,
    };
    Some((coll, action, tag))
}

impl Limiter {
    pub fn new(settings: &Value) -> Self {
        Self {
            current: RwLock::new(Arc::new(Rules::from_settings(settings))),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Applies new settings; counters restart, like PocketBase's.
    pub fn configure(&self, settings: &Value) {
        if let Ok(mut g) = self.current.write() {
            *g = Arc::new(Rules::from_settings(settings));
        }
        if let Ok(mut w) = self.windows.lock() {
            w.clear();
        }
    }

    /// Applies settings another node saved (PostgreSQL, docs/scaling.md):
    /// counters restart only if the limits changed. This node's own save
    /// restarted them already, and its change may come back through the
    /// cluster's wake-up after requests were counted under it. Compared and
    /// installed under one lock, so a save racing it restarts them once.
    pub fn follow(&self, settings: &Value) {
        let Ok(mut g) = self.current.write() else {
            return;
        };
        if settings.get("rateLimits").unwrap_or(&Value::Null) == &g.source {
            return;
        }
        *g = Arc::new(Rules::from_settings(settings));
        if let Ok(mut w) = self.windows.lock() {
            w.clear();
        }
    }

    fn rules(&self) -> Arc<Rules> {
        self.current
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default()
    }

    /// Counts one request in `rule`'s window for `key`; the wait when full.
    fn hit(&self, rule: &Rule, key: &str) -> Result<(), Duration> {
        let Ok(mut map) = self.windows.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(3600));
        }
        let entry = map
            .entry(format!("{}\0{key}", rule.key))
            .or_insert((now, 0));
        if now.duration_since(entry.0) >= rule.window {
            *entry = (now, 0);
        }
        if entry.1 >= rule.max {
            return Err(rule.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Counts one sign-in attempt naming `identity` (from any IP) under the
    /// rule of that collection's route (`action` as in `route_of`).
    /// Superusers and excluded IPs are exempt, as from every limit.
    pub fn check_identity(
        &self,
        caller: &Actor,
        ip: &str,
        collection: &str,
        action: &'static str,
        identity: &str,
    ) -> Result<(), ApiError> {
        let rules = self.rules();
        if !rules.enabled
            || identity.is_empty()
            || caller.is_superuser()
            || rules.excluded_ips.iter().any(|x| x == ip)
        {
            return Ok(());
        }
        let route = Route {
            collection: collection.to_owned(),
            action,
            tag: action.starts_with("authWith").then_some("auth"),
        };
        // Only tag rules count per identity; path rules are per IP.
        match rules.route_tag(&route, false) {
            Some(r) => self
                .hit(
                    r,
                    &format!(
                        "identity\0{collection}\0{action}\0{}",
                        identity.to_lowercase()
                    ),
                )
                .map_err(too_many),
            None => Ok(()),
        }
    }
}

fn too_many(wait: Duration) -> ApiError {
    let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests.");
    e.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
    e
}

/// The client IP: the peer address, or the configured trusted proxy header.
pub fn client_ip(settings: &Value, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let proxy = settings.get("trustedProxy");
    let leftmost = proxy
        .and_then(|p| p.get("useLeftmostIP"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for h in proxy
        .and_then(|p| p.get("headers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if let Some(v) = headers.get(h).and_then(|v| v.to_str().ok()) {
            let mut ips = v.split(',').map(str::trim).filter(|s| !s.is_empty());
            let ip = if leftmost {
                ips.next()
            } else {
                ips.next_back()
            };
            if let Some(ip) = ip {
                return ip.to_owned();
            }
        }
    }
    peer.map(|p| p.ip().to_string()).unwrap_or_default()
}

/// The step of `front::layer`: the 429 to answer when the request is over
/// its rule's limit.
pub fn check(app: &Arc<App>, req: &Request) -> Option<Response> {
    let rules = app.limiter.rules();
    if !rules.enabled || rules.rules.is_empty() {
        return None;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip = client_ip(&app.settings(), req.headers(), peer);
    if rules.excluded_ips.contains(&ip) {
        return None;
    }
    let actor = match req.extensions().get::<super::identity::Resolved>() {
        Some(r) => r.0.clone(),
        None => auth::actor_from_header(
            &app.store,
            req.headers()
                .get(AUTHORIZATION)
                .and_then(|h| h.to_str().ok()),
        ),
    };
    if actor.is_superuser() {
        return None;
    }
    let authed = actor.identity().is_some();
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let route = route_of(&method, &path).map(|(coll, action, tag)| Route {
        collection: app
            .store
            .schema()
            .get(&coll)
            .map(|c| c.name.clone())
            .unwrap_or(coll),
        action,
        tag,
    });
    if let Some(rule) = rules.pick(&method, &path, route.as_ref(), authed) {
        let scope = route
            .as_ref()
            .map(|r| format!("{}\0{}", r.collection, r.action))
            .unwrap_or_default();
        if let Err(wait) = app.limiter.hit(rule, &format!("{scope}\0{ip}")) {
            return Some(too_many(wait).into_response());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(v: Value) -> Rules {
        Rules::from_settings(&json!({"rateLimits": {"enabled": true, "rules": v}}))
    }

    #[test]
    fn label_formats() {
        for ok in [
            "mytag",
            "users:auth",
            "*:auth",
            "/",
            "/api/",
            "POST /api/collections/",
            "post /api/x",
        ] {
            assert!(valid_label(ok), "{ok}");
        }
        for bad in ["bad label!", "users:*", "*", "GET api/x", "/api/x?y=1", ""] {
            assert!(!valid_label(bad), "{bad}");
        }
    }

    #[test]
    fn one_rule_per_request() {
        let r = rules(json!([
            {"label": "/api/", "maxRequests": 100, "duration": 10},
            {"label": "POST /api/batch", "maxRequests": 1, "duration": 10},
            {"label": "/api/batch", "maxRequests": 2, "duration": 10},
            {"label": "*:auth", "maxRequests": 3, "duration": 10},
            {"label": "users:authWithPassword", "maxRequests": 4, "duration": 10},
        ]));
        let pick = |m: Method, p: &str| {
            let route = route_of(&m, p).map(|(collection, action, tag)| Route {
                collection,
                action,
                tag,
            });
            r.pick(&m, p, route.as_ref(), false).map(|x| x.key.clone())
        };
        assert_eq!(
            pick(Method::POST, "/api/batch").as_deref(),
            Some("POST /api/batch@@")
        );
        assert_eq!(
            pick(Method::GET, "/api/batch").as_deref(),
            Some("/api/batch@@")
        );
        assert_eq!(pick(Method::GET, "/api/health").as_deref(), Some("/api/@@"));
        assert_eq!(pick(Method::GET, "/other"), None);
        assert_eq!(
            pick(Method::POST, "/api/collections/users/auth-with-password").as_deref(),
            Some("users:authWithPassword@@")
        );
        assert_eq!(
            pick(Method::POST, "/api/collections/staff/auth-with-otp").as_deref(),
            Some("*:auth@@")
        );
    }

    #[test]
    fn fixed_windows() {
        let settings = json!({"rateLimits": {"enabled": true, "rules": [
            {"label": "*:auth", "maxRequests": 2, "duration": 60}
        ]}});
        let l = Limiter::new(&settings);
        let rules = l.rules();
        let rule = &rules.rules[0];
        assert!(l.hit(rule, "a").is_ok());
        assert!(l.hit(rule, "a").is_ok());
        let wait = l.hit(rule, "a").expect_err("limited");
        assert!(wait > Duration::from_secs(58) && wait <= Duration::from_secs(60));
        assert!(l.hit(rule, "b").is_ok());
        l.configure(&settings);
        let rules = l.rules();
        assert!(
            l.hit(&rules.rules[0], "a").is_ok(),
            "saving settings resets counters"
        );
    }

    #[test]
    fn settings_followed_from_another_node_restart_counters_only_if_the_limits_changed() {
        let settings = json!({"meta": {"appName": "a"}, "rateLimits": {"enabled": true, "rules": [
            {"label": "*:auth", "maxRequests": 1, "duration": 60}
        ]}});
        let l = Limiter::new(&settings);
        let limited = |l: &Limiter| l.hit(&l.rules().rules[0], "a").is_err();
        assert!(!limited(&l));
        assert!(limited(&l));
        // The same limits (this node's own save coming back, or another
        // setting changed): the counters stay.
        let mut other = settings.clone();
        other["meta"]["appName"] = json!("b");
        l.follow(&other);
        assert!(limited(&l), "counters kept");
        // Changed limits: installed, counters restart.
        let mut changed = settings.clone();
        changed["rateLimits"]["rules"][0]["maxRequests"] = json!(2);
        l.follow(&changed);
        assert_eq!(l.rules().rules[0].max, 2);
        assert!(!limited(&l));
    }
}
