//! OAuth2 `mappedFields` on the auth config page: which field of a new
//! record gets the provider's user id, name, username and avatar URL when
//! an OAuth2 sign-in creates the record (`service/auth/oauth2.rs`
//! `create_user`).
//!
//! Only fields the sign-in can fill are offered: non-system `text` fields,
//! and for the avatar also `url` fields (the URL) and `file` fields (the
//! picture is downloaded, as PocketBase does; its `users` maps the avatar
//! to its `file` field). A stored mapping to another field stays selected
//! and says that Cairn does not fill it, so saving the page never drops it
//! silently.

use serde_json::{Value, json};

use super::view::Form;
use crate::schema::{Collection, FieldKind};

/// (`mappedFields` key, label).
const KEYS: &[(&str, &str)] = &[
    ("id", "User id from the provider"),
    ("name", "Name from the provider"),
    ("username", "Username from the provider"),
    ("avatarURL", "Avatar URL from the provider"),
];

/// The fields `key` may be mapped to.
fn fitting(c: &Collection, key: &str) -> Vec<String> {
    c.fields
        .iter()
        .filter(|f| !f.system)
        .filter(|f| match f.kind {
            FieldKind::Text(_) => true,
            FieldKind::Url(_) | FieldKind::File(_) => key == "avatarURL",
            _ => false,
        })
        .map(|f| f.name.clone())
        .collect()
}

/// The four selects as template rows, from the collection JSON `j`.
pub fn rows(c: &Collection, j: &Value, errors: &Value) -> Vec<Value> {
    KEYS.iter()
        .map(|(key, label)| {
            let current = j["oauth2"]["mappedFields"][*key]
                .as_str()
                .unwrap_or_default();
            let mut options: Vec<Value> = fitting(c, key)
                .into_iter()
                .map(|n| {
                    let file = c
                        .field(&n)
                        .is_some_and(|f| matches!(f.kind, FieldKind::File(_)));
                    let label = if file {
                        format!("{n} (file: the picture is downloaded)")
                    } else {
                        n.clone()
                    };
                    json!({"value": n, "label": label})
                })
                .collect();
            if !current.is_empty() && !options.iter().any(|o| o["value"] == current) {
                let kind = c.field(current).map_or("missing", |f| f.kind.type_name());
                options.push(json!({"value": current,
                    "label": format!("{current} ({kind} field: not filled by Cairn)")}));
            }
            let error = errors["oauth2"]["mappedFields"][*key]["message"]
                .as_str()
                .unwrap_or_default();
            json!({"key": key, "label": label, "value": current, "options": options,
                "error": error})
        })
        .collect()
}

/// Writes the submitted selects into the collection JSON.
pub fn apply(form: &Form, j: &mut Value) {
    if !j["oauth2"]["mappedFields"].is_object() {
        j["oauth2"]["mappedFields"] = json!({});
    }
    for (key, _) in KEYS {
        j["oauth2"]["mappedFields"][*key] = form.text(&format!("m.{key}")).trim().into();
    }
}
