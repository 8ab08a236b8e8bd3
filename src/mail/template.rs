//! Mail templates: PocketBase's placeholders (`{APP_NAME}`, `{TOKEN}`,
//! `{RECORD:email}`…) keep working, and the same text is a minijinja
//! template, so admins can also write `{{ RECORD.name | upper }}`.
//!
//! Placeholders are rewritten to minijinja expressions *before* rendering
//! and values are passed as variables, never spliced into the template, so
//! a record field holding `{{ … }}` is printed, not interpreted. Record
//! values and the alert info are HTML-escaped the way PocketBase does it
//! (`&lt; &gt; &amp; &#34; &#39;`), in subjects too. A placeholder this mail
//! has no value for (`{TOKEN}` in an OTP mail, a hidden field) stays as text.

use minijinja::{AutoEscape, Environment, Value as Jinja};
use serde_json::{Map, Value};

/// The variables a mail template may use.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    pub app_name: String,
    pub app_url: String,
    pub token: String,
    pub otp: String,
    pub otp_id: String,
    pub alert_info: String,
    pub record: Map<String, Value>,
}

const NAMES: [&str; 6] = [
    "APP_NAME",
    "APP_URL",
    "TOKEN",
    "OTP_ID",
    "OTP",
    "ALERT_INFO",
];

