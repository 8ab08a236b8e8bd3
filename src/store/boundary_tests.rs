//! The store boundary, enforced: no source file outside `store/` names the
//! SQLite driver (`NOT_YET_MOVED` lists debts, not permissions; it is empty
//! now and should stay so), and the folders that were moved run no SQL.

/// Files outside `store/` that still reach `rusqlite` directly.
const NOT_YET_MOVED: &[&str] = &[];

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn only_the_store_names_the_driver() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut offenders = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("src/store/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("readable");
        if text.contains("rusqlite") && !NOT_YET_MOVED.contains(&rel.as_str()) {
            offenders.push(rel);
        }
    }
    assert!(
        offenders.is_empty(),
        "these files name rusqlite outside src/store/: {offenders:?}"
    );
    // A debt paid is taken off the list.
    for debt in NOT_YET_MOVED {
        let text = std::fs::read_to_string(root.join(debt)).unwrap_or_default();
        assert!(
            text.contains("rusqlite"),
            "{debt} no longer names rusqlite: remove it from NOT_YET_MOVED"
        );
    }
}

/// Folders whose files were moved behind the boundary: they must not run SQL
/// on the handle they pass on either (naming `store::Conn` is allowed).
const MOVED: &[&str] = &["src/service/webhooks", "src/service/files", "src/plugins"];

#[test]
fn moved_services_run_no_sql() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    for dir in MOVED {
        let mut files = Vec::new();
        walk(&root.join(dir), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable");
            let calls = [
                ".prepare",
                ".query_row(",
                ".query_map(",
                "last_insert_rowid",
            ];
            if text.contains("rusqlite")
                || calls.iter().any(|c| text.contains(c))
                || text.contains("conn.execute(")
            {
                offenders.push(f.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "these files run SQL: {offenders:?}");
}
