//! `$app.findRecordById`'s host function (`__hostFind`) and the found
//! row built as a JavaScript object, apart from the engine itself
//! (`runtime.rs`), which registers it.

use rquickjs::{Ctx, Function, Object};
use serde_json::{Value, json};

use super::runtime::{Host, answer};

/// `$app.findRecordById`, the most used finder, as a host function of its
/// own: `__hostFind(collection, id, record)`. Its two strings cross as they
/// are, and the found row (without `collectionId` / `collectionName`) is
/// built here as a JavaScript object (no JSON text either way) and
/// returned, for the script to make it `record.__data`; `record` (made with
/// `__original` null and `__persisted` true) gets a copy of the row as its
/// `__original` only when the row has nested values, which a `set` could
/// change in place. The script's own pass over the row to find them was a
/// `for...in`, ~3k instructions a request on issue 15's benchmark; each
/// property set from here ~500 (its name made into an atom each time), so
/// the common case sets none. Answers a failure as `answer`'s text (a
/// string), for `__answer` to throw.
pub fn function<'js>(ctx: &Ctx<'js>, host: Host) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              c: String,
              id: String,
              record: Object<'js>|
              -> rquickjs::Result<rquickjs::Value<'js>> {
            match host("records.find", json!({"collection": c, "id": id})) {
                Ok(Value::Object(mut row)) => {
                    row.remove("collectionId");
                    row.remove("collectionName");
                    let nested = row.values().any(|v| v.is_object() || v.is_array());
                    let row = Value::Object(row);
                    if nested {
                        record.set("__original", to_js(&ctx, &row)?)?;
                    }
                    to_js(&ctx, &row)
                }
                out => rquickjs::String::from_str(ctx, &answer(out)).map(|s| s.into_value()),
            }
        },
    )
}

/// A JSON value as a JavaScript value, as `JSON.parse` would make it (own,
/// enumerable, writable properties; a `__proto__` key is a property).
fn to_js<'js>(ctx: &Ctx<'js>, v: &Value) -> rquickjs::Result<rquickjs::Value<'js>> {
    use rquickjs::object::Property;
    let c = ctx.clone();
    Ok(match v {
        Value::Null => rquickjs::Value::new_null(c),
        Value::Bool(b) => rquickjs::Value::new_bool(c, *b),
        Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => rquickjs::Value::new_int(c, i),
            None => rquickjs::Value::new_number(c, n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => rquickjs::String::from_str(c, s)?.into_value(),
        Value::Array(list) => {
            let a = rquickjs::Array::new(c)?;
            for (i, x) in list.iter().enumerate() {
                a.set(i, to_js(ctx, x)?)?;
            }
            a.into_value()
        }
        Value::Object(m) => {
            let o = Object::new(c)?;
            for (k, x) in m {
                let p = Property::from(to_js(ctx, x)?);
                o.prop(k.as_str(), p.writable().enumerable().configurable())?;
            }
            o.into_value()
        }
    })
}
