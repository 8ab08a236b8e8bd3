//! The field editor's model: which options each field type has, how a
//! field row is shown, and how a submitted row becomes PocketBase's field
//! JSON. One table (`OPTIONS`) drives both directions, so every option of
//! every type is editable without a template per type.

use serde_json::{Map, Value, json};

use super::view::Form;
use crate::schema::field::FIELD_TYPES;

/// How an option is edited.
#[derive(Clone, Copy, PartialEq)]
pub enum Opt {
    Int,
    Num,
    Text,
    Bool,
    /// Comma-separated strings.
    List,
    /// A collection id (relation target).
    Collection,
}

/// One option: (key, label, kind).
pub type OptionSpec = (&'static str, &'static str, Opt);

/// (type, its options).
pub const OPTIONS: &[(&str, &[OptionSpec])] = &[
    (
        "text",
        &[
            ("min", "Min length", Opt::Int),
            ("max", "Max length", Opt::Int),
            ("pattern", "Regex pattern", Opt::Text),
            ("autogeneratePattern", "Autogenerate pattern", Opt::Text),
        ],
    ),
    (
        "editor",
        &[
            ("maxSize", "Max size (bytes)", Opt::Int),
            ("convertURLs", "Convert URLs", Opt::Bool),
        ],
    ),
    (
        "number",
        &[
            ("min", "Min", Opt::Num),
            ("max", "Max", Opt::Num),
            ("onlyInt", "Integers only", Opt::Bool),
        ],
    ),
    ("bool", &[]),
    (
        "email",
        &[
            ("exceptDomains", "Except domains", Opt::List),
            ("onlyDomains", "Only domains", Opt::List),
        ],
    ),
    (
        "url",
        &[
            ("exceptDomains", "Except domains", Opt::List),
            ("onlyDomains", "Only domains", Opt::List),
        ],
    ),
    (
        "date",
        &[
            ("min", "Min date", Opt::Text),
            ("max", "Max date", Opt::Text),
        ],
    ),
    (
        "autodate",
        &[
            ("onCreate", "Set on create", Opt::Bool),
            ("onUpdate", "Set on update", Opt::Bool),
        ],
    ),
    (
        "select",
        &[
            ("values", "Choices", Opt::List),
            ("maxSelect", "Max select", Opt::Int),
        ],
    ),
    ("json", &[("maxSize", "Max size (bytes)", Opt::Int)]),
    (
        "relation",
        &[
            ("collectionId", "Related collection", Opt::Collection),
            ("cascadeDelete", "Cascade delete", Opt::Bool),
            ("minSelect", "Min select", Opt::Int),
            ("maxSelect", "Max select", Opt::Int),
        ],
    ),
    (
        "file",
        &[
            ("mimeTypes", "MIME types", Opt::List),
            ("thumbs", "Thumb sizes", Opt::List),
            ("maxSelect", "Max files", Opt::Int),
            ("maxSize", "Max size (bytes)", Opt::Int),
            ("protected", "Protected", Opt::Bool),
        ],
    ),
    (
        "password",
        &[
            ("min", "Min length", Opt::Int),
            ("max", "Max length", Opt::Int),
            ("pattern", "Regex pattern", Opt::Text),
            ("cost", "Cost", Opt::Int),
        ],
    ),
    ("geoPoint", &[]),
];

fn options_of(t: &str) -> &'static [OptionSpec] {
    OPTIONS
        .iter()
        .find(|(n, _)| *n == t)
        .map(|(_, o)| *o)
        .unwrap_or(&[])
}

/// Field types for the "add field" menu.
pub fn types() -> &'static [&'static str] {
    FIELD_TYPES
}

/// A field row for the template. `collections` are (id, name) pairs.
pub fn row(i: usize, f: &Value, collections: &[(String, String)], errors: &Value) -> Value {
    let t = f["type"].as_str().unwrap_or("text");
    let opts: Vec<Value> = options_of(t)
        .iter()
        .map(|(key, label, kind)| {
            let v = &f[*key];
            let (k, value) = match kind {
                Opt::Int | Opt::Num => ("number", if v.is_number() { v.to_string() } else { String::new() }),
                Opt::Text => ("text", v.as_str().unwrap_or_default().to_owned()),
                Opt::Bool => ("bool", String::new()),
                Opt::List => (
                    "text",
                    v.as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                ),
                Opt::Collection => ("collection", v.as_str().unwrap_or_default().to_owned()),
            };
            let choices: Vec<Value> = if *kind == Opt::Collection {
                collections
                    .iter()
                    .map(|(id, name)| json!({"value": id, "label": name, "selected": v.as_str() == Some(id)}))
                    .collect()
            } else {
                Vec::new()
            };
            json!({
                "key": key, "label": label, "kind": k, "value": value,
                "checked": v.as_bool().unwrap_or(false), "choices": choices,
                "error": errors[*key]["message"],
            })
        })
        .collect();
    let messages: Vec<String> = errors
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|e| e["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "i": i, "id": f["id"], "name": f["name"], "type": t, "system": f["system"].as_bool().unwrap_or(false),
        "required": f["required"].as_bool().unwrap_or(false),
        "hidden": f["hidden"].as_bool().unwrap_or(false),
        "presentable": f["presentable"].as_bool().unwrap_or(false),
        "readRule": f["readRule"].as_str(), "writeRule": f["writeRule"].as_str(),
        "help": f["help"].as_str().unwrap_or_default(),
        "options": opts,
        "name_error": errors["name"]["message"],
        "errors": messages,
    })
}

