//! Access control (Cairn-only): roles, named policies, field-level rules and
//! API keys, black-box through the real server.
//!
//! This file builds one shared "world" and runs the scenario matrix on it:
//! every actor (guest, owner, other user, editor, API key of a reader,
//! superuser) x list / view / create / update / delete, with the field read
//! rule (`note` present or absent) and the field write rule (`status`
//! allowed or 403) asserted on whole response bodies. The submodules cover
//! one concern each: policies, roles, field rules, API keys.
//!
//! The world:
//! - users `owner`, `other`, `editor` (role `editor`) and `reporter` (role
//!   `reader`, used only through an API key bound to it), plus the superuser;
//! - policy `is_owner` = `owner = @request.auth.id`;
//! - `posts` (title, owner -> users, status draft/published with a write
//!   rule for editors, note with a read rule for the owner and editors),
//!   seeded with three posts with fixed ids.

mod fields;
mod keys;
mod policies;
mod roles;
mod scopes;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::TestApp;

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Guest,
    /// The `owner` user (owns every seeded post but one).
    Owner,
    /// The `other` user (owns `OTHER_DRAFT`).
    Other,
    /// A user holding the role `editor`.
    Editor,
    /// An API key bound to `reporter`, a user holding the role `reader`.
    Key,
    Superuser,
}
use Actor::{Editor, Guest, Key, Other, Owner, Superuser};

pub const POSTS: &str = "/api/collections/posts/records";
pub const USERS_ID: &str = "_pb_users_auth_";
pub const EDITOR_RULE: &str = "@request.auth.roles ?= 'editor'";
pub const IS_OWNER_RULE: &str = "owner = @request.auth.id";

pub const OWN_DRAFT: &str = "ownerdraft00001";
pub const OWN_PUB: &str = "ownerpub0000001";
pub const OTHER_DRAFT: &str = "otherdraft00001";

/// The seeded posts: (id, title, owner, status, note), sorted by id.
pub const SEED: [(&str, &str, Actor, &str, &str); 3] = [
    (OTHER_DRAFT, "other draft", Other, "draft", "n3"),
    (OWN_DRAFT, "owner draft", Owner, "draft", "n1"),
    (OWN_PUB, "owner published", Owner, "published", "n2"),
];

/// What each actor may read of the seeded posts: (post, `note` shown), by id.
/// listRule = viewRule = published || is_owner || editor || reader;
/// note.readRule = is_owner || editor; superusers bypass both.
const READS: [(Actor, &[(&str, bool)]); 6] = [
    (Guest, &[(OWN_PUB, false)]),
    (Owner, &[(OWN_DRAFT, true), (OWN_PUB, true)]),
    (Other, &[(OTHER_DRAFT, true), (OWN_PUB, false)]),
    (
        Editor,
        &[(OTHER_DRAFT, true), (OWN_DRAFT, true), (OWN_PUB, true)],
    ),
    (
        Key,
        &[(OTHER_DRAFT, false), (OWN_DRAFT, false), (OWN_PUB, false)],
    ),
    (
        Superuser,
        &[(OTHER_DRAFT, true), (OWN_DRAFT, true), (OWN_PUB, true)],
    ),
];

pub struct World {
    pub t: TestApp,
    pub posts_id: String,
    pub owner_id: String,
    pub owner: String,
    pub other_id: String,
    pub other: String,
    pub editor_id: String,
    pub editor: String,
    pub reporter_id: String,
    /// The API key (bound to `reporter`) and its `_apiKeys` record as created.
    pub key: String,
    pub key_record: Value,
    pub editor_role: String,
    pub reader_role: String,
    pub editor_assignment: String,
    pub reader_assignment: String,
    pub is_owner: String,
}

