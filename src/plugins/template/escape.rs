//! Go `html/template`'s contextual auto-escaping, for the contexts hook
//! templates use: HTML text, quoted (and unquoted) attribute values, and
//! URL attributes (`href`, `src`...: `javascript:` and other schemes become
//! `#ZgotmplZ`, the rest is normalised or, after `?`/`#`, query-escaped).
//! HTML comments in the template are dropped, as Go does. Actions inside
//! `<script>`, `<style>`, `on*`/`style` attributes or tag and attribute
//! names need Go's JS and CSS escapers, which Cairn does not have: they
//! fail with a message naming the action instead of printing unsafely.
//!
//! The context is tracked over the template's literal text as it is
//! written; printed values are escaped, so they never change it.

use super::exec::{V, go_print};

#[derive(Debug, Clone, Default, PartialEq)]
enum State {
    #[default]
    Text,
    Comment,
    /// Inside `<name` (`close`: `</name`).
    TagName {
        name: String,
        close: bool,
    },
    InTag {
        tag: String,
    },
    AttrName {
        tag: String,
        name: String,
    },
    AfterName {
        tag: String,
        name: String,
    },
    BeforeValue {
        tag: String,
        name: String,
    },
    Value {
        tag: String,
        name: String,
        quote: Option<char>,
        so_far: String,
    },
    /// Inside `<script>`/`<style>` until its end tag.
    Raw {
        tag: String,
    },
}

/// The escaping context of the output written so far.
#[derive(Debug, Default)]
pub struct Escaper {
    state: State,
}

fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '>' | '/' | '=' | '"' | '\'' | '<')
}

impl Escaper {
    /// Feeds literal template text; returns what to write (comments gone).
    pub fn text(&mut self, t: &str) -> String {
        let mut out = String::with_capacity(t.len());
        let mut i = 0;
        while i < t.len() {
            let rest = &t[i..];
            let Some(c) = rest.chars().next() else { break };
            let state = std::mem::take(&mut self.state);
            let mut emit = true;
            let mut step = c.len_utf8();
            self.state = match state {
                State::Text if rest.starts_with("<!--") => {
                    emit = false;
                    step = 4;
                    State::Comment
                }
                State::Text if c == '<' => {
                    let next = rest[1..].chars().next();
                    match next {
                        Some(n) if n.is_ascii_alphabetic() => State::TagName {
                            name: String::new(),
                            close: false,
                        },
                        Some('/') => {
                            out.push_str("</");
                            step = 2;
                            emit = false;
                            State::TagName {
                                name: String::new(),
                                close: true,
                            }
                        }
                        _ => State::Text,
                    }
                }
                State::Text => State::Text,
                State::Comment => {
                    emit = false;
                    match rest.find("-->") {
                        Some(end) => {
                            step = end + 3;
                            State::Text
                        }
                        None => {
                            step = rest.len();
                            State::Comment
                        }
                    }
                }
                State::TagName { mut name, close } => {
                    if is_name_char(c) {
                        name.push(c.to_ascii_lowercase());
                        State::TagName { name, close }
                    } else if c == '>' {
                        end_tag(name, close)
                    } else {
                        State::InTag {
                            tag: if close { String::new() } else { name },
                        }
                    }
                }
                State::InTag { tag } => match c {
                    '>' => end_tag(tag, false),
                    c if c.is_whitespace() || c == '/' => State::InTag { tag },
                    c => State::AttrName {
                        tag,
                        name: c.to_ascii_lowercase().to_string(),
                    },
                },
                State::AttrName { tag, mut name } => match c {
                    '>' => end_tag(tag, false),
                    '=' => State::BeforeValue { tag, name },
                    c if c.is_whitespace() || c == '/' => State::AfterName { tag, name },
                    c => {
                        name.push(c.to_ascii_lowercase());
                        State::AttrName { tag, name }
                    }
                },
                State::AfterName { tag, name } => match c {
                    '>' => end_tag(tag, false),
                    '=' => State::BeforeValue { tag, name },
                    c if c.is_whitespace() => State::AfterName { tag, name },
                    c => State::AttrName {
                        tag,
                        name: c.to_ascii_lowercase().to_string(),
                    },
                },
                State::BeforeValue { tag, name } => match c {
                    '>' => end_tag(tag, false),
                    '"' | '\'' => State::Value {
                        tag,
                        name,
                        quote: Some(c),
                        so_far: String::new(),
                    },
                    c if c.is_whitespace() => State::BeforeValue { tag, name },
                    c => State::Value {
                        tag,
                        name,
                        quote: None,
                        so_far: c.to_string(),
                    },
                },
                State::Value {
                    tag,
                    name,
                    quote,
                    mut so_far,
                } => match (quote, c) {
                    (Some(q), c) if c == q => State::InTag { tag },
                    (None, '>') => end_tag(tag, false),
                    (None, c) if c.is_whitespace() => State::InTag { tag },
                    (_, c) => {
                        so_far.push(c);
                        State::Value {
                            tag,
                            name,
                            quote,
                            so_far,
                        }
                    }
                },
                State::Raw { tag } => {
                    let lower = rest.to_ascii_lowercase();
                    match lower.find(&format!("</{tag}")) {
                        Some(0) => {
                            out.push_str("</");
                            emit = false;
                            step = 2;
                            State::TagName {
                                name: String::new(),
                                close: true,
                            }
                        }
                        Some(at) => {
                            out.push_str(&rest[..at]);
                            emit = false;
                            step = at;
                            State::Raw { tag }
                        }
                        None => {
                            out.push_str(rest);
                            emit = false;
                            step = rest.len();
                            State::Raw { tag }
                        }
                    }
                }
            };
            if emit {
                out.push_str(&rest[..step]);
            }
            i += step;
        }
        out
    }

