//! Field-level rules: how they show in the collection JSON, filter/sort on
//! fields with a read rule, and write rules (stored record vs. body, every
//! failing field listed, modifiers, superuser bypass).

use reqwest::Method;
use serde_json::{Value, json};

use super::Actor::{Editor, Guest, Key, Other, Owner, Superuser};
use super::{
    EDITOR_RULE, OTHER_DRAFT, OWN_DRAFT, OWN_PUB, POSTS, World, bad_filter, create,
    forbidden_fields, id_of,
};
use crate::helpers::enc;

#[tokio::test]
async fn collection_json_shows_field_rules_only_when_set() {
    let w = World::new().await;
    let (s, col) = w.t.get("/api/collections/posts").await;
    assert_eq!(s, 200, "{col}");
    let field = |col: &Value, name: &str| {
        let fields = col["fields"].as_array().expect("fields");
        let f = fields.iter().find(|f| f["name"] == name).expect("field");
        (f.get("readRule").cloned(), f.get("writeRule").cloned())
    };
    let note_rule = json!(format!("@policy.is_owner || {EDITOR_RULE}"));
    assert_eq!(field(&col, "title"), (None, None));
    assert_eq!(field(&col, "owner"), (None, None));
    assert_eq!(field(&col, "status"), (None, Some(json!(EDITOR_RULE))));
    assert_eq!(field(&col, "note"), (Some(note_rule), None));

    // "" (anyone) and null both mean "no field rule": the key goes away.
    let mut fields = col["fields"].clone();
    for f in fields.as_array_mut().expect("fields") {
        if f["name"] == "note" {
            f["readRule"] = json!("");
        }
        if f["name"] == "status" {
            f["writeRule"] = Value::Null;
        }
    }
    let (s, col) =
        w.t.patch("/api/collections/posts", json!({"fields": fields}))
            .await;
    assert_eq!(s, 200, "{col}");
    assert_eq!(field(&col, "note"), (None, None));
    assert_eq!(field(&col, "status"), (None, None));
    // Takes effect on the next request: a guest now reads the note, and the
    // owner (not an editor) may now set the status.
    let url = format!("{POSTS}/{OWN_PUB}");
    let got = w.req(Guest, Method::GET, &url, None).await;
    assert_eq!(got, (200, w.seeded(OWN_PUB, true)));
    let draft = format!("{POSTS}/{OWN_DRAFT}");
    let got = w
        .req(
            Owner,
            Method::PATCH,
            &draft,
            Some(json!({"status": "published"})),
        )
        .await;
    let published = w.post(
        OWN_DRAFT,
        "owner draft",
        &w.owner_id,
        "published",
        Some("n1"),
    );
    assert_eq!(got, (200, published));
}

#[tokio::test]
async fn filter_and_sort_on_read_ruled_fields() {
    let w = World::new().await;
    let list = |q: String| format!("{POSTS}?{q}");
    let filter = |f: &str| list(format!("filter={}", enc(f)));
    // note.readRule references a record field (`owner`, through the policy):
    // nobody but a superuser may filter or sort by it, even those who read it.
    let refused = [
        filter("note = 'n1'"),
        filter("title != '' && note != ''"),
        filter("note ~ 'n'"),
        list("sort=note".into()),
        list("sort=-note,title".into()),
    ];
    for actor in [Guest, Owner, Other, Editor, Key] {
        for url in &refused {
            let got = w.req(actor, Method::GET, url, None).await;
            assert_eq!(got, (400, bad_filter()), "{url} as {actor:?}");
        }
    }
    let got = w
        .req(Superuser, Method::GET, &filter("note = 'n3'"), None)
        .await;
    assert_eq!(got, (200, World::page(vec![w.seeded(OTHER_DRAFT, true)])));
    let got = w
        .req(Superuser, Method::GET, &list("sort=-note".into()), None)
        .await;
    let by_note = [OTHER_DRAFT, OWN_PUB, OWN_DRAFT].map(|id| w.seeded(id, true));
    assert_eq!(got, (200, World::page(by_note.to_vec())));

    // A read rule that references only @request: usable by whoever it admits.
    // Read-ruled fields behind a relation: superusers only.
    let (s, memos) = w
        .t
        .post(
            "/api/collections",
            json!({
                "name": "memos", "type": "base", "listRule": "", "viewRule": "",
                "fields": [
                    {"name": "grade", "type": "text", "readRule": EDITOR_RULE},
                    {"name": "post", "type": "relation", "collectionId": w.posts_id, "maxSelect": 1},
                ],
            }),
        )
        .await;
    assert_eq!(s, 200, "{memos}");
    let memo = |id: &str, grade: Option<&str>, post: &str| {
        let mut m = json!({"collectionId": id_of(&memos), "collectionName": "memos", "id": id, "post": post});
        if let Some(g) = grade {
            m["grade"] = json!(g);
        }
        m
    };
    for (id, grade, post) in [
        ("memo00000000001", "A", OTHER_DRAFT),
        ("memo00000000002", "B", OWN_PUB),
    ] {
        create(
            &w.t,
            "memos",
            json!({"id": id, "grade": grade, "post": post}),
        )
        .await;
    }
    let memos_url = |q: &str| format!("/api/collections/memos/records?{q}");
    let grade_a = memos_url(&format!("filter={}", enc("grade = 'A'")));
    let by_grade = memos_url("sort=-grade");
    let via_post = memos_url(&format!("filter={}", enc("post.note = 'n3'")));
    let first = memo("memo00000000001", Some("A"), OTHER_DRAFT);
    let second = memo("memo00000000002", Some("B"), OWN_PUB);
    let cases = [
        (Editor, &grade_a, (200, World::page(vec![first.clone()]))),
        (Superuser, &grade_a, (200, World::page(vec![first.clone()]))),
        (Owner, &grade_a, (400, bad_filter())),
        (Guest, &grade_a, (400, bad_filter())),
        (Key, &grade_a, (400, bad_filter())),
        (
            Editor,
            &by_grade,
            (200, World::page(vec![second.clone(), first.clone()])),
        ),
        (Other, &by_grade, (400, bad_filter())),
        (Editor, &via_post, (400, bad_filter())),
        (Owner, &via_post, (400, bad_filter())),
        (
            Superuser,
            &via_post,
            (200, World::page(vec![first.clone()])),
        ),
    ];
    for (actor, url, want) in cases {
        let got = w.req(actor, Method::GET, url, None).await;
        assert_eq!(got, want, "{url} as {actor:?}");
    }
    // Without filtering on it, a non-editor just does not see `grade`.
    let got = w.req(Owner, Method::GET, &memos_url("sort=id"), None).await;
    let plain = vec![
        memo("memo00000000001", None, OTHER_DRAFT),
        memo("memo00000000002", None, OWN_PUB),
    ];
    assert_eq!(got, (200, World::page(plain)));
}

