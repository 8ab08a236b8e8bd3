//! Realtime over WebSocket (`/api/realtime/ws`, Cairn's second transport):
//! the same subscriptions, rules and resume as the SSE feed.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(t: &TestApp, token: Option<&str>) -> (Ws, String) {
    let mut url = format!("{}/api/realtime/ws", t.url.replace("http://", "ws://"));
    if let Some(tok) = token {
        url.push_str(&format!("?token={tok}"));
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = next(&mut ws).await;
    assert_eq!(hello["event"], "PB_CONNECT");
    let id = hello["data"]["clientId"].as_str().unwrap().to_owned();
    assert_eq!(hello["id"], id.as_str());
    assert_eq!(id.len(), 40);
    (ws, id)
}

/// The next JSON text frame (pings skipped), within 5 s.
pub(crate) async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

pub(crate) async fn subscribe(ws: &mut Ws, subs: Value) -> Value {
    ws.send(Message::Text(
        json!({"subscriptions": subs}).to_string().into(),
    ))
    .await
    .unwrap();
    next(ws).await
}

#[tokio::test]
async fn websocket_feed_delivers_committed_changes_in_order() {
    let t = TestApp::spawn().await;
    t.public_collection(
        "posts",
        json!([{"name": "title", "type": "text", "max": 5}]),
    )
    .await;
    let (mut ws, _) = connect(&t, None).await;
    let ack = subscribe(&mut ws, json!(["posts/*"])).await;
    assert_eq!(
        ack,
        json!({"event": "PB_SUBSCRIPTIONS", "data": {"subscriptions": ["posts/*"]}})
    );

    // A rejected write publishes nothing; the next good one arrives first.
    let (s, _) = t
        .post(
            "/api/collections/posts/records",
            json!({"title": "much too long"}),
        )
        .await;
    assert_eq!(s, 400);
    let (_, a) = t
        .post("/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let (_, _) = t
        .patch(
            &format!(
                "/api/collections/posts/records/{}",
                a["id"].as_str().unwrap()
            ),
            json!({"title": "b"}),
        )
        .await;
    t.delete(&format!(
        "/api/collections/posts/records/{}",
        a["id"].as_str().unwrap()
    ))
    .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ev = next(&mut ws).await;
        assert_eq!(ev["event"], "posts/*");
        assert!(
            ev["data"].get("seq").is_none(),
            "seq only for resumable subscriptions"
        );
        seen.push((
            ev["data"]["action"].clone(),
            ev["data"]["record"]["title"].clone(),
        ));
    }
    assert_eq!(
        seen,
        vec![
            (json!("create"), json!("a")),
            (json!("update"), json!("b")),
            (json!("delete"), json!("b")),
        ]
    );
}

#[tokio::test]
async fn websocket_resume_replays_missed_events_then_goes_live() {
    if crate::helpers::sqlite_only(crate::helpers::NUMERIC_SEQ) {
        return;
    }
    let t = TestApp::spawn().await;
    t.public_collection("posts", json!([{"name": "title", "type": "text"}]))
        .await;
    let (_, first) = t
        .post("/api/collections/posts/records", json!({"title": "one"}))
        .await;
    assert_eq!(first["title"], "one");
    let base = t.change_count();
    let mut titles = Vec::new();
    for i in 0..3 {
        let title = format!("missed-{i}");
        t.post("/api/collections/posts/records", json!({"title": title}))
            .await;
        titles.push(title);
    }
    // The seq of the first post's change: everything after it is missed.
    let since = base;
    let (mut ws, _) = connect(&t, None).await;
    let sub = format!(
        "posts/*?options={}",
        crate::helpers::enc(&json!({"query": {"resume": since}}).to_string())
    );
    let ack = subscribe(&mut ws, json!([sub])).await;
    assert_eq!(ack["event"], "PB_SUBSCRIPTIONS");
    let mut got = Vec::new();
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let ev = next(&mut ws).await;
        assert_eq!(ev["event"], sub.as_str());
        got.push(ev["data"]["record"]["title"].as_str().unwrap().to_owned());
        seqs.push(ev["data"]["seq"].as_i64().unwrap());
    }
    assert_eq!(got, titles);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs[0] > since);
    t.post("/api/collections/posts/records", json!({"title": "live"}))
        .await;
    let ev = next(&mut ws).await;
    assert_eq!(ev["data"]["record"]["title"], "live");
    assert_eq!(ev["data"]["seq"].as_i64().unwrap(), seqs[2] + 1);

    // A position the log cannot serve (from the future) gets a reset.
    let (mut ws2, _) = connect(&t, None).await;
    let future = format!(
        "posts/*?options={}",
        crate::helpers::enc(&json!({"query": {"resume": 1_000_000}}).to_string())
    );
    subscribe(&mut ws2, json!([future])).await;
    let ev = next(&mut ws2).await;
    assert_eq!(ev["data"]["action"], "reset");
    assert!(ev["data"]["seq"].as_i64().unwrap() > seqs[2]);
}

