//! Collections: the schema of one table plus its API rules and options.

use serde_json::{Map, Value, json};

use super::field::{Field, FieldKind};

/// What kind of collection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    Base,
    Auth,
    View,
}

impl CollectionKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "base" => Some(Self::Base),
            "auth" => Some(Self::Auth),
            "view" => Some(Self::View),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Auth => "auth",
            Self::View => "view",
        }
    }
}

/// Who may perform an action: PocketBase's `null` / `""` / expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// `null`: superusers only.
    Superusers,
    /// `""`: anyone, including guests.
    Anyone,
    /// A filter expression the request must satisfy.
    Rule(String),
}

impl Access {
    /// Reads a rule; `None` when it is neither null nor a string.
    pub fn from_json(v: Option<&Value>) -> Option<Self> {
        match v {
            None | Some(Value::Null) => Some(Self::Superusers),
            Some(Value::String(s)) if s.trim().is_empty() => Some(Self::Anyone),
            Some(Value::String(s)) => Some(Self::Rule(s.clone())),
            Some(_) => None,
        }
    }
    pub fn to_json(&self) -> Value {
        match self {
            Self::Superusers => Value::Null,
            Self::Anyone => Value::String(String::new()),
            Self::Rule(s) => Value::String(s.clone()),
        }
    }
}

/// The five record API rules, in PocketBase's key order.
pub const RULE_KEYS: [&str; 5] = [
    "listRule",
    "viewRule",
    "createRule",
    "updateRule",
    "deleteRule",
];

/// A collection definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub kind: CollectionKind,
    pub system: bool,
    pub fields: Vec<Field>,
    pub indexes: Vec<String>,
    /// listRule, viewRule, createRule, updateRule, deleteRule.
    pub rules: [Access; 5],
    /// Type-specific options (auth settings, `viewQuery`), kept in PocketBase's shape.
    pub options: Map<String, Value>,
    pub created: String,
    pub updated: String,
}

/// Index into `Collection::rules`.
#[derive(Debug, Clone, Copy)]
pub enum RuleKind {
    List = 0,
    View = 1,
    Create = 2,
    Update = 3,
    Delete = 4,
}

impl Collection {
    pub fn rule(&self, kind: RuleKind) -> &Access {
        &self.rules[kind as usize]
    }

    /// `authRule` or `manageRule` of an auth collection (options).
    pub fn auth_rule(&self, key: &str) -> Access {
        Access::from_json(self.options.get(key)).unwrap_or(Access::Superusers)
    }

    pub fn is_auth(&self) -> bool {
        self.kind == CollectionKind::Auth
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Fields stored as columns (all but none today; kept for view collections).
    pub fn columns(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter()
    }

    /// The collection's JSON as the collections API returns it: token
    /// secrets never leave the server.
    pub fn to_json(&self) -> Value {
        let mut v = self.to_stored_json();
        if let Value::Object(m) = &mut v {
            for (_, opt) in m.iter_mut() {
                if let Value::Object(o) = opt {
                    o.remove("secret");
                }
            }
            // OAuth2 client secrets are write-only too.
            if let Some(list) = m
                .get_mut("oauth2")
                .and_then(|o| o.get_mut("providers"))
                .and_then(Value::as_array_mut)
            {
                for p in list.iter_mut().filter_map(Value::as_object_mut) {
                    p.remove("clientSecret");
                }
            }
        }
        v
    }

    /// The full definition, secrets included, as kept in `_collections`.
    pub fn to_stored_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("type".into(), self.kind.as_str().into());
        m.insert("system".into(), self.system.into());
        m.insert(
            "fields".into(),
            Value::Array(self.fields.iter().map(Field::to_json).collect()),
        );
        m.insert("indexes".into(), json!(self.indexes));
        for (k, r) in RULE_KEYS.iter().zip(self.rules.iter()) {
            m.insert((*k).into(), r.to_json());
        }
        m.insert("created".into(), self.created.clone().into());
        m.insert("updated".into(), self.updated.clone().into());
        for (k, v) in &self.options {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// Reads a collection stored by `to_json` (trusted input from our own table).
    pub fn from_stored(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        let s = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let kind = CollectionKind::parse(&s("type"))?;
        let fields = o
            .get("fields")?
            .as_array()?
            .iter()
            .map(|f| Field::from_json(f).ok())
            .collect::<Option<Vec<_>>>()?;
        let rules = RULE_KEYS.map(|k| Access::from_json(o.get(k)).unwrap_or(Access::Superusers));
        let mut options = Map::new();
        for (k, v) in o {
            if !is_common_key(k) {
                options.insert(k.clone(), v.clone());
            }
        }
        Some(Self {
            id: s("id"),
            name: s("name"),
            kind,
            system: o.get("system").and_then(Value::as_bool).unwrap_or(false),
            fields,
            indexes: o
                .get("indexes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            rules,
            options,
            created: s("created"),
            updated: s("updated"),
        })
    }

    fn opt(&self, path: &[&str]) -> Option<&Value> {
        let mut cur = self.options.get(path[0])?;
        for p in &path[1..] {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    /// The HS256 secret half that belongs to the collection for a token type.
    pub fn token_secret(&self, token: &str) -> String {
        self.opt(&[token, "secret"])
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// Token lifetime in seconds for a token type (`authToken`, ...).
    pub fn token_duration(&self, token: &str) -> i64 {
        self.opt(&[token, "duration"])
            .and_then(Value::as_i64)
            .unwrap_or(604_800)
    }

    pub fn password_auth_enabled(&self) -> bool {
        self.opt(&["passwordAuth", "enabled"])
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn identity_fields(&self) -> Vec<String> {
        self.opt(&["passwordAuth", "identityFields"])
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Relation fields of this collection that point at `target_id`.
    pub fn relations_to<'a>(
        &'a self,
        target_id: &'a str,
    ) -> impl Iterator<Item = (&'a Field, &'a super::field::RelationOptions)> + 'a {
        self.fields.iter().filter_map(move |f| match &f.kind {
            FieldKind::Relation(o) if o.collection_id == target_id => Some((f, o)),
            _ => None,
        })
    }
}

/// Keys every collection has; anything else is a type-specific option.
pub fn is_common_key(k: &str) -> bool {
    matches!(
        k,
        "id" | "name"
            | "type"
            | "system"
            | "fields"
            | "indexes"
            | "created"
            | "updated"
            | "listRule"
            | "viewRule"
            | "createRule"
            | "updateRule"
            | "deleteRule"
    )
}