#[tokio::test]
async fn write_rules_use_the_stored_record_and_list_every_failing_field() {
    const ID: &str = "doc000000000001";
    let w = World::new().await;
    let (s, docs) = w
        .t
        .post(
            "/api/collections",
            json!({
                "name": "docs", "type": "base",
                "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
                "fields": [
                    {"name": "locked", "type": "bool"},
                    {"name": "body", "type": "text", "writeRule": "locked = false"},
                    {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3,
                     "writeRule": EDITOR_RULE},
                    {"name": "level", "type": "number", "writeRule": "@request.body.level < 10"},
                ],
            }),
        )
        .await;
    assert_eq!(s, 200, "{docs}");
    let docs_id = id_of(&docs);
    let url = format!("/api/collections/docs/records/{ID}");
    let doc = |locked: bool, body: &str, tags: Value, level: i64| {
        json!({"collectionId": docs_id, "collectionName": "docs", "id": ID,
               "locked": locked, "body": body, "tags": tags, "level": level})
    };
    let create_url = "/api/collections/docs/records";

    // Create: the rule sees the record as it would be created.
    let cases = [
        (
            json!({"id": ID, "locked": true, "body": "x"}),
            &["body"][..],
        ),
        (
            json!({"id": ID, "locked": true, "body": "x", "tags": ["a"], "level": 50}),
            &["body", "level", "tags"][..],
        ),
    ];
    for (body, failing) in cases {
        let got = w
            .req(Guest, Method::POST, create_url, Some(body.clone()))
            .await;
        assert_eq!(got, (403, forbidden_fields(failing)), "create {body}");
        assert_eq!(w.t.get(&url).await.0, 404, "nothing created by {body}");
    }
    let got = w
        .req(
            Guest,
            Method::POST,
            create_url,
            Some(json!({"id": ID, "body": "x", "level": 5})),
        )
        .await;
    assert_eq!(got, (200, doc(false, "x", json!([]), 5)));

    // Update: body's rule sees the stored record (unlocked) even though the
    // same request locks it; the next write of `body` is refused.
    let steps = [
        (
            Guest,
            json!({"body": "y", "locked": true}),
            200,
            doc(true, "y", json!([]), 5),
        ),
        (
            Guest,
            json!({"body": "z"}),
            403,
            forbidden_fields(&["body"]),
        ),
        (
            Guest,
            json!({"tags+": "b"}),
            403,
            forbidden_fields(&["tags"]),
        ),
        (
            Guest,
            json!({"+tags": "b"}),
            403,
            forbidden_fields(&["tags"]),
        ),
        (
            Owner,
            json!({"tags": ["b"], "body": "z", "level": 3}),
            403,
            forbidden_fields(&["body", "tags"]),
        ),
        (
            Editor,
            json!({"tags+": ["b", "c"]}),
            200,
            doc(true, "y", json!(["b", "c"]), 5),
        ),
        (
            Guest,
            json!({"tags-": "c"}),
            403,
            forbidden_fields(&["tags"]),
        ),
        (
            Guest,
            json!({"level": 3}),
            200,
            doc(true, "y", json!(["b", "c"]), 3),
        ),
        (
            Guest,
            json!({"level": 30}),
            403,
            forbidden_fields(&["level"]),
        ),
        // Superusers bypass field rules.
        (
            Superuser,
            json!({"body": "su", "level": 99}),
            200,
            doc(true, "su", json!(["b", "c"]), 99),
        ),
    ];
    let mut current = doc(false, "x", json!([]), 5);
    for (actor, body, status, want) in steps {
        let got = w.req(actor, Method::PATCH, &url, Some(body.clone())).await;
        assert_eq!(got, (status, want.clone()), "{body} as {actor:?}");
        if status == 200 {
            current = want;
        }
        assert_eq!(
            w.t.get(&url).await,
            (200, current.clone()),
            "stored after {body}"
        );
    }
}
