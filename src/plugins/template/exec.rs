//! Running a parsed template over JSON data, with Go's rules: truthiness,
//! missing keys print nothing, `range` over arrays, objects (sorted keys)
//! and integers, the built-in functions, and `fmt`'s `%v` printing
//! (`[a b]`, `map[k:v]`, `1e+06`). Every printed value goes through the
//! context escaper (`escape.rs`); only `raw` output is written verbatim.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::escape::Escaper;
use super::parse::{Arg, Body, Node, Pipe};

/// The functions templates may call (Go's built-ins and PocketBase's `raw`).
pub const FUNCS: [&str; 18] = [
    "and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "printf", "print",
    "println", "html", "urlquery", "js", "raw",
];

/// A value during execution: `Missing` is an absent key (prints nothing,
/// and fields of it are missing too), `Html` is `raw` output.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Missing,
    J(Value),
    Html(String),
}

impl V {
    fn json(&self) -> Value {
        match self {
            V::Missing => Value::Null,
            V::J(v) => v.clone(),
            V::Html(s) => Value::String(s.clone()),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            V::Missing => false,
            V::Html(s) => !s.is_empty(),
            V::J(v) => match v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
            },
        }
    }
}

/// One execution: the named templates, the output and its escaper.
pub struct Exec<'a> {
    pub templates: &'a HashMap<String, Body>,
    pub out: String,
    pub esc: Escaper,
    vars: Vec<(String, V)>,
    depth: usize,
    steps: usize,
}

const MAX_DEPTH: usize = 100;
/// Bounds for one render: nodes visited and output size (a host call is
/// not interrupted by the JS time budget, so the template needs its own).
const MAX_STEPS: usize = 1_000_000;
const MAX_OUTPUT: usize = 32 << 20;

impl<'a> Exec<'a> {
    pub fn new(templates: &'a HashMap<String, Body>) -> Self {
        Self {
            templates,
            out: String::new(),
            esc: Escaper::default(),
            vars: Vec::new(),
            depth: 0,
            steps: 0,
        }
    }

