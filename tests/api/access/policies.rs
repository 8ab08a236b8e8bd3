//! Named policies: validation when saved (syntax, unknown references, cycles,
//! compiling for the collections that use them), refusal to rename or delete
//! a policy in use, changes taking effect on the next request, `@policy` in
//! superuser filters.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::Actor::{Editor, Guest, Other, Owner, Superuser};
use super::{
    EDITOR_RULE, IS_OWNER_RULE, OTHER_DRAFT, OWN_DRAFT, OWN_PUB, POSTS, World, codes, create,
    id_of, not_found,
};
use crate::helpers::enc;

const POLICIES: &str = "/api/collections/_policies/records";

#[tokio::test]
async fn saving_a_policy_validates_it() {
    let w = World::new().await;
    let t = &w.t;
    // (body, field codes) of refused creates.
    let refused = [
        (
            json!({"name": "bad_syntax", "rule": "owner ="}),
            json!({"rule": "validation_invalid_rule"}),
        ),
        (
            json!({"name": "bad_syntax2", "rule": "(owner = 'x'"}),
            json!({"rule": "validation_invalid_rule"}),
        ),
        (
            json!({"name": "dangling", "rule": "@policy.nope || @request.auth.id != ''"}),
            json!({"rule": "validation_unknown_policy"}),
        ),
        (
            json!({"name": "no_rule"}),
            json!({"rule": "validation_required"}),
        ),
        (
            json!({"name": "has space", "rule": "@request.auth.id != ''"}),
            json!({"name": "validation_invalid_format"}),
        ),
        (
            json!({"name": "9starts_with_digit", "rule": "@request.auth.id != ''"}),
            json!({"name": "validation_invalid_format"}),
        ),
        (
            json!({"name": "is_owner", "rule": "@request.auth.id != ''"}),
            json!({"name": "validation_not_unique"}),
        ),
    ];
    for (body, want) in refused {
        let (s, got) = t.post(POLICIES, body.clone()).await;
        assert_eq!(
            (s, &got["message"]),
            (400, &json!("Failed to create record.")),
            "{body}: {got}"
        );
        assert_eq!(codes(&got), want, "{body}: {got}");
    }
    let (_, list) = t.get(&format!("{POLICIES}?sort=name")).await;
    assert_eq!(list["totalItems"], 1, "nothing saved: {list}");

    // A policy that parses but does not compile for `posts`, which uses it.
    let is_owner = format!("{POLICIES}/{}", w.is_owner);
    let (s, got) = t.patch(&is_owner, json!({"rule": "nosuchfield = 1"})).await;
    assert_eq!(
        (s, &got["message"]),
        (400, &json!("Failed to update record.")),
        "{got}"
    );
    assert_eq!(codes(&got), json!({"rule": "validation_invalid_rule"}));
    let (_, stored) = t.get(&is_owner).await;
    assert_eq!(stored["rule"], IS_OWNER_RULE);

    // Cycles: a -> b -> a, and a policy naming itself.
    let a = id_of(
        &create(
            t,
            "_policies",
            json!({"name": "cycle_a", "rule": "@request.auth.id != ''"}),
        )
        .await,
    );
    create(
        t,
        "_policies",
        json!({"name": "cycle_b", "rule": "@policy.cycle_a && @request.auth.id != ''"}),
    )
    .await;
    let a_url = format!("{POLICIES}/{a}");
    for (rule, accepted) in [
        (
            "@policy.cycle_b",
            &[
                "Policy cycle: cycle_a -> cycle_b -> cycle_a.",
                "Policy cycle: cycle_b -> cycle_a -> cycle_b.",
            ][..],
        ),
        (
            "@policy.cycle_a || @request.auth.id = ''",
            &["Policy cycle: cycle_a -> cycle_a."][..],
        ),
    ] {
        let (s, got) = t.patch(&a_url, json!({"rule": rule})).await;
        assert_eq!(
            (s, &got["message"]),
            (400, &json!("Failed to update record.")),
            "{rule}: {got}"
        );
        assert_eq!(
            codes(&got),
            json!({"rule": "validation_policy_cycle"}),
            "{rule}: {got}"
        );
        let message = got["data"]["rule"]["message"].as_str().unwrap_or_default();
        assert!(accepted.contains(&message), "{rule}: {message}");
    }
    let (_, stored) = t.get(&a_url).await;
    assert_eq!(stored["rule"], "@request.auth.id != ''", "unchanged");

    // A collection rule (or a field rule) naming an unknown policy.
    let (s, got) = t
        .post(
            "/api/collections",
            json!({"name": "bad", "type": "base", "listRule": "@policy.nope", "fields": [{"name": "x", "type": "text"}]}),
        )
        .await;
    assert_eq!(
        (s, &got["message"]),
        (400, &json!("Failed to create collection.")),
        "{got}"
    );
    assert_eq!(codes(&got), json!({"listRule": "validation_invalid_rule"}));
    let (s, got) = t
        .post(
            "/api/collections",
            json!({"name": "bad2", "type": "base", "fields": [{"name": "x", "type": "text", "readRule": "@policy.nope"}]}),
        )
        .await;
    assert_eq!(s, 400, "{got}");
}

