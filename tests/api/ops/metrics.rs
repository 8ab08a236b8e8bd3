//! `metrics_token`: a configured bearer token reads /api/metrics; a wrong
//! one does not, and without configuration tokens are never accepted.

use std::sync::Arc;

use cairn::app::{self, App};
use cairn::config::Config;

async fn spawn(token: &str) -> (String, tempfile::TempDir, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().expect("dir");
    let config = Config {
        http: "127.0.0.1:0".into(),
        dir: dir.path().to_path_buf(),
        log: "warn".into(),
        metrics_token: token.into(),
        db: crate::helpers::fresh_db(),
        ..Config::default()
    };
    let app = App::open(config).expect("open");
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
    (url, dir, tx)
}

async fn status(url: &str, auth: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().get(format!("{url}/api/metrics"));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await.expect("send").status().as_u16()
}

#[tokio::test]
async fn bearer_token_reads_metrics() {
    let secret = "a-long-metrics-token-0123456789";
    let (url, _dir, _stop) = spawn(secret).await;
    assert_eq!(status(&url, Some(&format!("Bearer {secret}"))).await, 200);
    assert_eq!(status(&url, Some("Bearer wrong")).await, 401);
    assert_eq!(status(&url, None).await, 401);
    let (url, _dir2, _stop2) = spawn("").await;
    assert_eq!(
        status(&url, Some("Bearer ")).await,
        401,
        "no token configured: none accepted"
    );
}