impl World {
    pub async fn new() -> Self {
        let t = TestApp::spawn().await;
        let (owner_id, owner) = t.user("owner@example.com").await;
        let (other_id, other) = t.user("other@example.com").await;
        let (editor_id, editor) = t.user("editor@example.com").await;
        let (reporter_id, _) = t.user("reporter@example.com").await;

        let editor_role = id_of(&create(&t, "_roles", json!({"name": "editor"})).await);
        let reader_role = id_of(&create(&t, "_roles", json!({"name": "reader"})).await);
        let editor_assignment = assign(&t, &editor_role, &editor_id).await;
        let reader_assignment = assign(&t, &reader_role, &reporter_id).await;
        let is_owner = id_of(
            &create(
                &t,
                "_policies",
                json!({"name": "is_owner", "rule": IS_OWNER_RULE}),
            )
            .await,
        );

        let read = format!(
            "status = 'published' || @policy.is_owner || {EDITOR_RULE} || @request.auth.roles ?= 'reader'"
        );
        let (s, posts) = t
            .post(
                "/api/collections",
                json!({
                    "name": "posts", "type": "base",
                    "listRule": read, "viewRule": read,
                    "createRule": "@request.auth.id != '' && owner = @request.auth.id",
                    "updateRule": format!("@policy.is_owner || {EDITOR_RULE}"),
                    "deleteRule": "@policy.is_owner",
                    "fields": [
                        {"name": "title", "type": "text"},
                        {"name": "owner", "type": "relation", "collectionId": USERS_ID, "maxSelect": 1},
                        {"name": "status", "type": "select", "values": ["draft", "published"],
                         "maxSelect": 1, "writeRule": EDITOR_RULE},
                        {"name": "note", "type": "text",
                         "readRule": format!("@policy.is_owner || {EDITOR_RULE}")},
                    ],
                }),
            )
            .await;
        assert_eq!(s, 200, "create posts: {posts}");

        let key_record = create(
            &t,
            "_apiKeys",
            json!({"name": "reporting", "collectionRef": "users", "recordRef": reporter_id}),
        )
        .await;
        let key = key_record["key"].as_str().expect("key").to_owned();

        let w = Self {
            posts_id: id_of(&posts),
            t,
            owner_id,
            owner,
            other_id,
            other,
            editor_id,
            editor,
            reporter_id,
            key,
            key_record,
            editor_role,
            reader_role,
            editor_assignment,
            reader_assignment,
            is_owner,
        };
        for (id, title, owner, status, note) in SEED {
            let body = json!({"id": id, "title": title, "owner": w.user_id(owner),
                              "status": status, "note": note});
            create(&w.t, "posts", body).await;
        }
        w
    }

    /// The Authorization header an actor sends (`None` = guest).
    pub fn token(&self, a: Actor) -> Option<&str> {
        match a {
            Guest => None,
            Owner => Some(self.owner.as_str()),
            Other => Some(self.other.as_str()),
            Editor => Some(self.editor.as_str()),
            Key => Some(self.key.as_str()),
            Superuser => Some(self.t.token.as_str()),
        }
    }

    /// The `users` record an actor acts as (the API key acts as `reporter`).
    pub fn user_id(&self, a: Actor) -> &str {
        match a {
            Owner => self.owner_id.as_str(),
            Other => self.other_id.as_str(),
            Editor => self.editor_id.as_str(),
            Key => self.reporter_id.as_str(),
            Guest | Superuser => "",
        }
    }

    pub async fn req(
        &self,
        a: Actor,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.t.call(method, path, self.token(a), body).await
    }

    /// A `posts` record as the API answers it; `note: None` = key absent.
    pub fn post(
        &self,
        id: &str,
        title: &str,
        owner: &str,
        status: &str,
        note: Option<&str>,
    ) -> Value {
        let mut v = json!({
            "collectionId": self.posts_id, "collectionName": "posts",
            "id": id, "title": title, "owner": owner, "status": status,
        });
        if let Some(n) = note {
            v["note"] = json!(n);
        }
        v
    }

    /// A seeded post as the API answers it, with or without its `note`.
    pub fn seeded(&self, id: &str, note_shown: bool) -> Value {
        let (_, title, owner, status, note) = SEED
            .into_iter()
            .find(|row| row.0 == id)
            .expect("a seeded id");
        self.post(
            id,
            title,
            self.user_id(owner),
            status,
            note_shown.then_some(note),
        )
    }

    /// A list answer with these items on one page of 30.
    pub fn page(items: Vec<Value>) -> Value {
        let pages = usize::from(!items.is_empty());
        json!({"page": 1, "perPage": 30, "totalItems": items.len(), "totalPages": pages, "items": items})
    }
}

