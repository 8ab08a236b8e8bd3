//! A stored row as a client sees it: hidden fields, `email` by
//! `emailVisibility` and who asks, then Cairn's field read rules.

use serde_json::{Map, Value};

use super::field_rules;
use crate::filter::ast::RequestInfo;
use crate::schema::{Collection, FieldKind};
use crate::service::{Actor, Error};
use crate::store::Store;
use crate::store::records::Row_;

/// The record as a client may see it.
pub fn to_public(c: &Collection, rec: &Row_, actor: &Actor) -> Value {
    to_public_with(c, rec, actor, false)
}

/// `to_public`, with `manager` set when the caller satisfies the auth
/// collection's `manageRule` for this record (managers see the email).
pub fn to_public_with(c: &Collection, rec: &Row_, actor: &Actor, manager: bool) -> Value {
    let mut m = Map::with_capacity(rec.len() + 2);
    m.insert("collectionId".into(), c.id.clone().into());
    m.insert("collectionName".into(), c.name.clone().into());
    let view = Viewer::new(c, rec, actor, manager);
    for f in &c.fields {
        let v = match view.shows(c, f, rec) {
            Shown::No => continue,
            Shown::Blank => Value::String(String::new()),
            Shown::Yes => rec
                .get(&f.name)
                .cloned()
                .unwrap_or_else(|| f.kind.zero_value()),
        };
        m.insert(f.name.clone(), v);
    }
    view.finish(c, &mut m);
    Value::Object(m)
}

/// `to_public_with` as JSON text to write ([`PublicView::write_json`]),
/// borrowing the row's values instead of copying them into a new map,
/// keeping only the fields `keep` accepts; keys come out sorted, as a
/// `serde_json::Map` prints them, so the text is the same as
/// `to_public_with(..).to_string()`. The webhook outbox writes each
/// delivery's record this way.
pub struct PublicView<'r> {
    entries: Vec<(&'r str, Shown_<'r>)>,
}

enum Shown_<'r> {
    Value(&'r Value),
    Text(&'r str),
    Owned(Value),
}

impl<'r> PublicView<'r> {
    pub fn new(
        c: &'r Collection,
        rec: &'r Row_,
        actor: &Actor,
        manager: bool,
        keep: impl Fn(&str) -> bool,
    ) -> Self {
        let view = Viewer::new(c, rec, actor, manager);
        let mut entries = Vec::with_capacity(c.fields.len() + 2);
        entries.push(("collectionId", Shown_::Text(&c.id)));
        entries.push(("collectionName", Shown_::Text(&c.name)));
        for f in &c.fields {
            let v = match view.shows(c, f, rec) {
                Shown::No => continue,
                Shown::Blank => Shown_::Text(""),
                Shown::Yes => rec
                    .get(&f.name)
                    .map_or_else(|| Shown_::Owned(f.kind.zero_value()), Shown_::Value),
            };
            entries.push((f.name.as_str(), v));
        }
        if view.superuser && c.is_auth() && c.name == crate::schema::system::SUPERUSERS {
            entries.retain(|(k, _)| *k != "verified");
            entries.push(("verified", Shown_::Owned(Value::Bool(true))));
        }
        entries.retain(|(k, _)| keep(k));
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Self { entries }
    }
}

impl PublicView<'_> {
    /// Appends the same text `serde_json` prints for it, by
    /// [`crate::json_text`] (strings copied whole, not byte by byte).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use crate::json_text::{text, value};
        out.push(b'{');
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            text(out, k);
            out.push(b':');
            match v {
                Shown_::Value(v) => value(out, v),
                Shown_::Text(t) => text(out, t),
                Shown_::Owned(v) => value(out, v),
            }
        }
        out.push(b'}');
    }
}

/// `to_public` for a row the store just read (exactly the collection's
/// fields): strips it in place instead of copying every value, which a
/// page of 50 records showed in profiles.
pub fn to_public_row(c: &Collection, rec: Row_, actor: &Actor) -> Value {
    to_public_row_with(c, rec, actor, false)
}

