//! The request log's database as docs/operations.md describes it: a new
//! `auxiliary.db` has 64 KiB pages, the requests a server answers land
//! in it, and its WAL is cut back to nothing once the server is quiet.

use std::time::{Duration, Instant};

use crate::helpers::TestApp;

#[tokio::test]
async fn a_new_servers_request_log_has_large_pages() {
    let app = TestApp::spawn().await;
    let (status, _) = app.get("/api/health").await;
    assert_eq!(status, 200);
    // Rows are written within about a second (docs/operations.md).
    let deadline = Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let (status, page) = app
            .get("/api/logs?filter=data.url%3D'%2Fapi%2Fhealth'")
            .await;
        assert_eq!(status, 200, "{page}");
        let n = page["totalItems"].as_i64().unwrap_or(0);
        if n > 0 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(logged > 0, "the health request was logged");
    let conn = rusqlite::Connection::open_with_flags(
        app.dir.path().join("auxiliary.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 65_536);
    drop(conn);
    // Quiet for two seconds (no request since the last poll), the WAL the
    // rows went through is folded back and truncated.
    let wal = app.dir.path().join("auxiliary.db-wal");
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(15);
    while size() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        size(),
        0,
        "auxiliary.db-wal is truncated when the server is quiet"
    );
}
