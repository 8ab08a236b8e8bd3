//! A bounded in-memory cache of small stored files (and thumbs), so
//! serving a popular small file costs a `stat` and a reference count
//! instead of a trip to the blocking pool, a fresh buffer and a read.
//!
//! Entries are keyed by storage key *and* the size and modification time a
//! fresh `stat` reports: a request always stats the file first (a missing
//! file is a 404 whatever is cached), and a file rewritten in place has a
//! new mtime, so a stale entry is never served. Stored files are immutable
//! in practice (every upload gets a new random name), so entries rarely go
//! stale; those that do (and those of deleted files) leave by eviction.
//!
//! Only files up to [`MAX_FILE`] bytes are kept, at most [`BUDGET`] bytes
//! and [`MAX_ENTRIES`] files in all; past it the oldest entries go first (FIFO: cheap, and a
//! file that is still popular comes back at its next request). Only the
//! local backend is cached: an S3 object's metadata has one-second
//! resolution.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::storage::Meta;

/// Largest file kept (bytes).
pub const MAX_FILE: u64 = 256 << 10;
/// Most bytes kept in all.
pub const BUDGET: usize = 16 << 20;
/// Most files kept (bounds the index when the files are tiny).
pub const MAX_ENTRIES: usize = 4_096;

/// A cached file: its bytes and the content type sniffed from them.
#[derive(Clone)]
pub struct Cached {
    pub bytes: Bytes,
    pub mime: Arc<str>,
}

struct Entry {
    meta: Meta,
    file: Cached,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Entry>,
    /// Keys in insertion order (may name entries already replaced).
    order: VecDeque<String>,
    used: usize,
}

/// The cache; see the module docs.
#[derive(Default)]
pub struct SmallFiles {
    inner: Mutex<Inner>,
}

fn same(a: &Meta, b: &Meta) -> bool {
    a.size == b.size && a.modified == b.modified
}

impl SmallFiles {
    /// The cached file at `key` when it was cached with exactly `meta`.
    pub fn get(&self, key: &str, meta: &Meta) -> Option<Cached> {
        let inner = self.inner.lock().ok()?;
        inner
            .map
            .get(key)
            .filter(|e| same(&e.meta, meta))
            .map(|e| e.file.clone())
    }

    /// Keeps `file` (read when the file had `meta`) if it is small enough.
    pub fn insert(&self, key: &str, meta: Meta, file: Cached) {
        let size = file.bytes.len();
        if size as u64 > MAX_FILE || size > BUDGET {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let inner = &mut *inner;
        // Every key in `map` is in `order` exactly once.
        let mut listed = match inner.map.remove(key) {
            Some(old) => {
                inner.used -= old.file.bytes.len();
                true
            }
            None => false,
        };
        while inner.used + size > BUDGET || inner.map.len() >= MAX_ENTRIES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if oldest == key {
                listed = false;
            } else if let Some(e) = inner.map.remove(&oldest) {
                inner.used -= e.file.bytes.len();
            }
        }
        if !listed {
            inner.order.push_back(key.to_owned());
        }
        inner.used += size;
        inner.map.insert(key.to_owned(), Entry { meta, file });
    }

    /// Drops everything (the storage backend changed).
    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner = Inner::default();
        }
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.inner.lock().map(|i| i.used).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn meta(size: u64, secs: u64) -> Meta {
        Meta {
            size,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn file(n: usize) -> Cached {
        Cached {
            bytes: Bytes::from(vec![7u8; n]),
            mime: Arc::from("text/plain"),
        }
    }

    #[test]
    fn hits_only_with_the_same_size_and_mtime() {
        let c = SmallFiles::default();
        c.insert("a/b/c.txt", meta(10, 1), file(10));
        assert!(c.get("a/b/c.txt", &meta(10, 1)).is_some());
        assert!(c.get("a/b/c.txt", &meta(10, 2)).is_none());
        assert!(c.get("a/b/c.txt", &meta(11, 1)).is_none());
        assert!(c.get("a/b/d.txt", &meta(10, 1)).is_none());
        // A re-read under a new mtime replaces the entry.
        c.insert("a/b/c.txt", meta(10, 2), file(10));
        assert!(c.get("a/b/c.txt", &meta(10, 2)).is_some());
        assert_eq!(c.used(), 10);
    }

    #[test]
    fn stays_within_its_budget_oldest_first() {
        let c = SmallFiles::default();
        let n = MAX_FILE as usize;
        let fits = BUDGET / n;
        for i in 0..fits + 3 {
            c.insert(&format!("k{i}"), meta(n as u64, 1), file(n));
            assert!(c.used() <= BUDGET);
        }
        assert!(c.get("k0", &meta(n as u64, 1)).is_none());
        assert!(c.get("k2", &meta(n as u64, 1)).is_none());
        assert!(
            c.get(&format!("k{}", fits + 2), &meta(n as u64, 1))
                .is_some()
        );
        // Too large to keep at all.
        c.insert("big", meta(MAX_FILE + 1, 1), file(n + 1));
        assert!(c.get("big", &meta(MAX_FILE + 1, 1)).is_none());
        c.clear();
        assert_eq!(c.used(), 0);
    }
}
