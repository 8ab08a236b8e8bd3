//! Delivery counters, kept in atomics so the dispatcher never waits on
//! them; a metrics endpoint reads them with `Metrics::snapshot` (plus the
//! queue depth from `queue_depth`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::store::{Store, StoreError};

/// Upper bounds (ms) of the latency histogram buckets; the last is +Inf.
pub const LATENCY_BUCKETS_MS: [u64; 8] = [10, 25, 50, 100, 250, 1000, 5000, 30000];

#[derive(Debug, Default)]
pub struct Metrics {
    succeeded: AtomicU64,
    failed_http: AtomicU64,
    failed_network: AtomicU64,
    blocked: AtomicU64,
    dead_lettered: AtomicU64,
    /// Attempt durations (request sent → response read).
    latency: [AtomicU64; 9],
    latency_sum_ms: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MetricsSnapshot {
    pub attempts_succeeded: u64,
    pub attempts_failed_http: u64,
    pub attempts_failed_network: u64,
    pub attempts_blocked: u64,
    pub deliveries_dead_lettered: u64,
    /// Cumulative counts per `LATENCY_BUCKETS_MS` bucket (last = +Inf).
    pub latency_buckets: Vec<u64>,
    pub latency_sum_ms: u64,
}

impl Metrics {
    pub fn attempt(&self, error_kind: Option<&str>, duration_ms: i64) {
        let c = match error_kind {
            None => &self.succeeded,
            Some("http" | "redirect") => &self.failed_http,
            Some("blocked_address") => &self.blocked,
            Some(_) => &self.failed_network,
        };
        c.fetch_add(1, Relaxed);
        let ms = duration_ms.max(0) as u64;
        let i = LATENCY_BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.latency[i].fetch_add(1, Relaxed);
        self.latency_sum_ms.fetch_add(ms, Relaxed);
    }

    pub fn dead_letter(&self) {
        self.dead_lettered.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let mut acc = 0;
        let latency_buckets = self
            .latency
            .iter()
            .map(|b| {
                acc += b.load(Relaxed);
                acc
            })
            .collect();
        MetricsSnapshot {
            attempts_succeeded: self.succeeded.load(Relaxed),
            attempts_failed_http: self.failed_http.load(Relaxed),
            attempts_failed_network: self.failed_network.load(Relaxed),
            attempts_blocked: self.blocked.load(Relaxed),
            deliveries_dead_lettered: self.dead_lettered.load(Relaxed),
            latency_buckets,
            latency_sum_ms: self.latency_sum_ms.load(Relaxed),
        }
    }
}

/// Deliveries pending or in flight.
pub fn queue_depth(store: &Store) -> Result<i64, StoreError> {
    store.read(crate::store::webhooks::queue_depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_outcome_and_bucket() {
        let m = Metrics::default();
        m.attempt(None, 5);
        m.attempt(Some("http"), 120);
        m.attempt(Some("timeout"), 40_000);
        let s = m.snapshot();
        assert_eq!(
            (
                s.attempts_succeeded,
                s.attempts_failed_http,
                s.attempts_failed_network
            ),
            (1, 1, 1)
        );
        assert_eq!(s.latency_buckets[0], 1);
        assert_eq!(s.latency_buckets[4], 2);
        assert_eq!(s.latency_buckets[8], 3);
    }
}
