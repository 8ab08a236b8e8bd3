//! A minimal SSE client for the realtime tests: `GET /api/realtime`, then
//! `event:`/`data:` messages parsed off the stream as they arrive.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::TestApp;

pub struct Sse {
    res: reqwest::Response,
    buf: String,
    pub id: String,
}

impl Sse {
    /// Connects and reads `PB_CONNECT`.
    pub async fn connect(t: &TestApp) -> Self {
        let res = t
            .client
            .get(format!("{}/api/realtime", t.url))
            .send()
            .await
            .expect("connect");
        assert_eq!(res.status(), 200);
        let mut sse = Sse {
            res,
            buf: String::new(),
            id: String::new(),
        };
        let (event, data) = sse.next().await.expect("PB_CONNECT");
        assert_eq!(event, "PB_CONNECT");
        sse.id = data["clientId"].as_str().expect("clientId").to_owned();
        sse
    }

    /// `POST /api/realtime` for this client as `token`: (status, body).
    pub async fn subscribe(&self, t: &TestApp, token: Option<&str>, subs: Value) -> (u16, Value) {
        t.call(
            reqwest::Method::POST,
            "/api/realtime",
            token,
            Some(json!({"clientId": self.id, "subscriptions": subs})),
        )
        .await
    }

    /// The next message (event name, JSON data) within 5 s, or `None` when
    /// the stream ends or nothing comes.
    pub async fn next(&mut self) -> Option<(String, Value)> {
        self.next_within(Duration::from_secs(5)).await
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v);
                    }
                }
                if event.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((event, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}
