//! `TestApp::spawn()`: a real Cairn server on 127.0.0.1:0 with a superuser.
//!
//! `CAIRN_TEST_STORE=postgres` runs every server on a fresh PostgreSQL
//! database of its own on the server `CAIRN_TEST_PG_URL` names (as the SDK
//! suite's `SDK_STORE=postgres` does; `scripts/test` starts one). Tests of
//! what is SQLite-only by design skip there with [`sqlite_only`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cairn::app::{self, App};
use cairn::config::{Config, DbConfig};
use cairn::service::auth::{self, UpsertMode};
use cairn::store::Store;
use cairn::store::sql::{Db, Val};
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
        config.db = fresh_db();
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
            .read(|db| {
                db.rows(
                    "SELECT action FROM _changes WHERE record_id = ?1 ORDER BY seq",
                    &[Val::Text(record_id)],
                    |r| r.text(0),
                )
            })
            .expect("read changes")
    }

    pub fn change_count(&self) -> i64 {
        self.app
            .store
            .read(|db| db.row("SELECT COUNT(*) FROM _changes", &[], |r| r.int(0)))
            .expect("count")
            .unwrap_or(0)
    }
}

impl Drop for TestApp {
    /// On PostgreSQL: stops the writer and drops the test's database, which
    /// ends every session the app still holds (the app itself may outlive
    /// the test; a hundred of them would exhaust the server's connections).
    fn drop(&mut self) {
        let Some(url) = self.app.config.db.postgres_url() else {
            return;
        };
        self.app.store.shutdown();
        let (base, _) = url.split_once('?').unwrap_or((url, ""));
        let Some((_, name)) = base.rsplit_once('/') else {
            return;
        };
        if !name.starts_with("cairn_api_") {
            return;
        }
        let admin = std::env::var("CAIRN_TEST_PG_URL").ok();
        if let Some(conn) = admin.and_then(|u| cairn::store::pg::PgConn::connect(&u).ok()) {
            let _ = conn.batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs on PostgreSQL (`CAIRN_TEST_STORE=postgres`)?
pub fn on_postgres() -> bool {
    std::env::var("CAIRN_TEST_STORE").as_deref() == Ok("postgres")
}

/// How long a realtime stream must stay silent to count as drained.
/// Longer on PostgreSQL: there events wait for the transaction horizon,
/// which is the whole server's, so the transactions of the tests running
/// beside this one on other databases hold it too (docs/scaling.md).
pub fn quiet(ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(if on_postgres() { ms * 5 } else { ms })
}

/// Why tests that do arithmetic on resume tokens skip on PostgreSQL.
pub const NUMERIC_SEQ: &str = "resume tokens are numbers on SQLite, opaque strings on PostgreSQL \
     (docs/scaling.md); resume there: realtime_resume.test.mjs, store::pg::tests::feed";

/// For a test of what is SQLite-only by design: on PostgreSQL it prints
/// why it does not run there and returns true (the test returns at once).
pub fn sqlite_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    on_postgres()
}

/// Where a new server's data goes: a new, empty PostgreSQL database on
/// PostgreSQL, else SQLite in the data directory.
pub fn fresh_db() -> DbConfig {
    DbConfig {
        url: fresh_pg_database().unwrap_or_default(),
    }
}

/// Another `Store` on `dir` and `db`, as a second process would open it.
pub fn open_store(dir: &std::path::Path, db: &DbConfig) -> Store {
    match db.postgres_url() {
        Some(url) => Store::open_postgres(url, dir),
        None => Store::open(dir),
    }
    .expect("open a store")
}

/// On PostgreSQL, the URL of a new, empty database; else `None`.
fn fresh_pg_database() -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let url = std::env::var("CAIRN_TEST_PG_URL")
        .expect("CAIRN_TEST_STORE=postgres needs CAIRN_TEST_PG_URL (scripts/pg-test-server)");
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "cairn_api_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let admin = cairn::store::pg::PgConn::connect(&url).expect("connect to CAIRN_TEST_PG_URL");
    // CREATE DATABASE refuses to run inside a transaction: a statement of its own.
    admin
        .batch(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        ))
        .expect("create a test database");
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(b, q)| (b, q));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    Some(if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    })
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
