//! The asynchronous host operations of a plugin: `fetch`, timers and the
//! `db` API. Each runs as a tokio task on the plugin's thread and settles
//! one JavaScript promise.
//!
//! `db.query` / `db.exec` outside a transaction are one read (on a reader
//! connection, for `SELECT`) or one write job. `db.tx` is one write job
//! that stays open while the plugin's callback runs: the job serves the
//! callback's statements from a channel until the callback's promise
//! settles (commit) or rejects (rollback), or the plugin's call timeout
//! passes (rollback). All SQL goes through `store::hooks_db`, the entry
//! point scripts' own SQL already uses (`{:name}` placeholders, rows as
//! JSON objects).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::Env;
use super::metrics::Metrics;
use crate::app::App;
use crate::store::{Conn, StoreError, hooks_db};

/// What a plugin's operations need.
pub struct OpsCtx {
    pub env: Arc<Env>,
    /// The plugin's name (its file stem).
    pub plugin: String,
    pub metrics: Metrics,
    /// The hosts `fetch` may reach (`None`: any public host).
    allow: RwLock<Option<Vec<String>>>,
    txs: Mutex<HashMap<u64, Tx>>,
    next_tx: AtomicU64,
}

struct Tx {
    cmds: std::sync::mpsc::Sender<TxCmd>,
    done: oneshot::Receiver<Result<(), String>>,
}

enum TxCmd {
    Run {
        sql: String,
        params: Value,
        exec: bool,
        reply: oneshot::Sender<Result<Value, String>>,
    },
    End(bool),
}

impl OpsCtx {
    pub fn new(env: &Arc<Env>, plugin: &str) -> Self {
        Self {
            env: Arc::clone(env),
            plugin: plugin.to_owned(),
            metrics: env.metrics.clone(),
            allow: RwLock::new(None),
            txs: Mutex::new(HashMap::new()),
            next_tx: AtomicU64::new(1),
        }
    }

    pub fn set_allow(&self, hosts: Option<Vec<String>>) {
        if let Ok(mut g) = self.allow.write() {
            *g = hosts;
        }
    }

    fn app(&self) -> Result<Arc<App>, String> {
        self.env
            .app
            .upgrade()
            .ok_or_else(|| "the server is shutting down".to_owned())
    }

    fn timeout(&self) -> Duration {
        self.env.defaults.timeout
    }
}

/// Runs host operation `op`.
pub async fn run(cx: &Arc<OpsCtx>, op: &str, args: Value) -> Result<Value, String> {
    match op {
        "sleep" => {
            let ms = args["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms).min(cx.timeout())).await;
            Ok(Value::Null)
        }
        "fetch" => fetch(cx, args).await,
        "db.query" | "db.exec" => {
            let exec = op == "db.exec";
            let sql = args["sql"].as_str().unwrap_or_default().to_owned();
            let params = args["params"].clone();
            match args["tx"].as_u64() {
                Some(id) => in_tx(cx, id, sql, params, exec).await,
                None => statement(cx, sql, params, exec).await,
            }
        }
        "db.begin" => begin(cx).await,
        "db.end" => end(cx, args["tx"].as_u64().unwrap_or(0), args["commit"] == true).await,
        _ => Err(format!("{op} is not supported by Cairn")),
    }
}

/// Whether `host` (with `port`) is listed: `name`, `name:port` or
/// `*.domain` (any subdomain).
pub fn host_listed(list: &[String], host: &str, port: u16) -> bool {
    list.iter().any(|h| {
        let h = h.trim().to_ascii_lowercase();
        h == host
            || h == format!("{host}:{port}")
            || h.strip_prefix("*.")
                .is_some_and(|d| host.ends_with(&format!(".{d}")))
    })
}

async fn fetch(cx: &Arc<OpsCtx>, mut args: Value) -> Result<Value, String> {
    let url = reqwest::Url::parse(args["url"].as_str().unwrap_or_default())
        .map_err(|e| format!("fetch: invalid url: {e}"))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let allow = cx.allow.read().map(|g| g.clone()).unwrap_or_default();
    let trusted = match &allow {
        Some(list) if host_listed(list, &host, port) => true,
        Some(_) => {
            return Err(format!(
                "fetch: {host} is not in the allowHosts of plugin {}",
                cx.plugin
            ));
        }
        None => false,
    };
    args["timeout"] = json!(cx.timeout().as_secs().max(1));
    let app = cx.app()?;
    crate::plugins::hooks::http::send_async(&app, &args, trusted)
        .await
        .map_err(|e| {
            e.message
                .replace("$http.send", "fetch")
                .replace("js_allowed_hosts", "the plugin's allowHosts")
        })
}

/// One statement outside a transaction.
async fn statement(cx: &OpsCtx, sql: String, params: Value, exec: bool) -> Result<Value, String> {
    let app = cx.app()?;
    let read = !exec && sql.trim_start().to_ascii_lowercase().starts_with("select");
    if read {
        return app
            .store
            .read(|conn| run_sql(conn, &sql, &params, false))
            .map_err(|e| hooks_db::message(&e));
    }
    app.store
        .write(move |w| run_sql(w.conn, &sql, &params, exec))
        .await
        .map_err(|e| hooks_db::message(&e))
}

fn run_sql(conn: &Conn, sql: &str, params: &Value, exec: bool) -> Result<Value, StoreError> {
    if exec {
        Ok(json!({"changes": hooks_db::execute(conn, sql, params)?}))
    } else {
        Ok(Value::Array(hooks_db::query(conn, sql, params)?))
    }
}

/// A transaction job's failure (its savepoint is rolled back).
struct TxError(String);

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self(hooks_db::message(&e))
    }
}

