//! Parsing the Go `text/template` syntax that `pb_hooks` templates use:
//! `{{.a.b}}`, `{{$}}`, variables, pipelines with functions, `if`/`else
//! if`/`else`, `range` (with `$i, $e :=` and `else`), `with`, `define`,
//! `template`, `block`, comments and the `{{-`/`-}}` trim markers.
//! Anything else (`break`, `continue`, character constants...) is refused
//! with a message naming it, never silently printed.

/// A parsed template body.
pub type Body = Vec<Node>;

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    /// `{{pipeline}}`: prints its value (declarations print nothing).
    Action(Pipe),
    /// `if`/`with`: branches tried in order, then the `else` body.
    If {
        with: bool,
        branches: Vec<(Pipe, Body)>,
        otherwise: Option<Body>,
    },
    Range {
        pipe: Pipe,
        body: Body,
        otherwise: Option<Body>,
    },
    Template {
        name: String,
        pipe: Option<Pipe>,
    },
}

/// `$a, $b := cmd | cmd` (or `$a = ...`, or a bare pipeline).
#[derive(Debug, Clone, Default)]
pub struct Pipe {
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Vec<Arg>>,
    /// The action's text, for error messages.
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `.a.b` (empty: the dot itself).
    Field(Vec<String>),
    /// `$x.a.b` (`$` is the root).
    Var(String, Vec<String>),
    /// A parenthesised pipeline, then fields.
    Sub(Box<Pipe>, Vec<String>),
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Nil,
    Func(String),
}

/// One file or string: its body and the templates it defines.
pub struct Tree {
    pub body: Body,
    pub defines: Vec<(String, Body)>,
}

/// Parses `src`; `name` prefixes errors as Go does (`template: name:line:`).
pub fn parse(name: &str, src: &str) -> Result<Tree, String> {
    let items = lex(src).map_err(|(line, e)| format!("template: {name}:{line}: {e}"))?;
    let mut p = Parser {
        items,
        pos: 0,
        defines: Vec::new(),
    };
    let (body, end) = p
        .body(0)
        .map_err(|(line, e)| format!("template: {name}:{line}: {e}"))?;
    if let Some(end) = end {
        return Err(format!(
            "template: {name}:{}: unexpected {{{{{end}}}}}",
            p.line()
        ));
    }
    Ok(Tree {
        body,
        defines: p.defines,
    })
}

/// True when a body prints nothing but whitespace (Go's `IsEmptyTree`): a
/// later empty definition does not replace an earlier one.
pub fn is_empty(body: &Body) -> bool {
    body.iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

enum Item {
    Text(String),
    /// An action's tokens and its line.
    Action(Vec<Tok>, usize, String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Field(String),
    /// `.name` right after an operand: `$x.name`, `.a.name`, `(...).name`.
    Chain(String),
    Var(String),
    Str(String),
    Num(String),
    Open,
    Close,
    Pipe,
    Declare,
    Assign,
    Comma,
}

type Failure = (usize, String);

fn lex(src: &str) -> Result<Vec<Item>, Failure> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let text = if trim_next { rest.trim_start() } else { rest };
            items.push(Item::Text(text.to_owned()));
            break;
        };
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let mut inner = &rest[open + 2..];
        if inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n") {
            text = text.trim_end();
            inner = &inner[1..];
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_owned()));
        }
        line += rest[..open].matches('\n').count();
        let close = find_close(inner).ok_or((line, "unclosed action".to_owned()))?;
        let mut body = &inner[..close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err((line, "unclosed comment".into()));
            }
        } else {
            items.push(Item::Action(
                tokens(trimmed).map_err(|e| (line, e))?,
                line,
                trimmed.to_owned(),
            ));
        }
        line += inner[..close].matches('\n').count();
        rest = &inner[close + 2..];
    }
    Ok(items)
}

