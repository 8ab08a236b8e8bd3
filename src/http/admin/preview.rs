//! "Preview as user" on the records list: the list is read through the
//! same `service::records::list` call as `GET /api/collections/NAME/records`,
//! with a chosen auth record (or a guest) as the actor instead of the
//! signed-in superuser, so the collection's rules, field read rules and
//! expands apply exactly as they would to that user's token. Nothing is
//! minted: no token exists that the browser could replay on `/api/*`, and
//! the page is read-only while previewing.
//!
//! The choice lives in the URL (`as_coll`: an auth collection or `@guest`;
//! `as_user`: a record id or email), like the filter and sort. A scoped
//! superuser can only preview as users of auth collections in the scope:
//! the lookup by id or email would otherwise tell which accounts exist
//! elsewhere.

use serde_json::{Map, Value};

use super::session::Admin;
use crate::app::App;
use crate::filter::ast::RequestInfo;
use crate::schema::system::SUPERUSERS;
use crate::schema::{Collection, CollectionKind};
use crate::service::{Actor, Identity, rules};
use crate::store::records;

/// Who a list is read as.
pub struct Viewer {
    pub actor: Actor,
    pub req: RequestInfo,
    /// Whom the preview shows, `None` for the signed-in superuser.
    pub preview: Option<String>,
}

/// The URL parameters of a preview (empty when there is none).
pub fn params(q: &[(String, String)]) -> (String, String) {
    let get = |k: &str| super::view::param(q, k).trim().to_owned();
    (get("as_coll"), get("as_user"))
}

fn viewer_of(app: &App, actor: Actor, preview: Option<String>) -> Viewer {
    let req = rules::request_info(&app.store, &actor, "GET", Map::new(), Map::new());
    Viewer {
        actor,
        req,
        preview,
    }
}

/// The actor for the list: the superuser, or the previewed user or guest.
/// An unknown collection or user is an error to show (the list is then
/// not shown at all rather than shown as the superuser sees it).
pub fn viewer(app: &App, admin: &Admin, (coll, user): &(String, String)) -> Result<Viewer, String> {
    if coll.is_empty() {
        return Ok(viewer_of(app, Actor::Superuser(admin.id.clone()), None));
    }
    if coll == "@guest" {
        let who = Some("a guest (no auth token)".to_owned());
        return Ok(viewer_of(app, Actor::Guest, who));
    }
    let c = app
        .store
        .schema()
        .get(coll)
        .filter(|c| previewable(admin, c))
        .ok_or_else(|| format!("{coll} is not an auth collection that can be previewed."))?;
    if user.is_empty() {
        return Err(format!(
            "Type the id or email of a {} record to preview.",
            c.name
        ));
    }
    let found = app
        .store
        .read(|conn| match records::get(conn, &c, user)? {
            Some(r) => Ok(Some(r)),
            None => records::find_by(conn, &c, "email", user),
        })
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("No {} record has the id or email {user}.", c.name))?;
    let email = found
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = found.get("id").and_then(Value::as_str).unwrap_or_default();
    let who = if email.is_empty() {
        format!("{} {id}", c.name)
    } else {
        format!("{email} ({} {id})", c.name)
    };
    let identity = Identity {
        collection: c,
        record: found.into(),
    };
    Ok(viewer_of(app, Actor::User(identity), Some(who)))
}

/// Whether `c` can be previewed as: an auth collection other than
/// `_superusers`, inside the superuser's scope.
fn previewable(admin: &Admin, c: &Collection) -> bool {
    c.kind == CollectionKind::Auth && c.name != SUPERUSERS && super::shell::in_scope(admin, c)
}

/// The auth collections a preview can use.
pub fn choices(app: &App, admin: &Admin) -> Vec<String> {
    let mut v: Vec<String> = app
        .store
        .schema()
        .collections
        .iter()
        .filter(|c| previewable(admin, c))
        .map(|c| c.name.clone())
        .collect();
    v.sort();
    v
}
