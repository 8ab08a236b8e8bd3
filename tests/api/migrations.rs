//! Automigrate: collection changes made through the API become migration
//! files (one per change, even within one second), marked applied; replaying
//! them on an empty data directory rebuilds the same schema.

use serde_json::{Value, json};

use crate::helpers::{TestApp, fresh_db, open_store};
use cairn::plugins::migrations::Migrations;

fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("created");
        m.remove("updated");
    }
    v
}

#[tokio::test]
async fn automigrate_files_replay_to_the_same_schema() {
    let mig = tempfile::tempdir().expect("tempdir");
    let dir = mig.path().to_path_buf();
    let t = TestApp::spawn_with(|c| c.migrations_dir = Some(dir.clone())).await;

    let (s, authors) = t
        .post(
            "/api/collections",
            json!({"name": "authors", "type": "base", "listRule": "",
                   "fields": [{"name": "name", "type": "text", "required": true}]}),
        )
        .await;
    assert_eq!(s, 200, "{authors}");
    let (s, books) = t
        .post(
            "/api/collections",
            json!({"name": "books", "type": "base",
                   "fields": [
                       {"name": "title", "type": "text", "max": 100},
                       {"name": "author", "type": "relation", "collectionId": authors["id"], "maxSelect": 1},
                       {"name": "pages", "type": "number"}
                   ],
                   "indexes": ["CREATE INDEX `idx_books_title` ON `books` (`title`)"]}),
        )
        .await;
    assert_eq!(s, 200, "{books}");
    // Two changes within the same second: PocketBase loses the second.
    let (s, _) = t
        .patch("/api/collections/books", json!({"listRule": ""}))
        .await;
    assert_eq!(s, 200);
    let (s, _) = t
        .patch(
            "/api/collections/books",
            json!({"viewRule": "author != ''"}),
        )
        .await;
    assert_eq!(s, 200);
    // Fields: rename, remove, add, modify.
    let mut fields = books["fields"].as_array().expect("fields").clone();
    fields.retain(|f| f["name"] != "pages");
    for f in &mut fields {
        if f["name"] == "title" {
            f["name"] = json!("heading");
            f["max"] = json!(300);
        }
    }
    fields.push(json!({"name": "isbn", "type": "text", "pattern": "^[0-9-]+$"}));
    let (s, body) = t
        .patch(
            "/api/collections/books",
            json!({"fields": fields,
            "indexes": ["CREATE INDEX `idx_books_title` ON `books` (`heading`)"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = t
        .post(
            "/api/collections",
            json!({"name": "scratch", "type": "base"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = t.delete("/api/collections/scratch").await;
    assert_eq!(s, 204);

    let m = Migrations {
        db: t.app.config.db.clone(),
        data_dir: t.dir.path().to_path_buf(),
        dir: mig.path().to_path_buf(),
        hooks_dir: mig.path().to_path_buf(),
    };
    let files = m.files();
    assert_eq!(files.len(), 7, "{files:?}");
    assert!(files[0].ends_with("_created_authors.js"), "{files:?}");
    assert!(files[6].ends_with("_deleted_scratch.js"), "{files:?}");
    // Every file was marked applied: nothing is pending for this database.
    assert_eq!(m.up().expect("up"), Vec::<String>::new());

    // Replay on an empty data directory.
    let fresh = tempfile::tempdir().expect("tempdir");
    let replay = Migrations {
        db: fresh_db(),
        data_dir: fresh.path().to_path_buf(),
        ..m.clone()
    };
    assert_eq!(replay.up().expect("replay").len(), 7);
    let store = open_store(fresh.path(), &replay.db);
    let want = t.app.store.schema();
    let got = store.schema();
    for name in ["authors", "books"] {
        let a = comparable(&want.get(name).expect("original").to_json());
        let b = comparable(&got.get(name).expect("replayed").to_json());
        assert_eq!(a, b, "{name}");
    }
    assert!(got.get("scratch").is_none());
    store.shutdown();

    // Reverting the last two files restores the deleted collection, then
    // removes it again.
    let back = replay.down(1).expect("down");
    assert!(back[0].ends_with("_deleted_scratch.js"), "{back:?}");
    let store = open_store(fresh.path(), &replay.db);
    assert!(store.schema().get("scratch").is_some());
    store.shutdown();
}

/// Hooks in a Rust test: a `cronAdd` job run through `run_cron` writes with
/// `$app.save`; `onRecordCreate` sets a field on API creates and on saves
/// made by scripts.
#[tokio::test]
async fn cron_jobs_and_record_hooks_run() {
    let hooks = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        hooks.path().join("jobs.pb.js"),
        r#"
cronAdd("tally", "*/5 * * * *", () => {
  const c = $app.findCollectionByNameOrId("notes")
  const r = new Record(c)
  r.set("text", "from cron")
  $app.save(r)
})
onRecordCreate((e) => {
  e.record.set("text", e.record.getString("text") + " (hooked)")
  e.next()
}, "notes")
onRecordCreateRequest((e) => {
  // no e.next(): the request stops and nothing is written
}, "closed")
routerUse((e) => {
  e.response.header().set("X-Middleware", "yes")
  return e.next()
})
routerAdd("GET", "/api/boot", (e) => {
  // $app.save fires the record hooks, as in PocketBase: onRecordCreate ran.
  return e.json(200, { count: $app.findRecordsByFilter("notes", "text = 'booted (hooked)'").length })
})
onBootstrap((e) => {
  const c = $app.findCollectionByNameOrId("notes")
  const r = new Record(c)
  r.set("text", "booted")
  $app.save(r)
  e.next()
})
"#,
    )
    .expect("write");
    // The collections exist before the server (and onBootstrap) starts.
    let data = tempfile::tempdir().expect("tempdir");
    let mig = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        mig.path().join("1_notes.js"),
        r#"migrate((app) => {
  for (const name of ["notes", "closed"]) {
    app.save(new Collection({ name: name, listRule: "", createRule: "",
      fields: [{ name: "text", type: "text" }] }))
  }
})"#,
    )
    .expect("write");
    let db = fresh_db();
    Migrations {
        db: db.clone(),
        data_dir: data.path().to_path_buf(),
        dir: mig.path().to_path_buf(),
        hooks_dir: hooks.path().to_path_buf(),
    }
    .up()
    .expect("up");
    let dir = hooks.path().to_path_buf();
    let data_dir = data.path().to_path_buf();
    let t = TestApp::spawn_with(|c| {
        c.hooks_dir = Some(dir);
        c.dir = data_dir;
        c.db = db;
    })
    .await;
    // onBootstrap ran (in the background, right after loading).
    let mut booted = Value::Null;
    for _ in 0..50 {
        let res = t
            .client
            .get(format!("{}/api/boot", t.url))
            .send()
            .await
            .expect("boot");
        assert_eq!(res.headers()["x-middleware"], "yes");
        booted = res.json().await.expect("json");
        if booted["count"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(booted["count"], 1, "{booted}");
    // A request hook that returns without `e.next()` stops the request:
    // PocketBase answers 200 with an empty body and writes nothing.
    let (s, body) = t
        .post("/api/collections/closed/records", json!({"text": "x"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body, Value::Null);
    let (_, list) = t.get("/api/collections/closed/records").await;
    assert_eq!(list["totalItems"], 0);
    let h = t.app.hooks.get().expect("hooks loaded");
    assert_eq!(
        h.cron_jobs(),
        vec![("tally".to_owned(), "*/5 * * * *".to_owned())]
    );
    h.run_cron("tally").await.expect("cron ran");
    assert!(h.run_cron("nope").await.is_err());
    let (s, created) = t
        .post("/api/collections/notes/records", json!({"text": "api"}))
        .await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["text"], "api (hooked)");
    let (_, list) = t.get("/api/collections/notes/records?sort=text").await;
    let texts: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    // Saves from onBootstrap and from a cron job fire onRecordCreate too.
    assert_eq!(
        texts,
        ["api (hooked)", "booted (hooked)", "from cron (hooked)"]
    );
}

/// `migrate create`, `migrate collections` (a snapshot that rebuilds the
/// schema elsewhere) and `migrate history-sync`.
#[tokio::test]
async fn create_snapshot_and_history_sync() {
    let t = TestApp::spawn().await;
    let (s, _) = t
        .post(
            "/api/collections",
            json!({"name": "notes", "type": "base", "listRule": "",
                   "fields": [{"name": "text", "type": "text", "required": true}],
                   "indexes": ["CREATE INDEX `idx_notes_text` ON `notes` (`text`)"]}),
        )
        .await;
    assert_eq!(s, 200);
    let mig = tempfile::tempdir().expect("tempdir");
    let m = Migrations {
        db: t.app.config.db.clone(),
        data_dir: t.dir.path().to_path_buf(),
        dir: mig.path().to_path_buf(),
        hooks_dir: mig.path().to_path_buf(),
    };
    let blank = m.create("Add more Things!").expect("create");
    let name = blank
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(name.ends_with("_add_more_things.js"), "{name}");
    let snap = m.snapshot().expect("snapshot");
    assert!(
        snap.to_string_lossy().ends_with("_collections_snapshot.js"),
        "{snap:?}"
    );
    assert_eq!(m.up().expect("up").len(), 2);

    // The snapshot alone rebuilds the collections on an empty directory.
    let fresh = tempfile::tempdir().expect("tempdir");
    let replay = Migrations {
        db: fresh_db(),
        data_dir: fresh.path().to_path_buf(),
        ..m.clone()
    };
    replay.up().expect("replay");
    let store = open_store(fresh.path(), &replay.db);
    let a = comparable(&t.app.store.schema().get("notes").expect("notes").to_json());
    let b = comparable(&store.schema().get("notes").expect("replayed").to_json());
    assert_eq!(a, b);
    store.shutdown();

    std::fs::remove_file(&blank).expect("rm");
    assert_eq!(m.history_sync().expect("sync"), 1);
    assert_eq!(m.history_sync().expect("sync"), 0);
}

/// The files automigrate writes are byte for byte the ones PocketBase
/// 0.40.6 wrote for the same two API calls
/// (`tests/plugins/automigrate_pocketbase/`).
#[tokio::test]
async fn automigrate_writes_pocketbases_templates() {
    let mig = tempfile::tempdir().expect("tempdir");
    let dir = mig.path().to_path_buf();
    let t = TestApp::spawn_with(|c| c.migrations_dir = Some(dir.clone())).await;
    let (s, _) = t
        .post(
            "/api/collections",
            json!({"name": "notes", "type": "base", "listRule": "",
                   "fields": [{"name": "text", "type": "text", "required": true}]}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = t
        .patch(
            "/api/collections/notes",
            json!({"viewRule": "", "fields": [
                {"name": "text", "type": "text", "required": true},
                {"name": "n", "type": "number"}]}),
        )
        .await;
    assert_eq!(s, 200);
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plugins/automigrate_pocketbase");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2);
    for (path, want) in names.iter().zip(["created_notes.js", "updated_notes.js"]) {
        let got = std::fs::read_to_string(path).expect("read");
        let expected = std::fs::read_to_string(golden.join(want)).expect("golden");
        assert_eq!(got, expected, "{want}");
    }
}
