//! Small in-memory counters that PocketBase keeps for auth flows: "a mail
//! of this kind went to this record less than 2 minutes ago" and "this
//! record has used up its OTP attempts". Lost on restart, like PocketBase's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries are dropped once older than this (the longest window in use).
const MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct Throttle {
    hits: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Throttle {
    /// Records a hit for `key` if fewer than `max` happened within `window`;
    /// returns whether it was allowed.
    pub fn allow(&self, key: &str, max: usize, window: Duration) -> bool {
        let Ok(mut map) = self.hits.lock() else {
            return true;
        };
        let now = Instant::now();
        if map.len() > 10_000 {
            map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < MAX_AGE));
        }
        let hits = map.entry(key.to_owned()).or_default();
        hits.retain(|t| now.duration_since(*t) < window);
        if hits.len() >= max {
            return false;
        }
        hits.push(now);
        true
    }

    /// Forgets `key` (e.g. once a reset token was used).
    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.hits.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_window() {
        let t = Throttle::default();
        assert!(t.allow("a", 2, Duration::from_secs(60)));
        assert!(t.allow("a", 2, Duration::from_secs(60)));
        assert!(!t.allow("a", 2, Duration::from_secs(60)));
        assert!(t.allow("b", 2, Duration::from_secs(60)));
        t.clear("a");
        assert!(t.allow("a", 2, Duration::from_secs(60)));
        assert!(t.allow("z", 1, Duration::ZERO));
        assert!(t.allow("z", 1, Duration::ZERO));
    }
}