/// The `}}` ending an action, skipping string literals and comments.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let t = s.trim_start();
    if t.starts_with("/*") {
        let start = s.len() - t.len();
        let end = s[start..].find("*/")? + start + 2;
        return s[end..].find("}}").map(|i| i + end);
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // True right after an operand a `.name` may chain onto.
    let mut chained = false;
    let word = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        let c = chars[i];
        let before = out.len();
        if c == '.' && chained {
            i += 1;
            out.push(Tok::Chain(word(&mut i)));
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => (out.push(Tok::Open), i += 1).1,
            ')' => (out.push(Tok::Close), i += 1).1,
            '|' => (out.push(Tok::Pipe), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '=' => (out.push(Tok::Assign), i += 1).1,
            ':' if chars.get(i + 1) == Some(&'=') => (out.push(Tok::Declare), i += 2).1,
            '.' => {
                i += 1;
                out.push(Tok::Field(word(&mut i)));
            }
            '$' => {
                i += 1;
                out.push(Tok::Var(word(&mut i)));
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                        match chars.get(i) {
                            Some('n') => v.push('\n'),
                            Some('t') => v.push('\t'),
                            Some('r') => v.push('\r'),
                            Some(&c @ ('"' | '\\')) => v.push(c),
                            other => {
                                return Err(format!(
                                    "escape \\{} in a string is not supported by Cairn's $template",
                                    other.map(char::to_string).unwrap_or_default()
                                ));
                            }
                        }
                    } else {
                        v.push(chars[i]);
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(v));
            }
            '`' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                out.push(Tok::Str(chars[start..i.min(chars.len())].iter().collect()));
                i += 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || chars[i] == '+'
                        || chars[i] == '-')
                {
                    i += 1;
                }
                out.push(Tok::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => out.push(Tok::Word(word(&mut i))),
            other => {
                return Err(format!(
                    "{other:?} in an action is not supported by Cairn's $template"
                ));
            }
        }
        chained = out.len() > before
            && matches!(
                out.last(),
                Some(Tok::Field(_) | Tok::Var(_) | Tok::Close | Tok::Chain(_))
            );
    }
    Ok(out)
}

struct Parser {
    items: Vec<Item>,
    pos: usize,
    defines: Vec<(String, Body)>,
}

impl Parser {
    fn line(&self) -> usize {
        self.items[..self.pos.min(self.items.len())]
            .iter()
            .rev()
            .find_map(|i| match i {
                Item::Action(_, l, _) => Some(*l),
                Item::Text(_) => None,
            })
            .unwrap_or(1)
    }

    /// Parses nodes until `end`, `else...` (returned as the stopper's
    /// text) or the end of input (`None`, only valid at depth 0).
    fn body(&mut self, depth: usize) -> Result<(Body, Option<String>), Failure> {
        let mut body = Vec::new();
        while self.pos < self.items.len() {
            self.pos += 1;
            let (toks, line, text) = match &self.items[self.pos - 1] {
                Item::Text(t) => {
                    body.push(Node::Text(t.clone()));
                    continue;
                }
                Item::Action(t, l, s) => (t.clone(), *l, s.clone()),
            };
            let err = |e: String| (line, e);
            let keyword = match toks.first() {
                Some(Tok::Word(w)) => w.as_str(),
                _ => "",
            };
            match keyword {
                "end" | "else" => {
                    if depth == 0 {
                        return Err(err(format!("unexpected {{{{{text}}}}}")));
                    }
                    return Ok((body, Some(text)));
                }
                "if" | "with" => {
                    body.push(self.branch(keyword == "with", &toks[1..], &text, line)?)
                }
                "range" => {
                    let pipe = pipe(&toks[1..], &text).map_err(err)?;
                    if pipe.cmds.is_empty() {
                        return Err(err("missing value for range".into()));
                    }
                    let (inner, end) = self.body(depth + 1)?;
                    let otherwise = match end.as_deref() {
                        Some("else") => Some(self.expect_end(depth, line)?),
                        Some("end") => None,
                        _ => return Err(err(format!("unexpected {:?} in range", end))),
                    };
                    body.push(Node::Range {
                        pipe,
                        body: inner,
                        otherwise,
                    });
                }
                "define" | "block" => {
                    let Some(Tok::Str(name)) = toks.get(1) else {
                        return Err(err(format!("{keyword} needs a quoted template name")));
                    };
                    let arg = if keyword == "block" {
                        Some(pipe(&toks[2..], &text).map_err(err)?)
                    } else if toks.len() > 2 {
                        return Err(err("unexpected arguments after define".into()));
                    } else {
                        None
                    };
                    if keyword == "define" && depth > 0 {
                        return Err(err("unexpected define inside an action".into()));
                    }
                    let inner = self.expect_end(depth, line)?;
                    self.defines.push((name.clone(), inner));
                    if let Some(p) = arg {
                        body.push(Node::Template {
                            name: name.clone(),
                            pipe: Some(p),
                        });
                    }
                }
                "template" => {
                    let Some(Tok::Str(name)) = toks.get(1) else {
                        return Err(err("template needs a quoted template name".into()));
                    };
                    let p = pipe(&toks[2..], &text).map_err(err)?;
                    body.push(Node::Template {
                        name: name.clone(),
                        pipe: (!p.cmds.is_empty()).then_some(p),
                    });
                }
                "break" | "continue" => {
                    return Err(err(format!(
                        "{{{{{keyword}}}}} is not supported by Cairn's $template"
                    )));
                }
                _ => {
                    let p = pipe(&toks, &text).map_err(err)?;
                    if p.cmds.is_empty() {
                        return Err(err("missing value for command".into()));
                    }
                    body.push(Node::Action(p));
                }
            }
        }
        Ok((body, None))
    }

