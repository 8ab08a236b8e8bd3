//! Automigrate: a collection change made through the API is written to
//! `pb_migrations` as a JavaScript migration in PocketBase's templates
//! (`<unix seconds>_created|updated|deleted_<name>.js`), and marked applied.
//!
//! PocketBase names files by the second, so two changes within one second
//! collide and the second is silently lost. Cairn never reuses a name: a
//! file for the same second takes the next free second, which also keeps
//! files in the order the changes happened.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::migrations::MigrationError;

const HEADER: &str = "/// <reference path=\"../pb_data/types.d.ts\" />\n";

/// The last timestamp handed out (process-wide: names stay unique even
/// when files are written concurrently).
static LAST: Mutex<i64> = Mutex::new(0);

/// Writes `body` to `<ts>_<name>.js` with a timestamp no earlier than now,
/// later than any handed out before and not already used in `dir`.
pub fn write_unique(dir: &Path, name: &str, body: &str) -> Result<PathBuf, MigrationError> {
    std::fs::create_dir_all(dir).map_err(|e| MigrationError(e.to_string()))?;
    let mut last = LAST.lock().map_err(|_| MigrationError("poisoned".into()))?;
    let mut ts = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .max(*last + 1);
    loop {
        let path = dir.join(format!("{ts}_{name}.js"));
        let taken = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok).any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{ts}_"))
                })
            })
            .unwrap_or(false);
        if !taken {
            *last = ts;
            std::fs::write(&path, body).map_err(|e| MigrationError(e.to_string()))?;
            return Ok(path);
        }
        ts += 1;
    }
}

/// Recursively key-sorted, as Go marshals maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Go's `MarshalIndent(v, "  ", "  ")` for JSON values.
fn pretty(v: &Value, prefix: &str) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(&sorted(v), &mut ser);
    String::from_utf8_lossy(&buf).replace('\n', &format!("\n{prefix}"))
}

fn without_times(c: &Value) -> Value {
    let mut c = c.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("created");
        m.remove("updated");
    }
    c
}

fn str_of<'a>(c: &'a Value, k: &str) -> &'a str {
    c.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// PocketBase appends `_` to names ending in `test` (Go would treat the
/// file as a test file).
fn file_name(kind: &str, name: &str) -> String {
    let mut n = format!("{kind}_{name}");
    if n.ends_with("test") {
        n.push('_');
    }
    n
}

/// The body of a `created` migration.
pub fn created_js(c: &Value) -> String {
    format!(
        "{HEADER}migrate((app) => {{\n  const collection = new Collection({});\n\n  return app.save(collection);\n}}, (app) => {{\n  const collection = app.findCollectionByNameOrId({:?});\n\n  return app.delete(collection);\n}})\n",
        pretty(&without_times(c), "  "),
        str_of(c, "id")
    )
}

/// The body of a `deleted` migration.
pub fn deleted_js(c: &Value) -> String {
    format!(
        "{HEADER}migrate((app) => {{\n  const collection = app.findCollectionByNameOrId({:?});\n\n  return app.delete(collection);\n}}, (app) => {{\n  const collection = new Collection({});\n\n  return app.save(collection);\n}})\n",
        str_of(c, "id"),
        pretty(&without_times(c), "  ")
    )
}

/// The body of a `migrate collections` snapshot.
pub fn snapshot_js(list: &Value) -> String {
    format!(
        "{HEADER}migrate((app) => {{\n  const snapshot = {};\n\n  return app.importCollections(snapshot, false);\n}}, (app) => {{\n  return null;\n}})\n",
        pretty(list, "  ")
    )
}