async fn begin(cx: &Arc<OpsCtx>) -> Result<Value, String> {
    let app = cx.app()?;
    let (cmds, rx) = std::sync::mpsc::channel();
    let (started_tx, started) = oneshot::channel();
    let (done_tx, done) = oneshot::channel();
    let budget = cx.timeout();
    tokio::spawn(async move {
        let res = app
            .store
            .write(move |w| {
                let _ = started_tx.send(());
                serve_tx(w.conn, &rx, budget)
            })
            .await;
        let _ = done_tx.send(res.map_err(|e: TxError| e.0));
    });
    started
        .await
        .map_err(|_| "db.tx: the transaction could not start".to_owned())?;
    let id = cx.next_tx.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut g) = cx.txs.lock() {
        g.insert(id, Tx { cmds, done });
    }
    Ok(json!(id))
}

/// Inside the write job: serves the callback's statements until it ends.
fn serve_tx(
    conn: &Conn,
    rx: &std::sync::mpsc::Receiver<TxCmd>,
    budget: Duration,
) -> Result<(), TxError> {
    let end = Instant::now() + budget;
    loop {
        match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(TxCmd::Run {
                sql,
                params,
                exec,
                reply,
            }) => {
                let res = run_sql(conn, &sql, &params, exec).map_err(|e| hooks_db::message(&e));
                let _ = reply.send(res);
            }
            Ok(TxCmd::End(true)) => return Ok(()),
            Ok(TxCmd::End(false)) => return Err(TxError("rolled back".into())),
            Err(RecvTimeoutError::Timeout) => {
                return Err(TxError(format!(
                    "db.tx: the transaction was still open after {} ms and was rolled back",
                    budget.as_millis()
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(TxError("db.tx: abandoned, rolled back".into()));
            }
        }
    }
}

fn sender(cx: &OpsCtx, id: u64) -> Result<std::sync::mpsc::Sender<TxCmd>, String> {
    cx.txs
        .lock()
        .ok()
        .and_then(|g| g.get(&id).map(|t| t.cmds.clone()))
        .ok_or_else(|| "db.tx: the transaction has already ended".to_owned())
}

async fn in_tx(
    cx: &OpsCtx,
    id: u64,
    sql: String,
    params: Value,
    exec: bool,
) -> Result<Value, String> {
    let (reply, rx) = oneshot::channel();
    sender(cx, id)?
        .send(TxCmd::Run {
            sql,
            params,
            exec,
            reply,
        })
        .map_err(|_| "db.tx: the transaction has already ended".to_owned())?;
    rx.await
        .map_err(|_| "db.tx: the transaction has already ended".to_owned())?
}

async fn end(cx: &OpsCtx, id: u64, commit: bool) -> Result<Value, String> {
    let tx = cx
        .txs
        .lock()
        .ok()
        .and_then(|mut g| g.remove(&id))
        .ok_or_else(|| "db.tx: the transaction has already ended".to_owned())?;
    let _ = tx.cmds.send(TxCmd::End(commit));
    let res = tx
        .done
        .await
        .map_err(|_| "db.tx: the transaction job was lost".to_owned())?;
    match (commit, res) {
        (true, Err(e)) => Err(e),
        _ => Ok(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::host_listed;

    #[test]
    fn allow_lists_match_names_ports_and_subdomains() {
        let list = vec![
            "api.example.com".to_owned(),
            "127.0.0.1:8080".to_owned(),
            "*.trusted.org".to_owned(),
        ];
        assert!(host_listed(&list, "api.example.com", 443));
        assert!(host_listed(&list, "127.0.0.1", 8080));
        assert!(!host_listed(&list, "127.0.0.1", 8081));
        assert!(host_listed(&list, "a.trusted.org", 443));
        assert!(!host_listed(&list, "trusted.org.evil.com", 443));
        assert!(!host_listed(&list, "example.com", 443));
    }
}
