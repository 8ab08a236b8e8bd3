//! Resumed subscriptions replay exactly what live delivery would have
//! delivered to them (issue 11): only their topic's collection on `COLL/*`,
//! only their record on `COLL/ID`, never other collections' records or
//! auth records, over SSE and over the WebSocket.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{NUMERIC_SEQ, TestApp, enc, quiet, sqlite_only};
use crate::realtime as ws;
use crate::sse::Sse;

/// The world of the gap: public `a` and `b`, a user `alice`, and writes to
/// other collections and to other records of the same collection made
/// after `t0`. Returns (t0, alice's token, a1's id, expected per topic).
/// `t0` is a resume token: a number on SQLite, an opaque string on
/// PostgreSQL (docs/scaling.md).
struct Gap {
    t0: Value,
    alice: String,
    a1: String,
}

async fn gap(t: &TestApp) -> Gap {
    for name in ["a", "b"] {
        t.public_collection(name, json!([{"name": "n", "type": "number"}]))
            .await;
    }
    let (_, seq) = t.get_guest("/api/realtime/seq").await;
    let t0 = seq["seq"].clone();
    assert!(!t0.is_null(), "{seq}");
    let create = |c: &'static str, n: i64| async move {
        let (s, r) = t
            .post(&format!("/api/collections/{c}/records"), json!({"n": n}))
            .await;
        assert_eq!(s, 200, "{r}");
        r["id"].as_str().expect("id").to_owned()
    };
    let a1 = create("a", 1).await;
    create("b", 99).await;
    let a2 = create("a", 2).await;
    // An auth record (alice may see her own) and updates of both records.
    let (_, alice) = t.user("alice@example.com").await;
    for (id, n) in [(&a1, 3), (&a2, 4)] {
        let (s, r) = t
            .patch(&format!("/api/collections/a/records/{id}"), json!({"n": n}))
            .await;
        assert_eq!(s, 200, "{r}");
    }
    create("b", 98).await;
    Gap { t0, alice, a1 }
}

fn topics(g: &Gap, resume: &Value) -> (String, String) {
    let opts = enc(&json!({"query": {"resume": resume}}).to_string());
    (
        format!("a/*?options={opts}"),
        format!("a/{}?options={opts}", g.a1),
    )
}

/// Groups events by name: `n` of each record, in order.
fn by_topic(events: &[(String, Value)]) -> BTreeMap<String, Vec<(String, i64)>> {
    let mut out: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (name, data) in events {
        assert_eq!(data["record"]["collectionName"], "a", "{name}: {data}");
        out.entry(name.clone()).or_default().push((
            data["action"].as_str().unwrap_or_default().to_owned(),
            data["record"]["n"].as_i64().unwrap_or(-1),
        ));
    }
    out
}

fn expected(all: &str, one: &str) -> BTreeMap<String, Vec<(String, i64)>> {
    let e = |a: &str, n| (a.to_owned(), n);
    BTreeMap::from([
        (
            all.to_owned(),
            vec![
                e("create", 1),
                e("create", 2),
                e("update", 3),
                e("update", 4),
            ],
        ),
        (one.to_owned(), vec![e("create", 1), e("update", 3)]),
    ])
}

#[tokio::test]
async fn sse_resume_replays_only_the_topic() {
    let t = TestApp::spawn().await;
    let g = gap(&t).await;
    for (resume, who) in [(g.t0.clone(), "t0"), (json!(0), "0")] {
        let (all, one) = topics(&g, &resume);
        let mut sse = Sse::connect(&t).await;
        let (s, body) = sse.subscribe(&t, Some(&g.alice), json!([all, one])).await;
        assert_eq!(s, 204, "{body}");
        let mut got = Vec::new();
        while let Some(ev) = sse.next_within(quiet(700)).await {
            got.push(ev);
        }
        assert_eq!(by_topic(&got), expected(&all, &one), "resume {who}");
    }
}

#[tokio::test]
async fn websocket_resume_replays_only_the_topic() {
    let t = TestApp::spawn().await;
    let g = gap(&t).await;
    for (resume, who) in [(g.t0.clone(), "t0"), (json!(0), "0")] {
        let (all, one) = topics(&g, &resume);
        let (mut sock, _) = ws::connect(&t, Some(&g.alice)).await;
        let ack = ws::subscribe(&mut sock, json!([all, one])).await;
        assert_eq!(ack["event"], "PB_SUBSCRIPTIONS", "{ack}");
        let mut got = Vec::new();
        while let Ok(ev) = tokio::time::timeout(quiet(700), ws::next(&mut sock)).await {
            got.push((
                ev["event"].as_str().unwrap_or_default().to_owned(),
                ev["data"].clone(),
            ));
        }
        assert_eq!(by_topic(&got), expected(&all, &one), "resume {who}");
    }
}