    /// Runs template `name` with `dot` (also its `$`), as Go does.
    pub fn run(&mut self, name: &str, dot: &V) -> Result<(), String> {
        let body = self
            .templates
            .get(name)
            .ok_or_else(|| format!("template: no template {name:?} associated with template"))?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "template: exceeded maximum template depth ({MAX_DEPTH})"
            ));
        }
        let saved = std::mem::replace(&mut self.vars, vec![(String::new(), dot.clone())]);
        let res = self.walk(body, dot);
        self.vars = saved;
        self.depth -= 1;
        res
    }

    fn walk(&mut self, body: &Body, dot: &V) -> Result<(), String> {
        for node in body {
            self.steps += 1;
            if self.steps > MAX_STEPS || self.out.len() > MAX_OUTPUT {
                return Err("template: the render exceeds Cairn's step or output limit".into());
            }
            match node {
                Node::Text(t) => {
                    let t = self.esc.text(t);
                    self.out.push_str(&t);
                }
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.decl.is_empty() {
                        let s = self.esc.value(&v, &printed(&v), &p.text)?;
                        self.out.push_str(&s);
                    }
                }
                Node::If {
                    with,
                    branches,
                    otherwise,
                } => {
                    let mark = self.vars.len();
                    let mut done = false;
                    for (cond, inner) in branches {
                        let v = self.pipe(cond, dot)?;
                        if v.truthy() {
                            let d = if *with { v } else { dot.clone() };
                            self.walk(inner, &d)?;
                            done = true;
                            break;
                        }
                    }
                    if let (false, Some(b)) = (done, otherwise) {
                        self.walk(b, dot)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range {
                    pipe,
                    body,
                    otherwise,
                } => self.range(pipe, body, otherwise.as_ref(), dot)?,
                Node::Template { name, pipe } => {
                    let d = match pipe {
                        Some(p) => self.pipe(p, dot)?,
                        None => V::J(Value::Null),
                    };
                    self.run(name, &d)?;
                }
            }
        }
        Ok(())
    }

    fn range(
        &mut self,
        pipe: &Pipe,
        body: &Body,
        otherwise: Option<&Body>,
        dot: &V,
    ) -> Result<(), String> {
        let mut bare = pipe.clone();
        bare.decl.clear();
        let v = self.pipe(&bare, dot)?;
        let items: Vec<(Value, Value)> = match v.json() {
            Value::Array(a) => a
                .into_iter()
                .enumerate()
                .map(|(i, e)| (i.into(), e))
                .collect(),
            Value::Object(o) => {
                let mut kv: Vec<(String, Value)> = o.into_iter().collect();
                kv.sort_by(|a, b| a.0.cmp(&b.0));
                kv.into_iter().map(|(k, e)| (Value::String(k), e)).collect()
            }
            Value::Number(n) if n.as_i64().is_some() => {
                let n = n.as_i64().unwrap_or(0);
                if n > MAX_STEPS as i64 {
                    return Err(format!("template: range over {n} exceeds the step limit"));
                }
                (0..n).map(|i| (i.into(), i.into())).collect()
            }
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "template: range can't iterate over {}",
                    go_print(&other)
                ));
            }
        };
        if items.is_empty() {
            if let Some(b) = otherwise {
                self.walk(b, dot)?;
            }
            return Ok(());
        }
        let mark = self.vars.len();
        for (k, e) in items {
            match pipe.decl.as_slice() {
                [one] => self.vars.push((one.clone(), V::J(e.clone()))),
                [key, val] => {
                    self.vars.push((key.clone(), V::J(k)));
                    self.vars.push((val.clone(), V::J(e.clone())));
                }
                _ => {}
            }
            self.walk(body, &V::J(e))?;
            self.vars.truncate(mark);
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &V) -> Result<V, String> {
        let mut last: Option<V> = None;
        for cmd in &p.cmds {
            last = Some(self.command(cmd, dot, last, &p.text)?);
        }
        let v = last.unwrap_or(V::Missing);
        for name in &p.decl {
            if p.assign {
                let slot = self
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| format!("template: undefined variable: ${name}"))?;
                slot.1 = v.clone();
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &[Arg], dot: &V, piped: Option<V>, text: &str) -> Result<V, String> {
        let Some(Arg::Func(f)) = cmd.first() else {
            if cmd.len() > 1 || piped.is_some() {
                return Err(format!(
                    "template: executing {text:?}: can't give argument to non-function"
                ));
            }
            return self.arg(&cmd[0], dot, text);
        };
        let mut args = Vec::with_capacity(cmd.len());
        for a in &cmd[1..] {
            args.push(self.arg(a, dot, text)?);
        }
        args.extend(piped);
        call(f, &args).map_err(|e| format!("template: executing {text:?}: error calling {f}: {e}"))
    }

    fn arg(&mut self, a: &Arg, dot: &V, text: &str) -> Result<V, String> {
        let (base, chain) = match a {
            Arg::Field(chain) => (dot.clone(), chain.as_slice()),
            Arg::Var(name, chain) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("template: undefined variable: ${name}"))?;
                (v, chain.as_slice())
            }
            Arg::Sub(p, chain) => (self.pipe(p, dot)?, chain.as_slice()),
            Arg::Str(s) => return Ok(V::J(Value::String(s.clone()))),
            Arg::Num(n) => return Ok(V::J(Value::Number(n.clone()))),
            Arg::Bool(b) => return Ok(V::J(Value::Bool(*b))),
            Arg::Nil => {
                return Err(format!(
                    "template: executing {text:?}: nil is not a command"
                ));
            }
            Arg::Func(f) => return call(f, &[]),
        };
        let mut v = base;
        for field in chain {
            v = match v {
                V::Missing => V::Missing,
                V::J(Value::Object(o)) => o.get(field).cloned().map_or(V::Missing, V::J),
                V::J(Value::Null) => {
                    return Err(format!(
                        "template: executing {text:?}: nil pointer evaluating interface {{}}.{field}"
                    ));
                }
                _ => {
                    return Err(format!(
                        "template: executing {text:?}: can't evaluate field {field} in type interface {{}}"
                    ));
                }
            };
        }
        Ok(v)
    }
}

fn num(v: &V) -> Option<f64> {
    v.json().as_f64()
}

fn compare(a: &V, b: &V) -> Result<std::cmp::Ordering, String> {
    match (a.json(), b.json()) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(&y)),
        (Value::Number(_), Value::Number(_)) => num(a)
            .zip(num(b))
            .and_then(|(x, y)| x.partial_cmp(&y))
            .ok_or_else(|| "incomparable numbers".to_owned()),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn equal(a: &V, b: &V) -> Result<bool, String> {
    match (a.json(), b.json()) {
        (Value::Number(_), Value::Number(_)) => Ok(num(a) == num(b)),
        (x @ (Value::String(_) | Value::Bool(_) | Value::Null), y) => {
            if std::mem::discriminant(&x) != std::mem::discriminant(&y) {
                return Err("incompatible types for comparison".into());
            }
            Ok(x == y)
        }
        _ => Err("non-comparable type".into()),
    }
}

