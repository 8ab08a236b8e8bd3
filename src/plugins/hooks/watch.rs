//! Hot reload: the hooks directory is polled for changed, added or removed
//! hook files (and the `.js` files they `require`), and a change reloads the
//! hooks in-process — the new generation is swapped in atomically and
//! requests never fail during the swap (PocketBase restarts the process).
//! A change is loaded once the files have stood still for a poll: a file
//! being written (`fs.writeFile` and many editors truncate, then fill) must
//! not be loaded empty or half-written in between, which would drop its
//! routes until the next poll.

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

/// Waits until `read` answers the same twice, a poll apart (a second
/// apart while `empty` says a file is empty: a truncate can stand alone
/// that long on a loaded machine), and returns that answer.
pub fn settle<T: PartialEq>(mut now: T, read: impl Fn() -> T, empty: impl Fn(&T) -> bool) -> T {
    loop {
        std::thread::sleep(match empty(&now) {
            true => Duration::from_secs(1),
            false => INTERVAL,
        });
        let again = read();
        if again == now {
            return again;
        }
        now = again;
    }
}

/// Does a snapshot hold an empty file?
pub fn any_empty(files: &BTreeMap<String, (SystemTime, u64)>) -> bool {
    files.values().any(|(_, len)| *len == 0)
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
                    last = settle(now, || snapshot(&dir), any_empty);
                    tracing::info!("pb_hooks changed; reloading");
                    h.reload();
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    #[test]
    fn settle_returns_once_two_reads_agree() {
        let reads = Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            reads.get().min(3)
        };
        assert_eq!(super::settle(0, read, |_| false), 3);
        assert_eq!(
            reads.get(),
            4,
            "reads 1, 2, 3 differ from the one before; 4 agrees"
        );
    }
}
