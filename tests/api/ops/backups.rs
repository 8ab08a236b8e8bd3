//! A backup taken while writes go on is a consistent snapshot that holds
//! every write acknowledged before it started; restoring it swaps the data
//! of the running server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestApp, on_postgres, sqlite_only};

/// Why the backup tests do not run on PostgreSQL (docs/scaling.md).
const SQLITE_FILES: &str = "backups are SQLite files; PostgreSQL answers 400 (use pg_dump)";

/// Writers, and the most records each writes (bounded load).
const WRITERS: usize = 4;
const MAX_PER_WRITER: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_write_load_is_consistent_and_restores() {
    if sqlite_only(SQLITE_FILES) {
        return;
    }
    let t = TestApp::spawn().await;
    t.public_collection("items", json!([{"name": "title", "type": "text"}]))
        .await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (client, url) = (t.client.clone(), t.url.clone());
        let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            for i in 0..MAX_PER_WRITER {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                let res = client
                    .post(format!("{url}/api/collections/items/records"))
                    .json(&json!({"title": format!("w{w}-{i}")}))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(res.status(), 200);
                let body: serde_json::Value = res.json().await.expect("json");
                let id = body["id"].as_str().expect("id").to_owned();
                acked.lock().expect("lock").push(id);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Everything acknowledged before the backup starts must be in it.
    let before: Vec<String> = acked.lock().expect("lock").clone();
    assert!(!before.is_empty(), "writes are running");
    let (status, body) = t.post("/api/backups", json!({"name": "load.zip"})).await;
    assert_eq!(status, 204, "{body}");
    let during = acked.lock().expect("lock").len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.expect("writer");
    }
    let all: Vec<String> = acked.lock().expect("lock").clone();
    assert!(all.len() > during, "writes went on after the backup");

    let zip = t.dir.path().join("backups/load.zip");
    let out = tempfile::tempdir().expect("dir");
    cairn::service::backups::archive::extract(&zip, out.path()).expect("extract");
    let db = rusqlite::Connection::open(out.path().join("data.db")).expect("open");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    let in_backup: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .expect("count");
    let mut stmt = db
        .prepare("SELECT 1 FROM items WHERE id = ?1")
        .expect("stmt");
    for id in &before {
        assert!(
            stmt.exists([id]).expect("query"),
            "{id} acknowledged before the backup is missing"
        );
    }
    assert!(out.path().join("auxiliary.db").is_file());

    // Restore: the running server serves the backup's data, no restart.
    let last = all.last().expect("some").clone();
    let (status, body) = t.post("/api/backups/load.zip/restore", json!({})).await;
    assert_eq!(status, 204, "{body}");
    let (status, list) = t.get("/api/collections/items/records?perPage=1").await;
    assert_eq!(status, 200);
    assert_eq!(list["totalItems"], in_backup);
    let (status, _) = t
        .get(&format!("/api/collections/items/records/{last}"))
        .await;
    assert_eq!(status, 404, "a record written after the backup is gone");
    let (status, _) = t
        .get(&format!("/api/collections/items/records/{}", before[0]))
        .await;
    assert_eq!(status, 200);
    let (status, _) = t
        .post(
            "/api/collections/items/records",
            json!({"title": "after restore"}),
        )
        .await;
    assert_eq!(status, 200, "writes work after the restore");
    let live: String = t
        .app
        .store
        .read(|c| {
            Ok(c.sqlite()
                .expect("SQLite store")
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
        })
        .expect("check");
    assert_eq!(live, "ok");
    assert!(
        !t.dir.path().join(".pre_restore").exists(),
        "the old data is dropped once the restore is in"
    );
}

#[tokio::test]
async fn concurrent_backups_never_overlap_and_a_bad_archive_keeps_data() {
    if sqlite_only(SQLITE_FILES) {
        return;
    }
    let t = TestApp::spawn().await;
    t.public_collection("things", json!([{"name": "title", "type": "text"}]))
        .await;
    // A corrupt archive: restore fails and the data stays.
    std::fs::create_dir_all(t.dir.path().join("backups")).expect("mkdir");
    std::fs::write(t.dir.path().join("backups/bad.zip"), b"PK\x03\x04garbage").expect("write");
    let (status, body) = t.post("/api/backups/bad.zip/restore", json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "Missing or invalid backup file.");
    let (status, _) = t.get("/api/collections/things/records").await;
    assert_eq!(status, 200, "the data is untouched");
    let runs: Vec<_> = (0..3)
        .map(|i| t.post("/api/backups", json!({"name": format!("p{i}.zip")})))
        .collect();
    let statuses: Vec<u16> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(statuses.contains(&204), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 400),
        "{statuses:?}"
    );
}

/// On PostgreSQL a backup cannot be taken or restored (the data is not a
/// file of the node's): PocketBase-shaped 400s that name pg_dump, and the
/// data stays as it was.
#[tokio::test]
async fn on_postgres_backups_answer_400_and_name_pg_dump() {
    if !on_postgres() {
        return;
    }
    let t = TestApp::spawn().await;
    t.public_collection("kept", json!([{"name": "title", "type": "text"}]))
        .await;
    let (s, rec) = t
        .post("/api/collections/kept/records", json!({"title": "a"}))
        .await;
    assert_eq!(s, 200, "{rec}");
    let refused = json!({
        "status": 400,
        "message": "Not supported: backups on PostgreSQL (use pg_dump).",
        "data": {},
    });
    let (s, body) = t.post("/api/backups", json!({"name": "pg.zip"})).await;
    assert_eq!((s, &body), (400, &refused));
    let (s, list) = t.get("/api/backups").await;
    assert_eq!((s, list), (200, json!([])), "no archive was left behind");
    // An archive put in place (as an upload would) is refused too.
    let scratch = tempfile::tempdir().expect("dir");
    let data = scratch.path().join("data.db");
    std::fs::write(&data, b"not PostgreSQL").expect("write");
    let backups = t.dir.path().join("backups");
    std::fs::create_dir_all(&backups).expect("mkdir");
    cairn::service::backups::archive::write(&backups.join("old.zip"), &[("data.db", data)], None)
        .expect("zip");
    let (s, body) = t.post("/api/backups/old.zip/restore", json!({})).await;
    assert_eq!((s, &body), (400, &refused));
    let (s, list) = t.get("/api/collections/kept/records").await;
    assert_eq!((s, &list["totalItems"]), (200, &json!(1)), "{list}");
}
