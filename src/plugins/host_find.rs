//! `$app.findRecordById`'s host function (`__hostFind`) and the found
//! row built as a JavaScript object, apart from the engine itself
//! (`runtime.rs`), which registers it.

use rquickjs::{Ctx, Function, Object};
use serde_json::{Value, json};

use super::runtime::{Host, answer};

/// `$app.findRecordById`, the most used finder, as a host function of its
/// own: `__hostFind(collection, id, record)`. Its two strings cross as they
/// are, and the found row (without `collectionId` / `collectionName`) is
/// built here as a JavaScript object (no JSON text either way) and loaded
/// into `record` as `Record.__loaded` would (`__data`; `__original` a copy
/// when the row has nested values, else `null`; `__persisted`): the
/// script's own pass over the row to find nested values was a `for...in`,
/// ~3k instructions a request on issue 15's benchmark. Answers `undefined`,
/// or a failure as `answer`'s text, for `__answer` to throw.
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
                    record.set("__data", to_js(&ctx, &row)?)?;
                    let original = if nested {
                        to_js(&ctx, &row)?
                    } else {
                        rquickjs::Value::new_null(ctx.clone())
                    };
                    record.set("__original", original)?;
                    record.set("__persisted", true)?;
                    Ok(rquickjs::Value::new_undefined(ctx))
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
