//! `e.json`'s body, written in Rust at the call (`__jsonText`).
//!
//! On issue 15's benchmark route, `JSON.stringify` of a two-string object
//! cost ~12k instructions a request, most of it fixed cost (its wrapper
//! object and state, a `toJSON` lookup per value, the text built as a
//! JavaScript string); the body is now written here from the values as
//! they are. The text is PocketBase's (0.40.6, checked against it in
//! `tests/sdk/hooks_json.test.mjs`):
//! - plain objects in their property order (PocketBase writes a plain
//!   object's keys in a Go map's order, which changes from call to call,
//!   so any order is one it writes); a property holding `undefined` is
//!   `null`, as PocketBase writes it (`JSON.stringify` would drop it);
//! - strings escaped as both `JSON.stringify` and PocketBase escape them
//!   (`"`, `\`, control characters; no HTML escaping, U+2028 as it is);
//! - numbers as JavaScript prints them, and `-0` as `-0` (PocketBase);
//! - a `Record` as its `toJSON()` gives it: without hidden fields (nor an
//!   auth record's email unless `emailVisibility`), with its keys sorted,
//!   as PocketBase writes a record (a Go map, whose keys `encoding/json`
//!   sorts);
//! - a value with a `toJSON` method (a `Date`) as what that returns.
//!
//! Anything else (class instances, `Map`, boxed values, proxies, strings
//! with lone surrogates) is handed to `JSON.stringify`, as is the whole
//! value when it nests deeper than `MAX_DEPTH` (a cycle: `JSON.stringify`
//! throws its `TypeError`), so those answer or fail as they did before.

use std::fmt::Write as _;

use rquickjs::function::This;
use rquickjs::{Coerced, Ctx, FromJs, Function, Object, Type, Value};

/// Deeper than this, the whole value goes to `JSON.stringify`.
const MAX_DEPTH: usize = 64;

/// Keys a record's export never shows (`Record.toJSON`).
const SECRET: [&str; 3] = ["password", "passwordConfirm", "tokenKey"];

/// `__jsonText(value, Object.prototype, Record.prototype)`: the JSON text
/// of `value` as PocketBase's `e.json` writes it, or `undefined` where
/// `JSON.stringify` gives that (a function).
pub fn function<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>,
         v: Value<'js>,
         object: Object<'js>,
         record: Object<'js>|
         -> rquickjs::Result<Value<'js>> {
            let text = if v.is_undefined() {
                Some("null".to_owned())
            } else {
                to_text(&ctx, &v, &object, &record)?
            };
            match text {
                Some(t) => Ok(rquickjs::String::from_str(ctx, &t)?.into_value()),
                None => Ok(Value::new_undefined(ctx)),
            }
        },
    )
}

/// The JSON text of `v`; `None` for a value `JSON.stringify` leaves out.
pub fn to_text<'js>(
    ctx: &Ctx<'js>,
    v: &Value<'js>,
    object: &Object<'js>,
    record: &Object<'js>,
) -> rquickjs::Result<Option<String>> {
    let mut w = Writer {
        ctx,
        object,
        record,
        out: String::with_capacity(128),
    };
    match w.value(v, Key::Name(""), 0, true) {
        Ok(true) => Ok(Some(w.out)),
        Ok(false) => Ok(None),
        Err(Stop::Js(e)) => Err(e),
        Err(Stop::Fallback) => stringify(ctx, v),
    }
}

/// Why a walk stopped.
enum Stop {
    /// A thrown exception (a getter, a `toJSON`): it propagates.
    Js(rquickjs::Error),
    /// Too deep, or a string that is not valid UTF-8: `JSON.stringify`
    /// writes the whole value instead.
    Fallback,
}

impl From<rquickjs::Error> for Stop {
    fn from(e: rquickjs::Error) -> Self {
        Self::Js(e)
    }
}

