//! Roles: the `_roles` / `_roleAssignments` records and their validation,
//! `@request.auth.roles` in rules (any-of, none-of, length, an auth
//! collection's own `roles` field), revocation and clean-up.

use reqwest::Method;
use serde_json::{Value, json};

use super::Actor::{Editor, Guest, Key, Owner};
use super::{
    EDITOR_RULE, OTHER_DRAFT, OWN_PUB, POSTS, USERS_ID, World, assign, codes, create, err, id_of,
    not_found,
};

const ROLES: &str = "/api/collections/_roles/records";
const ASSIGNMENTS: &str = "/api/collections/_roleAssignments/records";

#[tokio::test]
async fn revoking_a_role_takes_effect_on_the_next_request() {
    let w = World::new().await;
    let draft = format!("{POSTS}/{OTHER_DRAFT}");
    let list = format!("{POSTS}?sort=id");
    let edit = format!("{POSTS}/{OWN_PUB}");
    let title = || Some(json!({"title": "edited"}));
    let seen = (200, w.seeded(OTHER_DRAFT, true));
    assert_eq!(w.req(Editor, Method::GET, &draft, None).await, seen);

    let grant = format!("{ASSIGNMENTS}/{}", w.editor_assignment);
    assert_eq!(w.t.delete(&grant).await, (204, Value::Null));
    // Same token, no new login: the editor is a plain user from now on.
    assert_eq!(
        w.req(Editor, Method::GET, &draft, None).await,
        (404, not_found())
    );
    let only_public = World::page(vec![w.seeded(OWN_PUB, false)]);
    assert_eq!(
        w.req(Editor, Method::GET, &list, None).await,
        (200, only_public)
    );
    assert_eq!(
        w.req(Editor, Method::PATCH, &edit, title()).await,
        (404, not_found())
    );

    // Granted again: back at once.
    let again = assign(&w.t, &w.editor_role, &w.editor_id).await;
    assert_eq!(w.req(Editor, Method::GET, &draft, None).await, seen);

    // Deleting the role deletes its assignments, and the access with them.
    let role = format!("{ROLES}/{}", w.editor_role);
    assert_eq!(w.t.delete(&role).await, (204, Value::Null));
    let again = format!("{ASSIGNMENTS}/{again}");
    assert_eq!(w.t.get(&again).await, (404, not_found()));
    assert_eq!(
        w.req(Editor, Method::GET, &draft, None).await,
        (404, not_found())
    );
}

#[tokio::test]
async fn deleting_a_user_deletes_its_assignments() {
    let w = World::new().await;
    let reader = format!("{ASSIGNMENTS}/{}", w.reader_assignment);
    let (s, grant) = w.t.get(&reader).await;
    assert_eq!((s, &grant["role"]), (200, &json!(w.reader_role)), "{grant}");
    let user = format!("/api/collections/users/records/{}", w.reporter_id);
    assert_eq!(w.t.delete(&user).await, (204, Value::Null));
    assert_eq!(w.t.get(&reader).await, (404, not_found()));
    let editor = format!("{ASSIGNMENTS}/{}", w.editor_assignment);
    assert_eq!(w.t.get(&editor).await.0, 200, "other assignments stay");
}

#[tokio::test]
async fn roles_and_assignments_are_validated() {
    let w = World::new().await;
    let t = &w.t;
    // collectionRef was sent as a name and is stored as the collection id.
    let (_, col) = t.get("/api/collections/_roleAssignments").await;
    let (s, grant) = t
        .get(&format!("{ASSIGNMENTS}/{}", w.editor_assignment))
        .await;
    let want = json!({
        "collectionId": col["id"], "collectionName": "_roleAssignments",
        "id": w.editor_assignment, "role": w.editor_role,
        "collectionRef": USERS_ID, "recordRef": w.editor_id,
        "created": grant["created"], "updated": grant["updated"],
    });
    assert_eq!((s, &grant), (200, &want));

    let not_unique = json!({"collectionRef": "validation_not_unique",
                            "recordRef": "validation_not_unique", "role": "validation_not_unique"});
    let refused = [
        // The same role twice, by collection name or id.
        (
            json!({"role": w.editor_role, "collectionRef": "users", "recordRef": w.editor_id}),
            not_unique.clone(),
        ),
        (
            json!({"role": w.reader_role, "collectionRef": USERS_ID, "recordRef": w.reporter_id}),
            not_unique,
        ),
        (
            json!({"role": w.editor_role, "collectionRef": "nope", "recordRef": w.owner_id}),
            json!({"collectionRef": "validation_invalid_collection"}),
        ),
        // Not an auth collection.
        (
            json!({"role": w.editor_role, "collectionRef": "posts", "recordRef": OWN_PUB}),
            json!({"collectionRef": "validation_invalid_collection"}),
        ),
        (
            json!({"role": w.editor_role, "collectionRef": "users", "recordRef": "missingmissing1"}),
            json!({"recordRef": "validation_missing_record"}),
        ),
        (
            json!({"collectionRef": "users", "recordRef": w.owner_id}),
            json!({"role": "validation_required"}),
        ),
    ];
    for (body, want) in refused {
        let (s, got) = t.post(ASSIGNMENTS, body.clone()).await;
        assert_eq!(
            (s, &got["message"]),
            (400, &json!("Failed to create record.")),
            "{body}: {got}"
        );
        assert_eq!(codes(&got), want, "{body}: {got}");
    }

    let refused = [
        (json!({"name": "editor"}), "validation_not_unique"),
        (json!({"name": "bad name"}), "validation_invalid_format"),
        (
            json!({"name": "x".repeat(65)}),
            "validation_max_text_constraint",
        ),
        (json!({"description": "nameless"}), "validation_required"),
    ];
    for (body, code) in refused {
        let (s, got) = t.post(ROLES, body.clone()).await;
        assert_eq!(
            (s, &got["message"]),
            (400, &json!("Failed to create record.")),
            "{body}: {got}"
        );
        assert_eq!(codes(&got), json!({"name": code}), "{body}: {got}");
    }
    let ok = create(
        t,
        "_roles",
        json!({"name": "Team-lead_2", "description": "d"}),
    )
    .await;
    assert_eq!(
        (&ok["name"], &ok["description"]),
        (&json!("Team-lead_2"), &json!("d"))
    );

    // All four system collections are superuser-only by default, also for
    // holders of roles and API keys.
    let only = (
        403,
        err(403, "Only superusers can perform this action.", json!({})),
    );
    for actor in [Guest, Owner, Editor, Key] {
        let grant_self =
            json!({"role": w.editor_role, "collectionRef": "users", "recordRef": w.user_id(actor)});
        let requests = [
            (Method::GET, ROLES, None),
            (Method::POST, ROLES, Some(json!({"name": "sneaky"}))),
            (Method::GET, ASSIGNMENTS, None),
            (Method::POST, ASSIGNMENTS, Some(grant_self)),
            (Method::GET, "/api/collections/_policies/records", None),
            (Method::GET, "/api/collections/_apiKeys/records", None),
        ];
        for (method, path, body) in requests {
            let what = format!("{method} {path} as {actor:?}");
            assert_eq!(w.req(actor, method, path, body).await, only, "{what}");
        }
    }
}

