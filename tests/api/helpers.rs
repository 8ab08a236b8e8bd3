//! `TestApp::spawn()`: a real Cairn server on 127.0.0.1:0 with a superuser.

use std::sync::Arc;

use cairn::app::{self, App};
use cairn::config::Config;
use cairn::service::auth::{self, UpsertMode};
use serde_json::{Value, json};

pub const ADMIN: &str = "admin@example.com";
pub const PASSWORD: &str = "pass123456";

pub struct TestApp {
    pub url: String,
    pub app: Arc<App>,
    pub client: reqwest::Client,
    pub token: String,
    pub dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// `spawn`, with the configuration adjusted first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            http: "127.0.0.1:0".into(),
            dir: dir.path().to_path_buf(),
            log: "warn".into(),
            ..Config::default()
        };
        adjust(&mut config);
        let app = App::open(config).expect("open");
        auth::upsert_superuser(&app.store, ADMIN, PASSWORD, UpsertMode::Upsert)
            .await
            .expect("superuser");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&app);
        tokio::spawn(async move {
            let _ = app::serve_on(served, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        let client = reqwest::Client::new();
        let mut t = Self {
            url,
            app,
            client,
            token: String::new(),
            dir,
            _stop: tx,
        };
        let (status, body) = t
            .post(
                "/api/collections/_superusers/auth-with-password",
                json!({"identity": ADMIN, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        t.token = body["token"].as_str().expect("token").to_owned();
        t
    }

    async fn send(&self, req: reqwest::RequestBuilder, auth: bool) -> (u16, Value) {
        let req = if auth {
            req.header("Authorization", &self.token)
        } else {
            req
        };
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.url)), true)
            .await
    }

    pub async fn get_guest(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.url)), false)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(
            self.client.post(format!("{}{path}", self.url)).json(&body),
            !self.token.is_empty(),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.url))
                .header("content-type", "application/json")
                .body(body),
            true,
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(
            self.client.patch(format!("{}{path}", self.url)).json(&body),
            true,
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.url)), true)
            .await
    }

    /// Creates a public base collection with the given extra fields.
    pub async fn public_collection(&self, name: &str, fields: Value) -> Value {
        let (status, body) = self
            .post(
                "/api/collections",
                json!({
                    "name": name, "type": "base",
                    "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
                    "fields": fields,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Rows in the change log for a record.
    pub fn changes_for(&self, record_id: &str) -> Vec<String> {
        self.app
            .store
            .read(|conn| {
                let conn = conn.sqlite().expect("SQLite store");
                let mut st =
                    conn.prepare("SELECT action FROM _changes WHERE record_id = ?1 ORDER BY seq")?;
                let rows = st
                    .query_map([record_id], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .expect("read changes")
    }

    pub fn change_count(&self) -> i64 {
        self.app
            .store
            .read(|conn| {
                Ok(conn.sqlite().expect("SQLite store").query_row(
                    "SELECT COUNT(*) FROM _changes",
                    [],
                    |r| r.get(0),
                )?)
            })
            .expect("count")
    }
}

impl TestApp {
    /// Signs up a `users` record and returns (id, token).
    pub async fn user(&self, email: &str) -> (String, String) {
        let pw = "password123";
        let (s, rec) = self
            .post(
                "/api/collections/users/records",
                json!({"email": email, "password": pw, "passwordConfirm": pw}),
            )
            .await;
        assert_eq!(s, 200, "{rec}");
        let (s, body) = self
            .post(
                "/api/collections/users/auth-with-password",
                json!({"identity": email, "password": pw}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        (
            rec["id"].as_str().expect("id").to_owned(),
            body["token"].as_str().expect("token").to_owned(),
        )
    }

    /// A request as a given token (`None` = guest).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req, false).await
    }
}

/// Percent-encodes a query parameter value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