/// Rewrites `{NAME}` and `{RECORD:field}` to `{{ NAME }}` / `{{ RECORD.field }}`
/// when `has(name)` (for records: `has("RECORD:field")`), leaving text that
/// is already minijinja (`{{ … }}`) alone.
pub fn to_jinja(src: &str, has: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut rest = src;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let prev_brace = out.ends_with('{');
        let replaced = (!prev_brace && !after.starts_with('{'))
            .then(|| placeholder(after, has))
            .flatten();
        match replaced {
            Some((expr, used)) => {
                out.push_str("{{ ");
                out.push_str(&expr);
                out.push_str(" }}");
                rest = &after[used..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `NAME}` or `RECORD:field}` at the start of `s`: the expression
/// and the bytes consumed (including the closing brace).
fn placeholder(s: &str, has: &dyn Fn(&str) -> bool) -> Option<(String, usize)> {
    let end = s.find('}')?;
    let inner = &s[..end];
    if NAMES.contains(&inner) {
        return has(inner).then(|| (inner.to_owned(), end + 1));
    }
    let field = inner.strip_prefix("RECORD:")?;
    let ok = !field.is_empty()
        && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && has(inner);
    ok.then(|| (format!("RECORD[{field:?}]"), end + 1))
}

/// HTML-escapes like Go's `html.EscapeString` (what PocketBase uses).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders a template. A broken template renders as its raw text rather
/// than failing the whole flow.
pub fn render(src: &str, vars: &Vars) -> String {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Bounded work for admin-written templates.
    env.set_recursion_limit(16);
    let record: Map<String, Value> = vars
        .record
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k.clone(), Value::String(escape(s))),
            other => (k.clone(), other.clone()),
        })
        .collect();
    let has = |name: &str| match name.strip_prefix("RECORD:") {
        Some(field) => vars.record.contains_key(field),
        None => match name {
            "TOKEN" => !vars.token.is_empty(),
            "OTP" => !vars.otp.is_empty(),
            "OTP_ID" => !vars.otp_id.is_empty(),
            "ALERT_INFO" => !vars.alert_info.is_empty(),
            _ => true,
        },
    };
    let ctx = minijinja::context! {
        APP_NAME => &vars.app_name,
        APP_URL => vars.app_url.trim_end_matches('/'),
        TOKEN => &vars.token,
        OTP => &vars.otp,
        OTP_ID => &vars.otp_id,
        ALERT_INFO => escape(&vars.alert_info),
        RECORD => Jinja::from(minijinja::value::Serde(&record)),
    };
    match env.render_str(&to_jinja(src, &has), ctx) {
        Ok(s) => s,
        // Not minijinja (e.g. a PocketBase template with Go's `{{ .X }}`
        // text): placeholders only, everything else stays as written.
        Err(_) => substitute(src, vars, &record, &has),
    }
}

/// One pass of PocketBase placeholder replacement, values never re-scanned.
fn substitute(
    src: &str,
    vars: &Vars,
    record: &Map<String, Value>,
    has: &dyn Fn(&str) -> bool,
) -> String {
    let value = |name: &str| -> Option<String> {
        if !has(name) {
            return None;
        }
        if let Some(field) = name.strip_prefix("RECORD:") {
            return record.get(field).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        Some(match name {
            "APP_NAME" => vars.app_name.clone(),
            "APP_URL" => vars.app_url.trim_end_matches('/').to_owned(),
            "TOKEN" => vars.token.clone(),
            "OTP" => vars.otp.clone(),
            "OTP_ID" => vars.otp_id.clone(),
            "ALERT_INFO" => escape(&vars.alert_info),
            _ => return None,
        })
    };
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after
            .find('}')
            .and_then(|end| Some((value(&after[..end])?, end)))
        {
            Some((v, end)) => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A plain-text alternative of an HTML body: tags dropped, entities of the
/// escaper decoded, blank runs collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for ch in html.chars() {
        match (in_tag, ch) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let t = tag.to_ascii_lowercase();
                if t.starts_with("br") || t.starts_with("/p") || t.starts_with("/div") {
                    out.push('\n');
                }
                if t.starts_with("a ")
                    && let Some(href) = attr(&tag, "href")
                {
                    out.push_str(&format!("{href} "));
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut text = String::new();
    for l in lines {
        if l.is_empty() && (text.is_empty() || text.ends_with("\n\n")) {
            continue;
        }
        text.push_str(l);
        text.push('\n');
    }
    text.trim().to_owned()
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let i = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[i..].find('"')?;
    Some(tag[i..i + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_expressions() {
        let all = |_: &str| true;
        assert_eq!(to_jinja("a {APP_NAME} b", &all), "a {{ APP_NAME }} b");
        assert_eq!(to_jinja("{RECORD:email}", &all), "{{ RECORD[\"email\"] }}");
        assert_eq!(to_jinja("{{ TOKEN }}", &all), "{{ TOKEN }}");
        assert_eq!(to_jinja("{UNKNOWN} {", &all), "{UNKNOWN} {");
        assert_eq!(to_jinja("{RECORD:a b}", &all), "{RECORD:a b}");
        let none = |_: &str| false;
        assert_eq!(to_jinja("{TOKEN} {RECORD:x}", &none), "{TOKEN} {RECORD:x}");
    }

    #[test]
    fn values_are_escaped_not_interpreted() {
        let mut record = Map::new();
        record.insert("name".into(), "{{ 7*7 }} <b>x</b>".into());
        let vars = Vars {
            app_name: "Acme".into(),
            record,
            ..Vars::default()
        };
        let html = render("<p>{APP_NAME}: {RECORD:name} {TOKEN}</p>", &vars);
        assert_eq!(html, "<p>Acme: {{ 7*7 }} &lt;b&gt;x&lt;/b&gt; {TOKEN}</p>");
        assert_eq!(render("{{ RECORD.missing }}|", &vars), "|");
        // Not minijinja: placeholders only, the rest verbatim.
        assert_eq!(
            render("{APP_NAME} {{ .HTMLContent }} {RECORD:name}", &vars),
            "Acme {{ .HTMLContent }} {{ 7*7 }} &lt;b&gt;x&lt;/b&gt;"
        );
        assert_eq!(escape("'\"&"), "&#39;&#34;&amp;");
    }

    #[test]
    fn text_alternative_keeps_links() {
        let t = html_to_text("<p>Hello,</p>\n<p><a href=\"http://x/t\">Verify</a></p>");
        assert_eq!(t, "Hello,\n\nhttp://x/t Verify");
        let t = html_to_text("<a class=\"btn\" href=\"http://x/AbC.dEf\">Go</a>");
        assert_eq!(t, "http://x/AbC.dEf Go");
    }
}