#[tokio::test]
async fn websocket_rules_and_auth() {
    let t = TestApp::spawn().await;
    let (_, body) = t
        .post(
            "/api/collections",
            json!({"name": "notes", "type": "base", "listRule": "owner = @request.auth.id",
                   "createRule": "", "fields": [{"name": "owner", "type": "text"}]}),
        )
        .await;
    assert!(body["id"].is_string(), "{body}");
    let (alice, alice_token) = t.user("alice@example.com").await;
    let (bob, _) = t.user("bob@example.com").await;
    let (mut ws, _) = connect(&t, Some(&alice_token)).await;
    subscribe(&mut ws, json!(["notes/*"])).await;
    t.post("/api/collections/notes/records", json!({"owner": bob}))
        .await;
    t.post("/api/collections/notes/records", json!({"owner": alice}))
        .await;
    let ev = next(&mut ws).await;
    assert_eq!(
        ev["data"]["record"]["owner"],
        alice.as_str(),
        "bob's note is not alice's to see"
    );
    // Changing the bound auth is refused, like POST /api/realtime.
    ws.send(Message::Text(
        json!({"subscriptions": ["notes/*"], "authorization": ""})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let err = next(&mut ws).await;
    assert_eq!(err["event"], "PB_ERROR");
    assert_eq!(err["data"]["status"], 403);
}

/// Opens the WebSocket with a token in the `Authorization` header.
async fn connect_with_header(t: &TestApp, token: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/api/realtime/ws", t.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", token.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(next(&mut ws).await["event"], "PB_CONNECT");
    ws
}

async fn send_frame(ws: &mut Ws, frame: Value) -> Value {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    next(ws).await
}

#[tokio::test]
async fn a_websocket_bound_at_connect_cannot_be_rebound() {
    let t = TestApp::spawn().await;
    let (s, body) = t
        .post(
            "/api/collections",
            json!({"name": "notes", "type": "base", "listRule": "owner = @request.auth.id",
                   "createRule": "", "fields": [{"name": "owner", "type": "text"}]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (alice, alice_token) = t.user("alice@example.com").await;
    let (bob, bob_token) = t.user("bob@example.com").await;
    let forbidden = json!({"event": "PB_ERROR", "data": {"status": 403,
        "message": "The current and the previous request authorization don't match.", "data": {}}});
    for how in ["header", "query"] {
        let mut ws = match how {
            "header" => connect_with_header(&t, &alice_token).await,
            _ => connect(&t, Some(&alice_token)).await.0,
        };
        // The very first frame, authorized as bob: refused, like SSE.
        let got = send_frame(
            &mut ws,
            json!({"subscriptions": ["notes/*"], "authorization": bob_token}),
        )
        .await;
        assert_eq!(got, forbidden, "{how}");
        // The connection stays alice's: her own token and no token work.
        let got = send_frame(
            &mut ws,
            json!({"subscriptions": ["notes/*"], "authorization": alice_token}),
        )
        .await;
        assert_eq!(got["event"], "PB_SUBSCRIPTIONS", "{how}: {got}");
        let got = send_frame(&mut ws, json!({"subscriptions": ["notes/*"]})).await;
        assert_eq!(got["event"], "PB_SUBSCRIPTIONS", "{how}: {got}");
        t.post("/api/collections/notes/records", json!({"owner": bob}))
            .await;
        t.post("/api/collections/notes/records", json!({"owner": alice}))
            .await;
        let ev = next(&mut ws).await;
        assert_eq!(ev["data"]["record"]["owner"], alice.as_str(), "{how}");
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), next(&mut ws));
        assert!(quiet.await.is_err(), "{how}: bob's note never arrives");
    }
    // A bad API key in a frame is refused like on every endpoint.
    let (mut ws, _) = connect(&t, None).await;
    let got = send_frame(
        &mut ws,
        json!({"subscriptions": ["notes/*"], "authorization": format!("cairn_{}", "z".repeat(40))}),
    )
    .await;
    assert_eq!(
        got,
        json!({"event": "PB_ERROR", "data": {"status": 401,
            "message": "The API key is invalid, revoked or expired.", "data": {}}})
    );
    // A guest connection may still bind a user with its first frame.
    let (mut ws, _) = connect(&t, None).await;
    let got = send_frame(
        &mut ws,
        json!({"subscriptions": ["notes/*"], "authorization": bob_token}),
    )
    .await;
    assert_eq!(got["event"], "PB_SUBSCRIPTIONS", "{got}");
    let got = send_frame(
        &mut ws,
        json!({"subscriptions": ["notes/*"], "authorization": alice_token}),
    )
    .await;
    assert_eq!(got, forbidden);
}

#[tokio::test]
async fn websocket_subscription_limits_are_those_of_sse() {
    let t = TestApp::spawn().await;
    let many: Vec<String> = (0..1001).map(|i| format!("c/{i}")).collect();
    let long = format!("c/{}", "x".repeat(2500));
    let sse = crate::sse::Sse::connect(&t).await;
    for subs in [json!(many), json!(["c/*", long]), json!([1, 2])] {
        let (status, body) = sse.subscribe(&t, None, subs.clone()).await;
        assert_eq!(status, 400, "{body}");
        let (mut ws, _) = connect(&t, None).await;
        let got = subscribe(&mut ws, subs).await;
        assert_eq!(got["event"], "PB_ERROR");
        assert_eq!(got["data"], body, "the WebSocket answers what SSE answers");
        // Nothing was subscribed.
        let ok = subscribe(&mut ws, json!(["c/*"])).await;
        assert_eq!(ok["data"]["subscriptions"], json!(["c/*"]));
    }
    // At the limits: accepted on both.
    let at: Vec<String> = (0..1000).map(|i| format!("c/{i}")).collect();
    assert_eq!(sse.subscribe(&t, None, json!(at)).await.0, 204);
    let (mut ws, _) = connect(&t, None).await;
    let got = subscribe(&mut ws, json!(at)).await;
    assert_eq!(got["event"], "PB_SUBSCRIPTIONS");
    assert_eq!(got["data"]["subscriptions"].as_array().unwrap().len(), 1000);
}
