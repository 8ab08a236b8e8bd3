//! `$app.store()`: PocketBase's in-memory app store, a key/value map shared
//! by every handler of the process. It lives with the loaded hooks (not a
//! generation), so values survive hot reloads; they cross between worker
//! engines as JSON.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::app::App;
use crate::plugins::runtime::HostError;

/// The store's contents.
#[derive(Default)]
pub struct Kv(Mutex<BTreeMap<String, Value>>);

/// Answers a `store.*` operation.
pub fn op(app: &Arc<App>, op: &str, args: Value) -> Result<Value, HostError> {
    let hooks = app
        .hooks
        .get()
        .ok_or_else(|| HostError::new(400, "$app.store() needs loaded pb_hooks"))?;
    let mut map = hooks
        .kv
        .0
        .lock()
        .map_err(|_| HostError::new(500, "the app store is poisoned"))?;
    let key = |a: &Value| {
        a.as_str()
            .or(a["key"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(match op {
        "store.get" => map.get(&key(&args)).cloned().unwrap_or(Value::Null),
        "store.has" => json!(map.contains_key(&key(&args))),
        "store.set" => {
            map.insert(key(&args), args["value"].clone());
            Value::Null
        }
        // Sets only while the store holds fewer than `limit` keys.
        "store.setIfLess" => {
            let k = key(&args);
            let limit = args["limit"].as_u64().unwrap_or(0) as usize;
            let ok = map.contains_key(&k) || map.len() < limit;
            if ok {
                map.insert(k, args["value"].clone());
            }
            json!(ok)
        }
        "store.remove" => {
            map.remove(&key(&args));
            Value::Null
        }
        "store.reset" => {
            map.clear();
            if let Value::Object(o) = args {
                map.extend(o);
            }
            Value::Null
        }
        "store.all" => Value::Object(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        _ => {
            return Err(HostError::new(
                400,
                format!("{op} is not supported by Cairn"),
            ));
        }
    })
}