/// The statements turning `from` into `to` (top-level properties through
/// `unmarshal`, fields through `removeById`/`addAt`).
fn diff_steps(from: &Value, to: &Value) -> Vec<String> {
    let mut steps = Vec::new();
    let (Some(a), Some(b)) = (from.as_object(), to.as_object()) else {
        return steps;
    };
    let mut props = Map::new();
    for (k, v) in b {
        if matches!(k.as_str(), "fields" | "created" | "updated" | "id") {
            continue;
        }
        if a.get(k) != Some(v) {
            props.insert(k.clone(), v.clone());
        }
    }
    if !props.is_empty() {
        steps.push(format!(
            "  // update collection data\n  unmarshal({}, collection)",
            pretty(&Value::Object(props), "  ")
        ));
    }
    let empty = Vec::new();
    let old_fields = a.get("fields").and_then(Value::as_array).unwrap_or(&empty);
    let new_fields = b.get("fields").and_then(Value::as_array).unwrap_or(&empty);
    let id = |f: &Value| str_of(f, "id").to_owned();
    for f in old_fields {
        if !new_fields.iter().any(|n| id(n) == id(f)) {
            steps.push(format!(
                "  // remove field\n  collection.fields.removeById({:?})",
                id(f)
            ));
        }
    }
    for (i, f) in new_fields.iter().enumerate() {
        let label = match old_fields.iter().find(|o| id(o) == id(f)) {
            None => "add field",
            Some(o) if o != f => "update field",
            Some(_) => continue,
        };
        steps.push(format!(
            "  // {label}\n  collection.fields.addAt({i}, new Field({}))",
            pretty(f, "  ")
        ));
    }
    steps
}

/// The body of an `updated` migration, or `None` when nothing changed.
pub fn updated_js(old: &Value, new: &Value) -> Option<String> {
    let up = diff_steps(old, new);
    if up.is_empty() {
        return None;
    }
    let down = diff_steps(new, old);
    Some(format!(
        "{HEADER}migrate((app) => {{\n  const collection = app.findCollectionByNameOrId({:?})\n\n{}\n\n  return app.save(collection)\n}}, (app) => {{\n  const collection = app.findCollectionByNameOrId({:?})\n\n{}\n\n  return app.save(collection)\n}})\n",
        str_of(new, "id"),
        up.join("\n\n"),
        str_of(old, "id"),
        down.join("\n\n")
    ))
}

/// What changed, for `plan`.
pub enum Change<'a> {
    Created(&'a Value),
    Updated(&'a Value, &'a Value),
    Deleted(&'a Value),
}

/// The file name stem and body for a change (`None`: nothing to write).
pub fn plan(change: Change<'_>) -> Option<(String, String)> {
    match change {
        Change::Created(c) => Some((file_name("created", str_of(c, "name")), created_js(c))),
        Change::Deleted(c) => Some((file_name("deleted", str_of(c, "name")), deleted_js(c))),
        Change::Updated(old, new) => {
            updated_js(old, new).map(|b| (file_name("updated", str_of(old, "name")), b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_never_collide_within_a_second() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write_unique(dir.path(), "updated_posts", "a").expect("a");
        let b = write_unique(dir.path(), "updated_posts", "b").expect("b");
        assert_ne!(a, b);
        assert!(a.file_name() < b.file_name());
    }

    #[test]
    fn update_diffs_rules_and_fields() {
        let old = json!({"id": "pbc_1", "name": "posts", "listRule": null,
            "fields": [{"id": "t1", "name": "title", "type": "text"}]});
        let new = json!({"id": "pbc_1", "name": "posts", "listRule": "",
            "fields": [{"id": "t1", "name": "title", "type": "text", "required": true},
                       {"id": "n1", "name": "n", "type": "number"}]});
        let js = updated_js(&old, &new).expect("changed");
        assert!(js.contains("\"listRule\": \"\""), "{js}");
        assert!(
            js.contains("collection.fields.addAt(1, new Field({"),
            "{js}"
        );
        assert!(js.contains("collection.fields.removeById(\"n1\")"), "{js}");
        assert!(updated_js(&old, &old).is_none());
        assert_eq!(file_name("created", "mytest"), "created_mytest_");
    }
}
