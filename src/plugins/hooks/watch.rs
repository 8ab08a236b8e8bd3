//! Hot reload: the hooks directory is polled for changed, added or removed
//! hook files (and the `.js` files they `require`), and a change reloads the
//! hooks in-process — the new generation is swapped in atomically and
//! requests never fail during the swap (PocketBase restarts the process).

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use super::Hooks;

const INTERVAL: Duration = Duration::from_millis(200);

pub fn snapshot(dir: &std::path::Path) -> BTreeMap<String, (SystemTime, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if name.ends_with(".js") || name.ends_with(".ts") {
                let m = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.insert(e.path().to_string_lossy().into_owned(), (m, meta.len()));
            }
        }
    }
    out
}

/// Watches until the hooks are dropped.
pub fn start(hooks: Weak<Hooks>) {
    let Some(dir) = hooks.upgrade().map(|h| h.dir.clone()) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("cairn-hooks-watch".into())
        .spawn(move || {
            let mut last = snapshot(&dir);
            loop {
                std::thread::sleep(INTERVAL);
                let Some(h) = hooks.upgrade() else { return };
                let now = snapshot(&dir);
                if now != last {
                    last = now;
                    tracing::info!("pb_hooks changed; reloading");
                    h.reload();
                }
            }
        });
}