    fn expect_end(&mut self, depth: usize, line: usize) -> Result<Body, Failure> {
        match self.body(depth + 1)? {
            (b, Some(e)) if e == "end" => Ok(b),
            (_, other) => Err((line, format!("expected {{{{end}}}}, found {other:?}"))),
        }
    }

    /// `if`/`with` with its `else if`/`else with` chain.
    fn branch(
        &mut self,
        with: bool,
        toks: &[Tok],
        text: &str,
        line: usize,
    ) -> Result<Node, Failure> {
        let word = if with { "with" } else { "if" };
        let mut branches = Vec::new();
        let mut cond = pipe(toks, text).map_err(|e| (line, e))?;
        loop {
            if cond.cmds.is_empty() {
                return Err((line, format!("missing value for {word}")));
            }
            let (inner, end) = self.body(1)?;
            branches.push((cond, inner));
            let end = end.unwrap_or_default();
            if end == "end" {
                return Ok(Node::If {
                    with,
                    branches,
                    otherwise: None,
                });
            }
            let rest = end.trim_start_matches("else").trim();
            if rest.is_empty() {
                let otherwise = Some(self.expect_end(0, line)?);
                return Ok(Node::If {
                    with,
                    branches,
                    otherwise,
                });
            }
            let Some(next) = rest
                .strip_prefix(word)
                .filter(|r| r.starts_with([' ', '(']))
            else {
                return Err((
                    line,
                    format!("{{{{{end}}}}} is not supported by Cairn's $template"),
                ));
            };
            cond = pipe(&tokens(next).map_err(|e| (line, e))?, next).map_err(|e| (line, e))?;
        }
    }
}

fn is_func(w: &str) -> bool {
    super::exec::FUNCS.contains(&w)
}

/// A pipeline from tokens: optional declaration, then `|`-separated commands.
fn pipe(toks: &[Tok], text: &str) -> Result<Pipe, String> {
    let mut p = Pipe {
        text: text.to_owned(),
        ..Pipe::default()
    };
    let mut rest = toks;
    if let Some(at) = toks
        .iter()
        .position(|t| *t == Tok::Declare || *t == Tok::Assign)
    {
        let vars = &toks[..at];
        if !vars.is_empty() && vars.iter().all(|t| matches!(t, Tok::Var(_) | Tok::Comma)) {
            p.assign = toks[at] == Tok::Assign;
            p.decl = vars
                .iter()
                .filter_map(|t| match t {
                    Tok::Var(v) => Some(v.clone()),
                    _ => None,
                })
                .collect();
            rest = &toks[at + 1..];
        }
    }
    let mut i = 0;
    let mut cmd = Vec::new();
    while i < rest.len() {
        match &rest[i] {
            Tok::Pipe => {
                if cmd.is_empty() {
                    return Err("missing command before |".into());
                }
                p.cmds.push(std::mem::take(&mut cmd));
                i += 1;
                continue;
            }
            Tok::Open => {
                let mut depth = 0;
                let start = i + 1;
                while i < rest.len() {
                    match rest[i] {
                        Tok::Open => depth += 1,
                        Tok::Close => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                    i += 1;
                }
                if depth != 0 {
                    return Err("unclosed left paren".into());
                }
                let sub = pipe(&rest[start..i], text)?;
                i += 1;
                let fields = fields(rest, &mut i);
                cmd.push(Arg::Sub(Box::new(sub), fields));
                continue;
            }
            Tok::Field(f) => {
                i += 1;
                let mut chain = if f.is_empty() {
                    vec![]
                } else {
                    vec![f.clone()]
                };
                chain.extend(fields(rest, &mut i));
                cmd.push(Arg::Field(chain));
                continue;
            }
            Tok::Var(v) => {
                i += 1;
                cmd.push(Arg::Var(v.clone(), fields(rest, &mut i)));
                continue;
            }
            Tok::Str(s) => cmd.push(Arg::Str(s.clone())),
            Tok::Num(n) => cmd.push(Arg::Num(number(n)?)),
            Tok::Word(w) => cmd.push(match w.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                f if is_func(f) => Arg::Func(f.to_owned()),
                f => return Err(format!("function {f:?} not defined")),
            }),
            other => return Err(format!("unexpected {other:?} in {text:?}")),
        }
        i += 1;
    }
    if !cmd.is_empty() {
        p.cmds.push(cmd);
    }
    Ok(p)
}

/// `.a.b` directly after an operand.
fn fields(toks: &[Tok], i: &mut usize) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(Tok::Chain(f)) = toks.get(*i) {
        out.push(f.clone());
        *i += 1;
    }
    out
}

fn number(s: &str) -> Result<serde_json::Number, String> {
    if let Ok(i) = s.parse::<i64>() {
        return Ok(i.into());
    }
    s.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .ok_or_else(|| format!("bad number syntax: {s:?}"))
}