fn stringify<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> rquickjs::Result<Option<String>> {
    ctx.json_stringify(v.clone())?
        .map(|s| s.to_string())
        .transpose()
}

/// The name of the property being written, for `toJSON(key)` (made into
/// text only when a `toJSON` is called).
#[derive(Clone, Copy)]
enum Key<'k> {
    Name(&'k str),
    Index(usize),
}

struct Writer<'a, 'js> {
    ctx: &'a Ctx<'js>,
    object: &'a Object<'js>,
    record: &'a Object<'js>,
    out: String,
}

impl<'js> Writer<'_, 'js> {
    /// Writes `v` (the value of property `key`); false when it writes
    /// nothing (a function or symbol, left out as `JSON.stringify` does).
    fn value(
        &mut self,
        v: &Value<'js>,
        key: Key<'_>,
        depth: usize,
        to_json: bool,
    ) -> Result<bool, Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Fallback);
        }
        match v.type_of() {
            Type::Undefined | Type::Null | Type::Uninitialized => self.out.push_str("null"),
            Type::Bool => self.out.push_str(if v.as_bool() == Some(true) {
                "true"
            } else {
                "false"
            }),
            Type::Int => {
                let _ = write!(self.out, "{}", v.as_int().unwrap_or_default());
            }
            Type::Float => self.number(v)?,
            Type::String => {
                let s = v.as_string().ok_or(Stop::Fallback)?;
                let s = s.to_string().map_err(|_| Stop::Fallback)?;
                quote(&mut self.out, &s);
            }
            Type::Array => self.array(v, depth)?,
            Type::Object | Type::Exception => {
                let o = v.as_object().ok_or(Stop::Fallback)?;
                return self.object(o, key, depth, to_json);
            }
            Type::Function | Type::Constructor | Type::Symbol => return Ok(false),
            _ => return self.splice(v),
        }
        Ok(true)
    }

    fn number(&mut self, v: &Value<'js>) -> Result<(), Stop> {
        let f = v.as_float().unwrap_or(f64::NAN);
        if !f.is_finite() {
            self.out.push_str("null");
        } else if f == 0.0 && f.is_sign_negative() {
            self.out.push_str("-0");
        } else if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
            let _ = write!(self.out, "{}", f as i64);
        } else {
            // JavaScript's shortest form (`1.5`, `1e-7`, `1e+21`).
            let s = Coerced::<String>::from_js(self.ctx, v.clone())?;
            self.out.push_str(&s.0);
        }
        Ok(())
    }

    fn array(&mut self, v: &Value<'js>, depth: usize) -> Result<(), Stop> {
        let a = v.as_array().ok_or(Stop::Fallback)?;
        self.out.push('[');
        for i in 0..a.len() {
            if i > 0 {
                self.out.push(',');
            }
            let x: Value = a.get(i)?;
            if !self.value(&x, Key::Index(i), depth + 1, true)? {
                self.out.push_str("null");
            }
        }
        self.out.push(']');
        Ok(())
    }

    fn object(
        &mut self,
        o: &Object<'js>,
        key: Key<'_>,
        depth: usize,
        to_json: bool,
    ) -> Result<bool, Stop> {
        if o.as_value().is_proxy() {
            return self.splice(o.as_value());
        }
        let proto = o.get_prototype();
        if proto.as_ref() == Some(self.record) {
            self.record(o, depth)?;
            return Ok(true);
        }
        if to_json {
            let f: Value = o.get("toJSON")?;
            if let Some(f) = f.as_function() {
                let name = match key {
                    Key::Name(k) => k.to_owned(),
                    Key::Index(i) => i.to_string(),
                };
                let r: Value = f.call((This(o.clone()), name))?;
                return self.value(&r, key, depth + 1, false);
            }
        }
        if proto.is_some() && proto.as_ref() != Some(self.object) {
            return self.splice(o.as_value());
        }
        self.out.push('{');
        let mut first = true;
        for kv in o.props::<String, Value>() {
            let (k, x) = kv?;
            self.member(&k, &x, &mut first, depth)?;
        }
        self.out.push('}');
        Ok(true)
    }

    /// `"key":value` (with the comma before it unless `first`); nothing
    /// for a value `JSON.stringify` leaves out.
    fn member(
        &mut self,
        k: &str,
        x: &Value<'js>,
        first: &mut bool,
        depth: usize,
    ) -> Result<(), Stop> {
        let mark = self.out.len();
        if !*first {
            self.out.push(',');
        }
        quote(&mut self.out, k);
        self.out.push(':');
        if self.value(x, Key::Name(k), depth + 1, true)? {
            *first = false;
        } else {
            self.out.truncate(mark);
        }
        Ok(())
    }

    /// A `Record` as its `toJSON()` gives it: its collection's id and
    /// name, then its data less the secret fields, its collection's hidden
    /// fields, those `hide()` hid and an auth record's email unless
    /// `emailVisibility`, with the keys sorted.
    fn record(&mut self, r: &Object<'js>, depth: usize) -> Result<(), Stop> {
        let collection: Object = r.get("__collection")?;
        let data: Object = r.get("__data")?;
        let hidden: Option<Object> = r.get("__hidden")?;
        let skip = hidden_fields(&collection)?;
        let no_email = collection
            .get::<_, Option<Coerced<String>>>("type")?
            .is_some_and(|t| t.0 == "auth")
            && data.get::<_, Value>("emailVisibility")?.as_bool() != Some(true);
        let mut entries: Vec<(String, Value<'js>)> = vec![
            ("collectionId".to_owned(), collection.get("id")?),
            ("collectionName".to_owned(), collection.get("name")?),
        ];
        for kv in data.props::<String, Value>() {
            let (k, x) = kv?;
            if SECRET.contains(&k.as_str()) || skip.contains(&k) || (no_email && k == "email") {
                continue;
            }
            if let Some(h) = &hidden
                && h.get::<_, Value>(k.as_str())?.as_bool() == Some(true)
            {
                continue;
            }
            match entries.iter_mut().find(|(name, _)| *name == k) {
                Some(e) => e.1 = x,
                None => entries.push((k, x)),
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.out.push('{');
        let mut first = true;
        for (k, x) in &entries {
            self.member(k, x, &mut first, depth)?;
        }
        self.out.push('}');
        Ok(())
    }

    /// What `JSON.stringify` writes for `v`, spliced in.
    fn splice(&mut self, v: &Value<'js>) -> Result<bool, Stop> {
        match stringify(self.ctx, v)? {
            Some(t) => {
                self.out.push_str(&t);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The names of `collection`'s hidden fields (`fields.__list[i].hidden`).
fn hidden_fields<'js>(collection: &Object<'js>) -> rquickjs::Result<Vec<String>> {
    let mut out = Vec::new();
    let Some(fields) = collection.get::<_, Option<Object>>("fields")? else {
        return Ok(out);
    };
    let Some(list) = fields.get::<_, Option<rquickjs::Array>>("__list")? else {
        return Ok(out);
    };
    for f in list.iter::<Option<Object>>() {
        if let Some(f) = f?
            && f.get::<_, Value>("hidden")?.as_bool() == Some(true)
        {
            out.push(f.get::<_, Coerced<String>>("name")?.0);
        }
    }
    Ok(out)
}

/// `s` as a JSON string, escaped as `JSON.stringify` escapes it.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use rquickjs::{CatchResultExt, Context, Runtime};

    /// `__jsonText` of what `expr` evaluates to, in an engine whose
    /// `Record` is a class of the prelude's layout; `Err` with the message
    /// of what it threw.
    fn text(expr: &str) -> Result<Option<String>, String> {
        let rt = Runtime::new().unwrap();
        let cx = Context::full(&rt).unwrap();
        cx.with(|ctx| {
            ctx.globals()
                .set("__jsonText", super::function(&ctx).unwrap())
                .unwrap();
            let src = format!(
                "class Record {{ constructor(c, d, h) {{ this.__collection = c; this.__data = d; \
                 this.__original = null; this.__persisted = true; this.__hidden = h; }} }}\n\
                 const c = {{ id: 'pbc_1', name: 'docs', type: 'base', fields: {{ __list: [\
                 {{ name: 'secret', hidden: true }}, {{ name: 'title', hidden: false }}] }} }};\n\
                 const a = {{ id: 'pbc_2', name: 'users', type: 'auth', fields: {{ __list: [] }} }};\n\
                 __jsonText(({expr}), Object.prototype, Record.prototype)"
            );
            let v: rquickjs::Value = ctx.eval(src).catch(&ctx).map_err(|e| e.to_string())?;
            Ok(v.as_string().map(|s| s.to_string().unwrap()))
        })
    }

    fn ok(expr: &str) -> String {
        text(expr).unwrap().expect("some text")
    }

    #[test]
    fn plain_values_as_pocketbase_writes_them() {
        assert_eq!(
            ok("[1, -0, 0.5, 1e21, 2 ** 53 + 2, NaN, -Infinity]"),
            "[1,-0,0.5,1e+21,9007199254740994,null,null]"
        );
        assert_eq!(
            ok("{ b: 'é\\u0001\"\\\\\\u2028', a: undefined, f() {}, n: [undefined, () => 1] }"),
            "{\"b\":\"é\\u0001\\\"\\\\\u{2028}\",\"a\":null,\"n\":[null,null]}"
        );
        assert_eq!(ok("undefined"), "null");
        assert_eq!(text("() => 1").unwrap(), None);
    }

    #[test]
    fn records_sorted_without_secret_or_hidden_fields() {
        assert_eq!(
            ok(
                "[new Record(c, { title: 't', author: 'a', password: 'p', tokenKey: 'k', \
                hid: 1, j: { z: 1, a: [new Record(c, { id: 'x' }, null)] } }, { hid: true })]"
            ),
            "[{\"author\":\"a\",\"collectionId\":\"pbc_1\",\"collectionName\":\"docs\",\
             \"j\":{\"z\":1,\"a\":[{\"collectionId\":\"pbc_1\",\"collectionName\":\"docs\",\"id\":\"x\"}]},\
             \"title\":\"t\"}]"
        );
    }

    #[test]
    fn hidden_fields_and_an_auth_record_email() {
        assert_eq!(
            ok("new Record(c, { title: 't', secret: 's' }, null)"),
            "{\"collectionId\":\"pbc_1\",\"collectionName\":\"docs\",\"title\":\"t\"}"
        );
        assert_eq!(
            ok(
                "[new Record(a, { email: 'e', emailVisibility: false }, null), \
                new Record(a, { email: 'e', emailVisibility: true }, null)]"
            ),
            "[{\"collectionId\":\"pbc_2\",\"collectionName\":\"users\",\"emailVisibility\":false},\
             {\"collectionId\":\"pbc_2\",\"collectionName\":\"users\",\"email\":\"e\",\"emailVisibility\":true}]"
        );
    }

    #[test]
    fn to_json_and_what_json_stringify_writes_for_the_rest() {
        assert_eq!(
            ok("{ d: new Date(0), k: { toJSON(key) { return key + '!' } } }"),
            "{\"d\":\"1970-01-01T00:00:00.000Z\",\"k\":\"k!\"}"
        );
        assert_eq!(
            ok("[new Map([[1, 2]]), new Number(2), '\\ud800']"),
            "[{},2,\"\\ud800\"]"
        );
        let cycle = text("(() => { const o = { a: [] }; o.a.push(o); return o })()").unwrap_err();
        assert!(cycle.contains("circular"), "{cycle}");
        let thrown = text("{ get g() { throw new Error('boom') } }").unwrap_err();
        assert!(thrown.contains("boom"), "{thrown}");
    }
}
