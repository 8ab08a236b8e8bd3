//! `/api/collections`: schema changes keep data and fail atomically.

use serde_json::{Value, json};

use crate::helpers::TestApp;

fn field<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {c}"))
}

#[tokio::test]
async fn rename_add_remove_fields_keep_data() {
    let t = TestApp::spawn().await;
    let c = t
        .public_collection(
            "evo",
            json!([{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]),
        )
        .await;
    let (_, rec) = t
        .post(
            "/api/collections/evo/records",
            json!({"title": "hello", "n": 5}),
        )
        .await;
    let id = rec["id"].as_str().unwrap();
    let mut fields = c["fields"].as_array().unwrap().clone();
    for f in fields.iter_mut() {
        if f["name"] == "title" {
            f["name"] = json!("heading");
        }
    }
    fields.retain(|f| f["name"] != "n");
    fields.push(json!({"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2}));
    let (s, body) = t
        .patch("/api/collections/evo", json!({"fields": fields}))
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, rec) = t.get(&format!("/api/collections/evo/records/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(rec["heading"], "hello");
    assert_eq!(rec["tags"], json!([]));
    assert!(
        rec.get("n").is_none() && rec.get("title").is_none(),
        "{rec}"
    );
}

#[tokio::test]
async fn failed_unique_index_leaves_collection_and_data_unchanged() {
    let t = TestApp::spawn().await;
    t.public_collection("dupes", json!([{"name": "title", "type": "text"}]))
        .await;
    for _ in 0..2 {
        let (s, _) = t
            .post("/api/collections/dupes/records", json!({"title": "same"}))
            .await;
        assert_eq!(s, 200);
    }
    let (s, body) = t
        .patch(
            "/api/collections/dupes",
            json!({"indexes": ["CREATE UNIQUE INDEX idx_dupes_title ON dupes (title)"],
                   "fields": [{"name": "title", "type": "text"}, {"name": "extra", "type": "bool"}]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        body["data"]["indexes"]["0"]["code"],
        "validation_invalid_index_expression"
    );
    let (_, c) = t.get("/api/collections/dupes").await;
    assert_eq!(c["indexes"], json!([]));
    assert!(
        c["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "extra")
    );
    let (_, list) = t.get("/api/collections/dupes/records").await;
    assert_eq!(list["totalItems"], 2);
    assert!(list["items"][0].get("extra").is_none());
}

#[tokio::test]
async fn concurrent_creates_are_all_usable_at_once() {
    let t = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = t.client.clone();
        let (url, token) = (t.url.clone(), t.token.clone());
        tasks.push(tokio::spawn(async move {
            let name = format!("c{i}");
            let res = client
                .post(format!("{url}/api/collections"))
                .header("Authorization", &token)
                .json(
                    &json!({"name": name, "type": "base", "listRule": "", "createRule": "",
                              "fields": [{"name": "t", "type": "text"}]}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let res = client
                .post(format!("{url}/api/collections/{name}/records"))
                .json(&json!({"t": "x"}))
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn hostile_names_are_rejected_or_quoted() {
    let t = TestApp::spawn().await;
    for bad in ["bad\"name", "x; DROP TABLE _collections", "a b", ""] {
        let (s, body) = t
            .post("/api/collections", json!({"name": bad, "type": "base"}))
            .await;
        assert_eq!(s, 400, "{bad}: {body}");
        assert!(body["data"]["name"]["code"].is_string(), "{body}");
    }
    // SQL keywords are ordinary names.
    let c = t
        .public_collection("select", json!([{"name": "order", "type": "text"}]))
        .await;
    assert_eq!(field(&c, "order")["type"], "text");
    let (s, rec) = t
        .post(
            "/api/collections/select/records",
            json!({"order": "1'); --"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(rec["order"], "1'); --");
    let (s, body) = t
        .post(
            "/api/collections",
            json!({"name": "inj", "type": "base", "fields": [{"name": "a", "type": "text"}],
                   "indexes": ["CREATE INDEX i ON inj (a); DROP TABLE _collections"]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = t.get("/api/collections/select").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn superuser_only_endpoints() {
    let t = TestApp::spawn().await;
    let (s, body) = t.get_guest("/api/collections").await;
    assert_eq!(s, 401);
    assert_eq!(
        body,
        json!({"data": {}, "message": "The request requires valid record authorization token.", "status": 401})
    );
    let (s, _) = t.get_guest("/api/settings").await;
    assert_eq!(s, 401);
    let (s, body) = t.get("/api/collections/nosuch").await;
    assert_eq!(
        (s, body["message"].as_str()),
        (404, Some("The requested resource wasn't found."))
    );
}