/// Creates a record as the superuser; it must succeed.
pub async fn create(t: &TestApp, collection: &str, body: Value) -> Value {
    let (s, rec) = t
        .post(&format!("/api/collections/{collection}/records"), body)
        .await;
    assert_eq!(s, 200, "create in {collection}: {rec}");
    rec
}

/// Gives a `users` record a role (as the superuser); returns the assignment id.
pub async fn assign(t: &TestApp, role_id: &str, user_id: &str) -> String {
    let body = json!({"role": role_id, "collectionRef": "users", "recordRef": user_id});
    id_of(&create(t, "_roleAssignments", body).await)
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// PocketBase's error body.
pub fn err(status: u16, message: &str, data: Value) -> Value {
    json!({"status": status, "message": message, "data": data})
}

pub fn not_found() -> Value {
    err(404, "The requested resource wasn't found.", json!({}))
}

/// The body of a filter/sort the caller may not use.
pub fn bad_filter() -> Value {
    err(
        400,
        "Something went wrong while processing your request.",
        json!({}),
    )
}

/// The 403 of a write that sets fields whose write rule fails.
pub fn forbidden_fields(fields: &[&str]) -> Value {
    let data: Map<String, Value> = fields
        .iter()
        .map(|f| {
            let e = json!({"code": "validation_field_forbidden",
                           "message": "You are not allowed to write this field."});
            ((*f).to_owned(), e)
        })
        .collect();
    err(
        403,
        "You are not allowed to write some of the submitted fields.",
        Value::Object(data),
    )
}

/// `{field: code}` of a validation error body.
pub fn codes(body: &Value) -> Value {
    let data = body["data"].as_object().cloned().unwrap_or_default();
    Value::Object(
        data.into_iter()
            .map(|(k, v)| (k, v["code"].clone()))
            .collect(),
    )
}

#[tokio::test]
async fn list_and_view_matrix() {
    let w = World::new().await;
    for (actor, readable) in READS {
        let items = readable
            .iter()
            .map(|(id, note)| w.seeded(id, *note))
            .collect();
        let got = w
            .req(actor, Method::GET, &format!("{POSTS}?sort=id"), None)
            .await;
        assert_eq!(got, (200, World::page(items)), "list as {actor:?}");
        for (id, ..) in SEED {
            let want = match readable.iter().find(|(r, _)| *r == id) {
                Some((_, note)) => (200, w.seeded(id, *note)),
                None => (404, not_found()),
            };
            let got = w
                .req(actor, Method::GET, &format!("{POSTS}/{id}"), None)
                .await;
            assert_eq!(got, want, "view {id} as {actor:?}");
        }
    }
}

#[tokio::test]
async fn create_matrix() {
    let w = World::new().await;
    let (o, e, r) = (
        w.owner_id.as_str(),
        w.editor_id.as_str(),
        w.reporter_id.as_str(),
    );
    let body = |id: &str, owner: &str, status: Option<&str>| {
        let mut b = json!({"id": id, "title": "new", "owner": owner, "note": "n"});
        if let Some(s) = status {
            b["status"] = json!(s);
        }
        b
    };
    // Every created post is the creator's own, so its note is readable.
    let created = |id: &str, owner: &str, status: &str| w.post(id, "new", owner, status, Some("n"));
    let failed = (400, err(400, "Failed to create record.", json!({})));
    let status_forbidden = (403, forbidden_fields(&["status"]));
    let cases = [
        (Guest, body("create000000001", "", None), failed.clone()),
        // The collection rule is checked before the field rule.
        (
            Guest,
            body("create000000002", o, Some("draft")),
            failed.clone(),
        ),
        (Other, body("create000000003", o, None), failed.clone()),
        (
            Owner,
            body("create000000004", o, None),
            (200, created("create000000004", o, "")),
        ),
        (
            Owner,
            body("create000000005", o, Some("draft")),
            status_forbidden.clone(),
        ),
        (
            Editor,
            body("create000000006", e, Some("published")),
            (200, created("create000000006", e, "published")),
        ),
        (
            Key,
            body("create000000007", r, None),
            (200, created("create000000007", r, "")),
        ),
        (
            Key,
            body("create000000008", r, Some("published")),
            status_forbidden.clone(),
        ),
        (
            Superuser,
            body("create000000009", o, Some("published")),
            (200, created("create000000009", o, "published")),
        ),
    ];
    for (actor, body, want) in cases {
        let id = id_of(&body);
        let got = w.req(actor, Method::POST, POSTS, Some(body)).await;
        assert_eq!(got, want, "create {id} as {actor:?}");
        let stored = w.t.get(&format!("{POSTS}/{id}")).await;
        if want.0 == 200 {
            assert_eq!(stored, want, "{id} stored as answered");
        } else {
            assert_eq!(stored, (404, not_found()), "{id}: nothing written");
        }
    }
}

#[tokio::test]
async fn update_matrix() {
    let w = World::new().await;
    let o = w.owner_id.clone();
    // Each case updates its own fresh post: the owner's draft titled "before".
    let stored = |id: &str, title: &str, status: &str| w.post(id, title, &o, status, Some("n"));
    let missing = (404, not_found());
    let status_forbidden = (403, forbidden_fields(&["status"]));
    let cases = [
        (
            "update000000001",
            Guest,
            json!({"title": "x"}),
            missing.clone(),
        ),
        // The update rule is checked first: 404, not the field's 403.
        (
            "update000000002",
            Guest,
            json!({"status": "published"}),
            missing.clone(),
        ),
        (
            "update000000003",
            Other,
            json!({"title": "x"}),
            missing.clone(),
        ),
        // A reader may view the post but not update it.
        (
            "update000000004",
            Key,
            json!({"title": "x"}),
            missing.clone(),
        ),
        (
            "update000000005",
            Key,
            json!({"status": "published"}),
            missing.clone(),
        ),
        (
            "update000000006",
            Owner,
            json!({"title": "after"}),
            (200, stored("update000000006", "after", "draft")),
        ),
        (
            "update000000007",
            Owner,
            json!({"status": "published"}),
            status_forbidden.clone(),
        ),
        // A forbidden field sinks the whole write.
        (
            "update000000008",
            Owner,
            json!({"title": "after", "status": "published"}),
            status_forbidden.clone(),
        ),
        (
            "update000000009",
            Editor,
            json!({"title": "after", "status": "published"}),
            (200, stored("update000000009", "after", "published")),
        ),
        (
            "update000000010",
            Superuser,
            json!({"status": "published"}),
            (200, stored("update000000010", "before", "published")),
        ),
    ];
    for (id, actor, body, want) in cases {
        let seed = json!({"id": id, "title": "before", "owner": o, "status": "draft", "note": "n"});
        create(&w.t, "posts", seed).await;
        let url = format!("{POSTS}/{id}");
        let got = w.req(actor, Method::PATCH, &url, Some(body)).await;
        assert_eq!(got, want, "update {id} as {actor:?}");
        let after = if want.0 == 200 {
            want.1.clone()
        } else {
            stored(id, "before", "draft")
        };
        assert_eq!(w.t.get(&url).await, (200, after), "{id} stored");
    }
}

#[tokio::test]
async fn delete_matrix() {
    let w = World::new().await;
    // deleteRule = @policy.is_owner: an editor or a reader can see the post
    // but not delete it.
    let cases = [
        ("delete000000001", Guest, 404),
        ("delete000000002", Other, 404),
        ("delete000000003", Editor, 404),
        ("delete000000004", Key, 404),
        ("delete000000005", Owner, 204),
        ("delete000000006", Superuser, 204),
    ];
    for (id, actor, want) in cases {
        let seed = json!({"id": id, "title": "t", "owner": w.owner_id, "status": "published", "note": "n"});
        let before = create(&w.t, "posts", seed).await;
        let url = format!("{POSTS}/{id}");
        let got = w.req(actor, Method::DELETE, &url, None).await;
        let body = if want == 204 {
            Value::Null
        } else {
            not_found()
        };
        assert_eq!(got, (want, body), "delete {id} as {actor:?}");
        let after = if want == 204 {
            (404, not_found())
        } else {
            (200, before)
        };
        assert_eq!(w.t.get(&url).await, after, "{id} after delete");
    }
}
