//! The store boundary, enforced: no source file outside `store/` names the
//! SQLite driver, except the ones listed here, which are still to move
//! (each entry is a debt, not a permission: remove it when the file moves).

/// Files outside `store/` that still reach `rusqlite` directly.
const NOT_YET_MOVED: &[&str] = &[
    "src/service/webhooks/outbox.rs",
    "src/service/webhooks/dispatch.rs",
    "src/plugins/conn_host.rs",
    "src/plugins/migrations.rs",
];

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