#[tokio::test]
async fn resumed_and_live_events_are_the_same_set() {
    // A subscriber that was live through the gap and one that resumes
    // after it see the same events for the same topics.
    let t = TestApp::spawn().await;
    for name in ["a", "b"] {
        t.public_collection(name, json!([{"name": "n", "type": "number"}]))
            .await;
    }
    let (_, seq) = t.get_guest("/api/realtime/seq").await;
    let t0 = seq["seq"].clone();
    assert!(!t0.is_null(), "{seq}");
    let opts = enc(&json!({"query": {"resume": t0}}).to_string());
    let topic = format!("a/*?options={opts}");
    let mut live = Sse::connect(&t).await;
    assert_eq!(live.subscribe(&t, None, json!([topic])).await.0, 204);
    for (c, n) in [("a", 1), ("b", 2), ("a", 3)] {
        t.post(&format!("/api/collections/{c}/records"), json!({"n": n}))
            .await;
    }
    let mut seen_live = Vec::new();
    while let Some(ev) = live.next_within(quiet(500)).await {
        seen_live.push(ev);
    }
    let mut later = Sse::connect(&t).await;
    assert_eq!(later.subscribe(&t, None, json!([topic])).await.0, 204);
    let mut replayed = Vec::new();
    while let Some(ev) = later.next_within(quiet(500)).await {
        replayed.push(ev);
    }
    assert_eq!(seen_live.len(), 2, "{seen_live:?}");
    if crate::helpers::on_postgres() {
        // A PostgreSQL token names the span it came in, which differs
        // between two streams (opaque, docs/scaling.md): compare the rest.
        for (_, data) in seen_live.iter_mut().chain(replayed.iter_mut()) {
            data.as_object_mut().expect("event").remove("seq");
        }
    }
    assert_eq!(replayed, seen_live);
}

#[tokio::test]
async fn a_trimmed_log_answers_reset_and_keeps_what_it_retains() {
    if sqlite_only(NUMERIC_SEQ) {
        return;
    }
    let t = TestApp::spawn().await;
    t.public_collection("a", json!([{"name": "n", "type": "number"}]))
        .await;
    let (_, seq) = t.get_guest("/api/realtime/seq").await;
    let t0 = seq["seq"].as_i64().expect("seq");
    // A live subscriber, so the test knows when the fan-out has passed the
    // ten changes: a reset names the fan-out's position, which lags the
    // commits on a busy machine.
    let mut live = Sse::connect(&t).await;
    assert_eq!(live.subscribe(&t, None, json!(["a/*"])).await.0, 204);
    for n in 1..=10 {
        t.post("/api/collections/a/records", json!({"n": n})).await;
    }
    for _ in 1..=10 {
        live.next().await.expect("live event");
    }
    // What the minute-ly trim does with `changes_retention_rows = 4`.
    let far_past = "2000-01-01 00:00:00.000Z".to_owned();
    t.app
        .store
        .write(move |ctx| cairn::store::changes::trim(ctx.conn, &far_past, 4))
        .await
        .expect("trim");
    let now = t0 + 10;
    let resume = |from: i64| {
        format!(
            "a/*?options={}",
            enc(&json!({"query": {"resume": from}}).to_string())
        )
    };
    // Older than the log reaches: one reset event naming the current end.
    let mut sse = Sse::connect(&t).await;
    assert_eq!(sse.subscribe(&t, None, json!([resume(t0)])).await.0, 204);
    let (_, data) = sse.next().await.expect("reset");
    assert_eq!(data, json!({"action": "reset", "seq": now}));
    assert!(sse.next_within(Duration::from_millis(300)).await.is_none());
    // Within what is retained: exactly the missed events.
    let mut sse = Sse::connect(&t).await;
    assert_eq!(
        sse.subscribe(&t, None, json!([resume(now - 3)])).await.0,
        204
    );
    let mut got = Vec::new();
    while let Some((_, data)) = sse.next_within(Duration::from_millis(500)).await {
        got.push(data["record"]["n"].as_i64().unwrap_or_default());
    }
    assert_eq!(got, [8, 9, 10]);
}