fn call(f: &str, args: &[V]) -> Result<V, String> {
    let need = |n: usize| {
        if args.len() < n {
            Err(format!(
                "wrong number of args for {f}: want {n} got {}",
                args.len()
            ))
        } else {
            Ok(())
        }
    };
    let b = |x: bool| Ok(V::J(Value::Bool(x)));
    match f {
        "and" => {
            need(1)?;
            Ok(args
                .iter()
                .find(|a| !a.truthy())
                .unwrap_or(&args[args.len() - 1])
                .clone())
        }
        "or" => {
            need(1)?;
            Ok(args
                .iter()
                .find(|a| a.truthy())
                .unwrap_or(&args[args.len() - 1])
                .clone())
        }
        "not" => {
            need(1)?;
            b(!args[0].truthy())
        }
        "len" => {
            need(1)?;
            let n = match args[0].json() {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                other => return Err(format!("len of type {}", go_print(&other))),
            };
            Ok(V::J(n.into()))
        }
        "index" => {
            need(1)?;
            let mut v = args[0].json();
            for k in &args[1..] {
                v = match (&v, k.json()) {
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_u64().ok_or("index out of range")? as usize;
                        a.get(i)
                            .cloned()
                            .ok_or_else(|| format!("index out of range: {i}"))?
                    }
                    (Value::Object(o), Value::String(s)) => {
                        o.get(&s).cloned().unwrap_or(Value::Null)
                    }
                    (Value::Null, _) => return Err("index of untyped nil".into()),
                    _ => return Err("can't index item".into()),
                };
            }
            Ok(V::J(v))
        }
        "eq" => {
            need(2)?;
            for other in &args[1..] {
                if equal(&args[0], other)? {
                    return b(true);
                }
            }
            b(false)
        }
        "ne" => {
            need(2)?;
            b(!equal(&args[0], &args[1])?)
        }
        "lt" | "le" | "gt" | "ge" => {
            need(2)?;
            let o = compare(&args[0], &args[1])?;
            b(match f {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "printf" => {
            need(1)?;
            let format = args[0].json();
            let format = format.as_str().ok_or("printf needs a format string")?;
            Ok(V::J(Value::String(super::escape::printf(
                format,
                &args[1..].iter().map(V::json).collect::<Vec<_>>(),
            )?)))
        }
        "print" | "println" => {
            let parts: Vec<String> = args.iter().map(printed).collect();
            let mut s = if f == "print" {
                // Go's Sprint adds spaces only between operands that are not strings.
                let mut s = String::new();
                for (i, p) in parts.iter().enumerate() {
                    let strings = |j: usize| matches!(args[j].json(), Value::String(_));
                    if i > 0 && !strings(i) && !strings(i - 1) {
                        s.push(' ');
                    }
                    s.push_str(p);
                }
                s
            } else {
                parts.join(" ")
            };
            if f == "println" {
                s.push('\n');
            }
            Ok(V::J(Value::String(s)))
        }
        "html" => Ok(V::J(Value::String(super::escape::html(
            &args.iter().map(printed).collect::<String>(),
        )))),
        "urlquery" => Ok(V::J(Value::String(super::escape::url_part(
            &args.iter().map(printed).collect::<String>(),
            false,
        )))),
        "js" => Ok(V::J(Value::String(super::escape::js_string(
            &args.iter().map(printed).collect::<String>(),
        )))),
        "raw" => {
            need(1)?;
            Ok(V::Html(printed(&args[0])))
        }
        other => Err(format!("function {other:?} not defined")),
    }
}

/// A value as Go's `fmt.Sprint` prints it (missing and null: nothing).
pub fn printed(v: &V) -> String {
    match v {
        V::Missing | V::J(Value::Null) => String::new(),
        V::Html(s) => s.clone(),
        V::J(v) => go_print(v),
    }
}

/// `%v` of a decoded JSON value.
pub fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => go_number(n),
        Value::Array(a) => format!("[{}]", a.iter().map(go_print).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => format!(
            "map[{}]",
            sorted(o)
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_print(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn sorted(o: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut kv: Vec<_> = o.iter().collect();
    kv.sort_by(|a, b| a.0.cmp(b.0));
    kv
}

/// Integers as integers (goja exports whole numbers as int64); other
/// numbers as Go's `%v` of a float64: shortest digits, exponent form below
/// 1e-4 and from 1e6 up (`1.2345675e+06`).
pub fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 || !f.is_finite() {
        return f.to_string();
    }
    let exp = f.abs().log10().floor() as i32;
    if (-4..6).contains(&exp) {
        return f.to_string();
    }
    let e = format!("{f:e}");
    let (mantissa, power) = e.split_once('e').unwrap_or((&e, "0"));
    let power: i32 = power.parse().unwrap_or(0);
    format!(
        "{mantissa}e{}{:02}",
        if power < 0 { '-' } else { '+' },
        power.abs()
    )
}