/// The places listed in a `validation_policy_in_use` message, as a set.
fn places(body: &Value) -> BTreeSet<String> {
    let message = body["data"]["name"]["message"].as_str().unwrap_or_default();
    let list = message
        .strip_prefix("In use by: ")
        .and_then(|m| m.strip_suffix('.'))
        .unwrap_or_else(|| panic!("unexpected message: {body}"));
    list.split(", ").map(str::to_owned).collect()
}

#[tokio::test]
async fn a_policy_in_use_cannot_be_renamed_or_deleted() {
    let w = World::new().await;
    let t = &w.t;
    let derived = create(
        t,
        "_policies",
        json!({"name": "owner_or_editor", "rule": format!("@policy.is_owner || {EDITOR_RULE}")}),
    )
    .await;
    let url = format!("{POLICIES}/{}", w.is_owner);
    let users = |extra: &[&str]| -> BTreeSet<String> {
        [
            "posts.listRule",
            "posts.viewRule",
            "posts.updateRule",
            "posts.deleteRule",
            "posts.fields.note.readRule",
        ]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
    };

    let (s, got) = t.delete(&url).await;
    assert_eq!(
        (s, &got["message"]),
        (400, &json!("The policy is in use and cannot be deleted.")),
        "{got}"
    );
    assert_eq!(got["status"], 400);
    assert_eq!(codes(&got), json!({"name": "validation_policy_in_use"}));
    assert_eq!(places(&got), users(&["@policy.owner_or_editor"]));

    let (s, got) = t.patch(&url, json!({"name": "is_mine"})).await;
    assert_eq!(
        (s, &got["message"]),
        (400, &json!("Failed to update record.")),
        "{got}"
    );
    assert_eq!(codes(&got), json!({"name": "validation_policy_in_use"}));
    assert_eq!(places(&got), users(&["@policy.owner_or_editor"]));

    // Other edits are fine; an unused policy may be renamed and deleted.
    let (s, got) = t
        .patch(&url, json!({"description": "the record's owner"}))
        .await;
    assert_eq!((s, &got["name"]), (200, &json!("is_owner")), "{got}");
    let derived_url = format!("{POLICIES}/{}", id_of(&derived));
    let (s, got) = t.patch(&derived_url, json!({"name": "owner_or_ed"})).await;
    assert_eq!((s, &got["name"]), (200, &json!("owner_or_ed")), "{got}");
    assert_eq!(t.delete(&derived_url).await, (204, Value::Null));
    let (s, got) = t.delete(&url).await;
    assert_eq!(s, 400, "{got}");
    assert_eq!(places(&got), users(&[]));

    // Refusals changed nothing: the policy still decides.
    let own = format!("{POSTS}/{OWN_DRAFT}");
    assert_eq!(
        w.req(Owner, Method::GET, &own, None).await,
        (200, w.seeded(OWN_DRAFT, true))
    );
    assert_eq!(
        w.req(Other, Method::GET, &own, None).await,
        (404, not_found())
    );
}