/// The field JSON of submitted row `i`, starting from `orig` (so keys the
/// form does not show survive).
pub fn parse_row(form: &Form, i: usize, orig: Option<&Value>) -> Value {
    let k = |key: &str| format!("f.{i}.{key}");
    let mut f: Map<String, Value> = orig
        .and_then(|o| o.as_object().cloned())
        .unwrap_or_default();
    let t = form.text(&k("type"));
    let t = if FIELD_TYPES.contains(&t.as_str()) {
        t
    } else {
        "text".to_owned()
    };
    if f.get("type").and_then(Value::as_str) != Some(t.as_str()) {
        // A changed type starts from that type's defaults.
        f.retain(|key, _| {
            matches!(
                key.as_str(),
                "id" | "name" | "system" | "hidden" | "presentable" | "help"
            )
        });
    }
    let id = form.text(&k("id"));
    if !id.is_empty() {
        f.insert("id".into(), id.into());
    }
    f.insert(
        "name".into(),
        form.text(&k("name")).trim().to_owned().into(),
    );
    f.insert("type".into(), t.clone().into());
    for key in ["required", "hidden", "presentable"] {
        f.insert(key.into(), form.flag(&k(key)).into());
    }
    f.insert("help".into(), form.text(&k("help")).into());
    for key in ["readRule", "writeRule"] {
        let v = form.text(&k(key));
        f.insert(
            key.into(),
            if v.trim().is_empty() {
                Value::Null
            } else {
                v.into()
            },
        );
    }
    for (key, _, kind) in options_of(&t) {
        let raw = form.text(&k(&format!("o.{key}")));
        let v = match kind {
            Opt::Int => raw
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(0.into()),
            Opt::Num => raw
                .trim()
                .parse::<f64>()
                .map(Value::from)
                .unwrap_or(Value::Null),
            Opt::Text | Opt::Collection => raw.into(),
            Opt::Bool => form.flag(&k(&format!("o.{key}"))).into(),
            Opt::List => Value::from(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            ),
        };
        f.insert((*key).into(), v);
    }
    Value::Object(f)
}

/// The rows of a submitted form, in order, after the row action (`add`,
/// `remove:i`, `up:i`, `down:i`).
pub fn parse_rows(form: &Form, orig: &[Value], action: &str) -> Vec<Value> {
    let n: usize = form.text("f.count").parse().unwrap_or(0).min(500);
    let mut rows: Vec<Value> = (0..n)
        .map(|i| {
            let id = form.text(&format!("f.{i}.id"));
            let o = orig
                .iter()
                .find(|f| !id.is_empty() && f["id"].as_str() == Some(id.as_str()));
            parse_row(form, i, o)
        })
        .collect();
    let idx = |p: &str| action.strip_prefix(p).and_then(|s| s.parse::<usize>().ok());
    if action == "add" {
        let t = form.text("add_type");
        let t = if FIELD_TYPES.contains(&t.as_str()) {
            t
        } else {
            "text".to_owned()
        };
        let mut f = json!({"name": "", "type": t, "required": false, "hidden": false, "presentable": false});
        if t == "autodate" {
            f["onCreate"] = true.into();
        }
        if t == "select" || t == "relation" || t == "file" {
            f["maxSelect"] = 1.into();
        }
        rows.push(f);
    } else if let Some(i) = idx("remove:") {
        if i < rows.len() && !rows[i]["system"].as_bool().unwrap_or(false) {
            rows.remove(i);
        }
    } else if let Some(i) = idx("up:") {
        if i > 0 && i < rows.len() {
            rows.swap(i, i - 1);
        }
    } else if let Some(i) = idx("down:")
        && i + 1 < rows.len()
    {
        rows.swap(i, i + 1);
    }
    rows
}

/// What saving would change, in words (for the confirmation step).
pub fn changes(old_name: &str, new_name: &str, orig: &[Value], rows: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    if old_name != new_name {
        out.push(format!("Rename the collection {old_name} to {new_name}"));
    }
    for o in orig {
        let id = o["id"].as_str().unwrap_or_default();
        let name = o["name"].as_str().unwrap_or_default();
        match rows.iter().find(|r| r["id"].as_str() == Some(id)) {
            None => out.push(format!("Delete the field {name} and its data")),
            Some(r) => {
                let new = r["name"].as_str().unwrap_or_default();
                if new != name {
                    out.push(format!("Rename the field {name} to {new} (data kept)"));
                }
                if r["type"] != o["type"] {
                    out.push(format!(
                        "Change the type of {name} from {} to {}",
                        o["type"].as_str().unwrap_or_default(),
                        r["type"].as_str().unwrap_or_default()
                    ));
                }
                let max = |v: &Value| v["maxSelect"].as_i64().unwrap_or(0);
                if max(o) > 1 && max(r) <= 1 && r["type"] == o["type"] {
                    out.push(format!("Change {new} from multiple values to a single value (only the last is kept)"));
                }
            }
        }
    }
    out
}
