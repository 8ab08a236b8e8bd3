//! Hostile input in every list parameter is harmless: it is either a value
//! (bound parameter), an unknown name (400 or ignored), or refused.

use serde_json::json;

use crate::helpers::{TestApp, enc};

#[tokio::test]
async fn list_parameters_cannot_inject_sql() {
    let t = TestApp::spawn().await;
    t.public_collection("posts", json!([{"name": "title", "type": "text"}]))
        .await;
    let (s, _) = t
        .post("/api/collections/posts/records", json!({"title": "keep"}))
        .await;
    assert_eq!(s, 200);
    let base = "/api/collections/posts/records";
    let attacks = [
        "title; DROP TABLE posts",
        "title\" ; DROP TABLE posts; --",
        "(SELECT 1)",
        "title) UNION SELECT * FROM _superusers --",
        "-title,@random; DELETE FROM posts",
    ];
    for a in attacks {
        let (s, _) = t.get_guest(&format!("{base}?sort={}", enc(a))).await;
        assert_eq!(s, 400, "sort {a}");
        let (s, _) = t.get_guest(&format!("{base}?filter={}", enc(a))).await;
        assert_eq!(s, 400, "filter {a}");
        // Unknown expand paths and field names are ignored, never executed.
        let (s, b) = t.get_guest(&format!("{base}?expand={}", enc(a))).await;
        assert_eq!(s, 200, "expand {a}: {b}");
        let (s, _) = t.get_guest(&format!("{base}?fields={}", enc(a))).await;
        assert_eq!(s, 200, "fields {a}");
    }
    // Values are values.
    let (s, b) = t
        .get_guest(&format!(
            "{base}?filter={}",
            enc("title = \"x' || '1' = '1\"")
        ))
        .await;
    assert_eq!((s, b["totalItems"].as_i64()), (200, Some(0)));
    let (s, b) = t.get_guest(base).await;
    assert_eq!((s, b["totalItems"].as_i64()), (200, Some(1)));
    let (s, b) = t.get("/api/collections/_superusers/records").await;
    assert_eq!((s, b["totalItems"].as_i64()), (200, Some(1)));
}

#[tokio::test]
async fn view_queries_cannot_write_or_escape() {
    let t = TestApp::spawn().await;
    t.public_collection("posts", json!([{"name": "title", "type": "text"}]))
        .await;
    for q in [
        "SELECT id FROM posts; DROP TABLE posts",
        "DELETE FROM posts",
        "SELECT id, password FROM _superusers WHERE 1; ATTACH 'x' AS y",
        "SELECT id, value FROM _params",
        "SELECT id FROM sqlite_master",
        "SELECT load_extension('x') AS id",
    ] {
        let (s, b) = t
            .post(
                "/api/collections",
                json!({"name": "v", "type": "view", "viewQuery": q}),
            )
            .await;
        assert_eq!(s, 400, "{q}: {b}");
        assert_eq!(
            b["data"]["viewQuery"]["code"], "validation_invalid_view_query",
            "{q}"
        );
    }
    let (s, _) = t.get("/api/collections/posts").await;
    assert_eq!(s, 200);
}