    /// Escapes a printed value for the current context, or refuses.
    pub fn value(&mut self, v: &V, printed: &str, action: &str) -> Result<String, String> {
        let refuse = |place: &str| {
            Err(format!(
                "$template: {{{{{action}}}}} {place} is not supported by Cairn's $template (Go's JS/CSS escaping is not implemented)"
            ))
        };
        match &mut self.state {
            State::Text => Ok(match v {
                V::Html(s) => s.clone(),
                _ => html(printed),
            }),
            State::Comment => Ok(String::new()),
            State::Raw { tag } => refuse(&format!("inside <{tag}>")),
            State::TagName { .. }
            | State::InTag { .. }
            | State::AttrName { .. }
            | State::AfterName { .. } => refuse("in a tag or attribute name"),
            State::BeforeValue { tag, name } => {
                let (tag, name) = (std::mem::take(tag), std::mem::take(name));
                let out = attr_value(&name, "", printed, true).or_else(|p| refuse(&p))?;
                self.state = State::Value {
                    tag,
                    name,
                    quote: None,
                    so_far: "x".into(),
                };
                Ok(out)
            }
            State::Value {
                name,
                quote,
                so_far,
                ..
            } => {
                let out =
                    attr_value(name, so_far, printed, quote.is_none()).or_else(|p| refuse(&p))?;
                so_far.push('x');
                Ok(out)
            }
        }
    }
}

/// After `>`: `<script>`/`<style>` content is raw text.
fn end_tag(tag: String, close: bool) -> State {
    if !close && (tag == "script" || tag == "style") {
        State::Raw { tag }
    } else {
        State::Text
    }
}

/// Attributes whose values are URLs (Go's `attrTypeMap`, plus names
/// containing `src`, `uri` or `url`).
fn is_url_attr(name: &str) -> bool {
    const URLS: [&str; 14] = [
        "action",
        "archive",
        "background",
        "cite",
        "classid",
        "codebase",
        "data",
        "formaction",
        "href",
        "icon",
        "longdesc",
        "manifest",
        "poster",
        "usemap",
    ];
    let n = name.strip_prefix("data-").unwrap_or(name);
    URLS.contains(&n) || n.contains("src") || n.contains("uri") || n.contains("url")
}

