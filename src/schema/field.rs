//! Field definitions: one `FieldKind` enum with the options of each type.
//!
//! The JSON shape is PocketBase's: options sit flat beside `id`, `name`,
//! `type`, `system`, `hidden` and `presentable`. An exhaustive `match` on
//! `FieldKind` marks every place a new type must be handled.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::names::field_id;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TextOptions {
    pub required: bool,
    pub primary_key: bool,
    pub min: i64,
    pub max: i64,
    pub pattern: String,
    pub autogenerate_pattern: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EditorOptions {
    pub required: bool,
    pub max_size: i64,
    #[serde(rename = "convertURLs")]
    pub convert_urls: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NumberOptions {
    pub required: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub only_int: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BoolOptions {
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DomainOptions {
    pub required: bool,
    pub except_domains: Vec<String>,
    pub only_domains: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DateOptions {
    pub required: bool,
    pub min: String,
    pub max: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutodateOptions {
    pub on_create: bool,
    pub on_update: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SelectOptions {
    pub required: bool,
    pub values: Vec<String>,
    pub max_select: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JsonOptions {
    pub required: bool,
    pub max_size: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RelationOptions {
    pub required: bool,
    pub collection_id: String,
    pub cascade_delete: bool,
    pub min_select: i64,
    pub max_select: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FileOptions {
    pub required: bool,
    pub mime_types: Vec<String>,
    pub thumbs: Vec<String>,
    pub max_select: i64,
    pub max_size: i64,
    pub protected: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordOptions {
    pub required: bool,
    pub min: i64,
    pub max: i64,
    pub pattern: String,
    pub cost: i64,
}

/// Every field type with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text(TextOptions),
    Editor(EditorOptions),
    Number(NumberOptions),
    Bool(BoolOptions),
    Email(DomainOptions),
    Url(DomainOptions),
    Date(DateOptions),
    Autodate(AutodateOptions),
    Select(SelectOptions),
    Json(JsonOptions),
    Relation(RelationOptions),
    File(FileOptions),
    Password(PasswordOptions),
    GeoPoint(BoolOptions),
}

/// Field type names in the order the dashboard lists them.
pub const FIELD_TYPES: &[&str] = &[
    "text", "editor", "number", "bool", "email", "url", "date", "autodate", "select", "json",
    "relation", "file", "password", "geoPoint",
];

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text(_) => "text",
            FieldKind::Editor(_) => "editor",
            FieldKind::Number(_) => "number",
            FieldKind::Bool(_) => "bool",
            FieldKind::Email(_) => "email",
            FieldKind::Url(_) => "url",
            FieldKind::Date(_) => "date",
            FieldKind::Autodate(_) => "autodate",
            FieldKind::Select(_) => "select",
            FieldKind::Json(_) => "json",
            FieldKind::Relation(_) => "relation",
            FieldKind::File(_) => "file",
            FieldKind::Password(_) => "password",
            FieldKind::GeoPoint(_) => "geoPoint",
        }
    }

    fn from_json(kind: &str, obj: &Map<String, Value>) -> Result<Self, String> {
        // `null` options mean "default" (the dashboard sends them).
        let v = Value::Object(
            obj.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        fn opts<T: for<'de> Deserialize<'de>>(v: Value) -> Result<T, String> {
            serde_json::from_value(v).map_err(|e| e.to_string())
        }
        Ok(match kind {
            "text" => FieldKind::Text(opts(v)?),
            "editor" => FieldKind::Editor(opts(v)?),
            "number" => FieldKind::Number(opts(v)?),
            "bool" => FieldKind::Bool(opts(v)?),
            "email" => FieldKind::Email(opts(v)?),
            "url" => FieldKind::Url(opts(v)?),
            "date" => FieldKind::Date(opts(v)?),
            "autodate" => FieldKind::Autodate(opts(v)?),
            "select" => FieldKind::Select(opts(v)?),
            "json" => FieldKind::Json(opts(v)?),
            "relation" => FieldKind::Relation(opts(v)?),
            "file" => FieldKind::File(opts(v)?),
            "password" => FieldKind::Password(opts(v)?),
            "geoPoint" => FieldKind::GeoPoint(opts(v)?),
            _ => return Err(format!("unknown field type {kind:?}")),
        })
    }

    fn options_json(&self) -> Value {
        let r = match self {
            FieldKind::Text(o) => serde_json::to_value(o),
            FieldKind::Editor(o) => serde_json::to_value(o),
            FieldKind::Number(o) => serde_json::to_value(o),
            FieldKind::Bool(o) | FieldKind::GeoPoint(o) => serde_json::to_value(o),
            FieldKind::Email(o) | FieldKind::Url(o) => serde_json::to_value(o),
            FieldKind::Date(o) => serde_json::to_value(o),
            FieldKind::Autodate(o) => serde_json::to_value(o),
            FieldKind::Select(o) => serde_json::to_value(o),
            FieldKind::Json(o) => serde_json::to_value(o),
            FieldKind::Relation(o) => serde_json::to_value(o),
            FieldKind::File(o) => serde_json::to_value(o),
            FieldKind::Password(o) => serde_json::to_value(o),
        };
        r.unwrap_or(Value::Null)
    }

    /// `required` for kinds that have it.
    pub fn required(&self) -> bool {
        match self {
            FieldKind::Text(o) => o.required,
            FieldKind::Editor(o) => o.required,
            FieldKind::Number(o) => o.required,
            FieldKind::Bool(o) | FieldKind::GeoPoint(o) => o.required,
            FieldKind::Email(o) | FieldKind::Url(o) => o.required,
            FieldKind::Date(o) => o.required,
            FieldKind::Autodate(_) => false,
            FieldKind::Select(o) => o.required,
            FieldKind::Json(o) => o.required,
            FieldKind::Relation(o) => o.required,
            FieldKind::File(o) => o.required,
            FieldKind::Password(o) => o.required,
        }
    }

    /// Select, relation and file fields hold several values when maxSelect > 1.
    pub fn is_multiple(&self) -> bool {
        match self {
            FieldKind::Select(o) => o.max_select > 1,
            FieldKind::Relation(o) => o.max_select > 1,
            FieldKind::File(o) => o.max_select > 1,
            _ => false,
        }
    }

    /// The value a record holds when nothing was set.
    pub fn zero_value(&self) -> Value {
        match self {
            FieldKind::Number(_) => Value::from(0),
            FieldKind::Bool(_) => Value::Bool(false),
            FieldKind::Json(_) => Value::Null,
            FieldKind::GeoPoint(_) => serde_json::json!({"lon": 0, "lat": 0}),
            k if k.is_multiple() => Value::Array(vec![]),
            _ => Value::String(String::new()),
        }
    }
}

/// A field rule: `null`/absent or blank means none.
fn rule_text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// One field of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub id: String,
    pub name: String,
    pub system: bool,
    pub hidden: bool,
    pub presentable: bool,
    pub help: String,
    pub kind: FieldKind,
    /// Cairn: who may read this field of a record (`None`: whoever may
    /// read the record).
    pub read_rule: Option<String>,
    /// Cairn: who may set this field (`None`: whoever may write the record).
    pub write_rule: Option<String>,
}

impl Field {
    pub fn new(name: &str, kind: FieldKind) -> Self {
        Self {
            id: field_id(kind.type_name(), name),
            name: name.to_owned(),
            system: false,
            hidden: false,
            presentable: false,
            help: String::new(),
            kind,
            read_rule: None,
            write_rule: None,
        }
    }

    pub fn system(mut self) -> Self {
        self.system = true;
        self
    }

    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Parses one field object; the error names the offending property.
    pub fn from_json(v: &Value) -> Result<Self, (&'static str, String)> {
        let obj = v
            .as_object()
            .ok_or(("type", "must be an object".to_owned()))?;
        let kind_name = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kind = FieldKind::from_json(kind_name, obj).map_err(|e| ("type", e))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| field_id(kind.type_name(), &name));
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
        Ok(Self {
            id,
            name,
            system: flag("system"),
            hidden: flag("hidden"),
            presentable: flag("presentable"),
            help: obj
                .get("help")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kind,
            read_rule: rule_text(obj.get("readRule")),
            write_rule: rule_text(obj.get("writeRule")),
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = match self.kind.options_json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("type".into(), self.kind.type_name().into());
        m.insert("system".into(), self.system.into());
        m.insert("hidden".into(), self.hidden.into());
        m.insert("presentable".into(), self.presentable.into());
        if !matches!(self.kind, FieldKind::Autodate(_)) {
            m.insert("help".into(), self.help.clone().into());
            m.insert("required".into(), self.kind.required().into());
        }
        // Shown only when set, so PocketBase's field shape is unchanged.
        if let Some(r) = &self.read_rule {
            m.insert("readRule".into(), r.clone().into());
        }
        if let Some(r) = &self.write_rule {
            m.insert("writeRule".into(), r.clone().into());
        }
        Value::Object(m)
    }

    /// The SQLite column type and default for this field.
    pub fn column_def(&self) -> &'static str {
        match &self.kind {
            FieldKind::Number(_) => "NUMERIC DEFAULT 0 NOT NULL",
            FieldKind::Bool(_) => "BOOLEAN DEFAULT FALSE NOT NULL",
            FieldKind::Json(_) => "JSON DEFAULT NULL",
            FieldKind::GeoPoint(_) => "JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL",
            k if k.is_multiple() => "JSON DEFAULT '[]' NOT NULL",
            _ => "TEXT DEFAULT '' NOT NULL",
        }
    }

    /// Passwords and token keys never leave the server.
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, FieldKind::Password(_)) || (self.system && self.name == "tokenKey")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_json() {
        let v = json!({"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2});
        let f = Field::from_json(&v).expect("parses");
        assert!(f.kind.is_multiple());
        assert_eq!(f.id, field_id("select", "tags"));
        let out = f.to_json();
        assert_eq!(out["values"], json!(["a", "b"]));
        assert_eq!(out["type"], "select");
        assert_eq!(Field::from_json(&out).expect("parses again"), f);
    }

    #[test]
    fn unknown_type_is_an_error() {
        let err = Field::from_json(&json!({"name": "x", "type": "nope"})).unwrap_err();
        assert_eq!(err.0, "type");
    }
}