#[tokio::test]
async fn a_policy_change_takes_effect_on_the_next_request_everywhere() {
    let w = World::new().await;
    let url = format!("{POLICIES}/{}", w.is_owner);
    let own = format!("{POSTS}/{OWN_DRAFT}");
    let public = format!("{POSTS}/{OWN_PUB}");
    assert_eq!(
        w.req(Other, Method::GET, &own, None).await,
        (404, not_found())
    );
    assert_eq!(
        w.req(Other, Method::GET, &public, None).await,
        (200, w.seeded(OWN_PUB, false))
    );

    // Every signed-in user now "owns" every post: list/view, the note's read
    // rule and the delete rule all follow, with the same tokens.
    let (s, got) =
        w.t.patch(&url, json!({"rule": "@request.auth.id != ''"}))
            .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        w.req(Other, Method::GET, &own, None).await,
        (200, w.seeded(OWN_DRAFT, true))
    );
    assert_eq!(
        w.req(Other, Method::GET, &public, None).await,
        (200, w.seeded(OWN_PUB, true))
    );
    assert_eq!(
        w.req(Guest, Method::GET, &own, None).await,
        (404, not_found())
    );
    let seed =
        json!({"id": "doomed000000001", "title": "t", "owner": w.owner_id, "status": "draft"});
    create(&w.t, "posts", seed).await;
    let doomed = format!("{POSTS}/doomed000000001");
    assert_eq!(
        w.req(Other, Method::DELETE, &doomed, None).await,
        (204, Value::Null)
    );

    let (s, got) = w.t.patch(&url, json!({"rule": IS_OWNER_RULE})).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        w.req(Other, Method::GET, &own, None).await,
        (404, not_found())
    );
    assert_eq!(
        w.req(Other, Method::GET, &public, None).await,
        (200, w.seeded(OWN_PUB, false))
    );
}

#[tokio::test]
async fn superuser_filters_may_use_policies() {
    let w = World::new().await;
    create(
        &w.t,
        "_policies",
        json!({"name": "published", "rule": "status = 'published'"}),
    )
    .await;
    let filter = |f: &str| format!("{POSTS}?sort=id&filter={}", enc(f));
    let got = w
        .req(Superuser, Method::GET, &filter("@policy.published"), None)
        .await;
    assert_eq!(got, (200, World::page(vec![w.seeded(OWN_PUB, true)])));
    let got = w
        .req(
            Superuser,
            Method::GET,
            &filter("@policy.published || title = 'other draft'"),
            None,
        )
        .await;
    let want = World::page(vec![w.seeded(OTHER_DRAFT, true), w.seeded(OWN_PUB, true)]);
    assert_eq!(got, (200, want));
    // Anyone else: 403, a policy's verdict must not be probed by filtering.
    let denied =
        json!({"status": 403, "message": "Only superusers can filter by @policy.", "data": {}});
    for who in [Guest, Owner, Editor] {
        let got = w
            .req(who, Method::GET, &filter("@policy.published"), None)
            .await;
        assert_eq!(got, (403, denied.clone()));
    }
}

#[tokio::test]
async fn policies_nest_at_most_sixteen_levels() {
    let w = World::new().await;
    let t = &w.t;
    // p1 = a rule, p(n) = @policy.p(n-1): using p(n) expands n policies.
    create(t, "_policies", json!({"name": "p1", "rule": "id != ''"})).await;
    for n in 2..=17 {
        let rule = format!("@policy.p{}", n - 1);
        create(
            t,
            "_policies",
            json!({"name": format!("p{n}"), "rule": rule}),
        )
        .await;
    }
    let (s, body) = t
        .post(
            "/api/collections",
            json!({"name": "deep", "type": "base", "listRule": "@policy.p16"}),
        )
        .await;
    assert_eq!(s, 200, "16 levels are allowed: {body}");
    let (s, body) = t
        .post(
            "/api/collections",
            json!({"name": "deeper", "type": "base",
        "listRule": "@policy.p17"}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(codes(&body), json!({"listRule": "validation_invalid_rule"}));
}