/// One printed value inside attribute `name`, after `so_far` of its value.
/// `Err` names the unsupported place.
fn attr_value(name: &str, so_far: &str, printed: &str, unquoted: bool) -> Result<String, String> {
    let n = name.strip_prefix("data-").unwrap_or(name);
    if n.starts_with("on") || n == "style" {
        return Err(format!("in the {name:?} attribute"));
    }
    let s = if is_url_attr(name) {
        if so_far.contains(['?', '#']) {
            url_part(printed, false)
        } else if so_far.is_empty() && !safe_scheme(printed) {
            "#ZgotmplZ".to_owned()
        } else {
            url_part(printed, true)
        }
    } else {
        printed.to_owned()
    };
    Ok(if unquoted { html_nospace(&s) } else { html(&s) })
}

/// Go's `urlFilter`: only http, https and mailto schemes (or none).
fn safe_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if !s[..i].contains('/') => {
            matches!(
                s[..i].to_ascii_lowercase().as_str(),
                "http" | "https" | "mailto"
            )
        }
        _ => true,
    }
}

/// Go's `processURLOnto`: `norm` keeps reserved characters and `%` (the
/// normaliser); otherwise all but the unreserved ones are escaped.
pub fn url_part(s: &str, norm: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (norm
                && matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'&'
                        | b'*'
                        | b'+'
                        | b','
                        | b'/'
                        | b':'
                        | b';'
                        | b'='
                        | b'?'
                        | b'@'
                        | b'['
                        | b']'
                        | b'%'
                ));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// Go's `htmlEscaper` (text and quoted attribute values).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `htmlNospaceEscaper` (unquoted attribute values).
fn html_nospace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push_str("&#xfffd;"),
            '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '=' | '`' => {
                out.push_str(&format!("&#{};", c as u32))
            }
            c => out.push_str(&html(&c.to_string())),
        }
    }
    out
}

/// `text/template`'s `JSEscapeString` (the `js` function).
pub fn js_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %t %q %x
/// %%` with an optional width and precision. Others fail loudly.
pub fn printf(format: &str, args: &[serde_json::Value]) -> Result<String, String> {
    use serde_json::Value;
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = args.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || d == '-' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let (width, prec) = match spec.split_once('.') {
            Some((w, p)) => (w.to_owned(), p.parse::<usize>().ok()),
            None => (spec.clone(), None),
        };
        let Some(arg) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let int = matches!(arg, Value::Number(n) if n.as_i64().is_some());
        let s = match (verb, arg) {
            ('v', v) | ('s', v @ Value::String(_)) => go_print(v),
            ('d', _) if int => go_print(arg),
            ('f' | 'F', Value::Number(n)) if !int => {
                format!("{:.*}", prec.unwrap_or(6), n.as_f64().unwrap_or(0.0))
            }
            ('t', Value::Bool(b)) => b.to_string(),
            ('q', Value::String(s)) => serde_json::to_string(s).unwrap_or_default(),
            ('x', Value::Number(n)) if int => format!("{:x}", n.as_i64().unwrap_or(0)),
            ('x', Value::String(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('s' | 'd' | 'f' | 'F' | 't' | 'q' | 'x', Value::Null) => format!("%!{verb}(<nil>)"),
            ('s' | 'd' | 'f' | 'F' | 't' | 'q' | 'x', v) => {
                format!("%!{verb}({}={})", go_type(v), go_print(v))
            }
            (other, _) => {
                return Err(format!(
                    "printf verb %{other} is not supported by Cairn's $template"
                ));
            }
        };
        let w: usize = width.trim_start_matches('-').parse().unwrap_or(0);
        let pad = w.saturating_sub(s.chars().count());
        if width.starts_with('-') {
            out.push_str(&s);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&s);
        }
    }
    Ok(out)
}

/// The Go type a decoded JSON value has in PocketBase (goja exports whole
/// numbers as `int64`), for `fmt`'s bad-verb output.
fn go_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.as_i64().is_some() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Null => "<nil>",
    }
}