#[tokio::test]
async fn roles_in_rules_any_of_none_of_and_length() {
    let w = World::new().await;
    let banned_role = id_of(&create(&w.t, "_roles", json!({"name": "banned"})).await);
    let (banned_id, banned) = w.t.user("banned@example.com").await;
    assign(&w.t, &banned_role, &banned_id).await;
    let collections = [
        ("not_banned", "@request.auth.roles != 'banned'"),
        ("any_role", "@request.auth.roles:length > 0"),
        ("editors", EDITOR_RULE),
        ("no_roles", "@request.auth.roles:length = 0"),
    ];
    for (name, rule) in collections {
        let (s, body) =
            w.t.post(
                "/api/collections",
                json!({"name": name, "type": "base", "listRule": rule,
                       "fields": [{"name": "x", "type": "text"}]}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        create(&w.t, name, json!({"x": "row"})).await;
    }
    // Rows each caller sees in [not_banned, any_role, editors, no_roles].
    let table: [(&str, Option<&str>, [i64; 4]); 5] = [
        ("guest (no roles: != holds)", None, [1, 0, 0, 1]),
        ("owner (no roles)", Some(w.owner.as_str()), [1, 0, 0, 1]),
        ("editor", Some(w.editor.as_str()), [1, 1, 1, 0]),
        ("API key of a reader", Some(w.key.as_str()), [1, 1, 0, 0]),
        ("banned", Some(banned.as_str()), [0, 1, 0, 0]),
    ];
    for (who, token, want) in table {
        let mut got = [0; 4];
        for (i, (name, _)) in collections.iter().enumerate() {
            let url = format!("/api/collections/{name}/records");
            let (s, body) = w.t.call(Method::GET, &url, token, None).await;
            assert_eq!(s, 200, "{who} lists {name}: {body}");
            got[i] = body["totalItems"].as_i64().unwrap();
        }
        assert_eq!(got, want, "{who}");
    }
}

#[tokio::test]
async fn an_auth_collections_own_roles_field_wins() {
    let w = World::new().await;
    let (s, members) =
        w.t.post(
            "/api/collections",
            json!({"name": "members", "type": "auth", "fields": [
                {"name": "roles", "type": "select", "values": ["vip", "editor"], "maxSelect": 2}]}),
        )
        .await;
    assert_eq!(s, 200, "{members}");
    let pw = "password123";
    let member = create(
        &w.t,
        "members",
        json!({"email": "m@example.com", "password": pw, "passwordConfirm": pw, "roles": ["vip"]}),
    )
    .await;
    // The member also holds the system role `editor`; its own field wins.
    let body =
        json!({"role": w.editor_role, "collectionRef": "members", "recordRef": id_of(&member)});
    let (s, grant) = w.t.post(ASSIGNMENTS, body).await;
    assert_eq!(
        (s, &grant["collectionRef"]),
        (200, &members["id"]),
        "{grant}"
    );
    let login = json!({"identity": "m@example.com", "password": pw});
    let url = "/api/collections/members/auth-with-password";
    let (s, auth) = w.t.call(Method::POST, url, None, Some(login)).await;
    assert_eq!(s, 200, "{auth}");
    let token = auth["token"].as_str();

    let (s, body) =
        w.t.post(
            "/api/collections",
            json!({"name": "vip_room", "type": "base", "listRule": "@request.auth.roles ?= 'vip'",
                   "fields": [{"name": "x", "type": "text"}]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    create(&w.t, "vip_room", json!({"x": "row"})).await;
    let (s, body) =
        w.t.call(
            Method::GET,
            "/api/collections/vip_room/records",
            token,
            None,
        )
        .await;
    assert_eq!((s, &body["totalItems"]), (200, &json!(1)), "{body}");
    let list = format!("{POSTS}?sort=id");
    let got = w.t.call(Method::GET, &list, token, None).await;
    assert_eq!(
        got,
        (200, World::page(vec![w.seeded(OWN_PUB, false)])),
        "not an editor"
    );
}