/// `to_public_row` with `manager` as in [`to_public_with`].
fn to_public_row_with(c: &Collection, mut rec: Row_, actor: &Actor, manager: bool) -> Value {
    let view = Viewer::new(c, &rec, actor, manager);
    for f in &c.fields {
        match view.shows(c, f, &rec) {
            Shown::No => {
                rec.remove(&f.name);
            }
            Shown::Blank => {
                rec.insert(f.name.clone(), Value::String(String::new()));
            }
            Shown::Yes => {
                if !rec.contains_key(&f.name) {
                    rec.insert(f.name.clone(), f.kind.zero_value());
                }
            }
        }
    }
    rec.insert("collectionId".into(), c.id.clone().into());
    rec.insert("collectionName".into(), c.name.clone().into());
    view.finish(c, &mut rec);
    Value::Object(rec)
}

/// Whether a field is shown: not at all, as "" (password fields), or as is.
enum Shown {
    No,
    Blank,
    Yes,
}

/// Who looks at a record, for `to_public_with` / `to_public_row`.
struct Viewer {
    superuser: bool,
    owner: bool,
    manager: bool,
}

impl Viewer {
    fn new(c: &Collection, rec: &Row_, actor: &Actor, manager: bool) -> Self {
        let id = rec.get("id").and_then(Value::as_str).unwrap_or_default();
        let owner = actor
            .identity()
            .is_some_and(|i| i.collection.id == c.id && i.id() == id);
        Self {
            superuser: actor.is_superuser(),
            owner,
            manager,
        }
    }

    fn shows(&self, c: &Collection, f: &crate::schema::Field, rec: &Row_) -> Shown {
        // Auth secrets never leave; other hidden password fields (`_otps`)
        // show as "" to superusers, like PocketBase.
        if c.is_auth() && f.system && f.hidden && (f.name == "password" || f.name == "tokenKey") {
            return Shown::No;
        }
        // An API key's digest is not shown, not even to superusers.
        if f.system && f.hidden && f.name == "keyHash" {
            return Shown::No;
        }
        if f.hidden && !self.superuser {
            return Shown::No;
        }
        if c.is_auth()
            && f.system
            && f.name == "email"
            && !self.superuser
            && !self.owner
            && !self.manager
        {
            let visible = rec
                .get("emailVisibility")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !visible {
                return Shown::No;
            }
        }
        match f.kind {
            FieldKind::Password(_) => Shown::Blank,
            _ => Shown::Yes,
        }
    }

    fn finish(&self, c: &Collection, m: &mut Map<String, Value>) {
        if self.superuser && c.is_auth() && c.name == crate::schema::system::SUPERUSERS {
            m.insert("verified".into(), true.into());
        }
    }
}

/// `to_public_with`, then Cairn's field read rules (one record).
pub fn present(
    store: &Store,
    c: &Collection,
    rec: &Row_,
    actor: &Actor,
    req: &RequestInfo,
    manager: bool,
) -> Result<Value, Error> {
    hide_unreadable(store, c, actor, req, to_public_with(c, rec, actor, manager))
}

/// `present` for a row the caller owns and no longer needs (a write's
/// result): stripped in place instead of copied value by value. Keys that
/// are not fields of `c` are dropped, as `to_public_with` drops them.
pub fn present_owned(
    store: &Store,
    c: &Collection,
    mut rec: Row_,
    actor: &Actor,
    req: &RequestInfo,
    manager: bool,
) -> Result<Value, Error> {
    if rec.len() != c.fields.len() || rec.keys().any(|k| c.field(k).is_none()) {
        rec.retain(|k, _| c.field(k).is_some());
    }
    let v = to_public_row_with(c, rec, actor, manager);
    hide_unreadable(store, c, actor, req, v)
}

/// Cairn's field read rules applied to one public record.
fn hide_unreadable(
    store: &Store,
    c: &Collection,
    actor: &Actor,
    req: &RequestInfo,
    v: Value,
) -> Result<Value, Error> {
    let mut v = [v];
    if c.fields.iter().any(|f| f.read_rule.is_some()) {
        let reads = field_rules::FieldReads::prepare(store, &store.schema(), c, actor, req)?;
        reads.hide(store, c, &mut v)?;
    }
    let [v] = v;
    Ok(v)
}
