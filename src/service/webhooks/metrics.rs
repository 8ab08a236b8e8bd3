//! Delivery metrics, kept in prometheus_client's atomic counters so the
//! dispatcher never waits on them, and registered with the server's
//! `/api/metrics` registry by [`Metrics::register`]: attempts by outcome,
//! attempt latency and the queue depth (pending or in flight, read at
//! scrape time) and dead letters (deliveries that became `failed` after
//! the last attempt of their schedule, or after a `410`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::store::{Store, StoreError};

/// Upper bounds (seconds) of the latency histogram buckets (+Inf added).
pub const LATENCY_BUCKETS_S: [f64; 8] = [0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0];

/// The outcome label of an attempt: `succeeded`, `failed_http` (a non-2xx
/// or a redirect), `blocked` (SSRF guard) or `failed_network`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    attempts: Family<Outcome, Counter>,
    /// Attempt durations (request sent → response read), in seconds.
    latency: Histogram,
    queue_depth: Gauge,
    dead_letters: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            attempts: Family::default(),
            latency: Histogram::new(LATENCY_BUCKETS_S),
            queue_depth: Gauge::default(),
            dead_letters: Counter::default(),
        }
    }
}

impl Metrics {
    pub fn attempt(&self, error_kind: Option<&str>, duration_ms: i64) {
        let outcome = match error_kind {
            None => "succeeded",
            Some("http" | "redirect") => "failed_http",
            Some("blocked_address") => "blocked",
            Some(_) => "failed_network",
        };
        self.attempts.get_or_create(&Outcome { outcome }).inc();
        self.latency.observe(duration_ms.max(0) as f64 / 1000.0);
    }

    /// Counts `n` deliveries dead-lettered by a committed dispatcher turn.
    pub fn dead_letters(&self, n: u64) {
        if n > 0 {
            self.dead_letters.inc_by(n);
        }
    }

    /// Attempts so far with `outcome`.
    pub fn attempts(&self, outcome: &'static str) -> u64 {
        self.attempts.get_or_create(&Outcome { outcome }).get()
    }

    /// Adds these metrics to the `/api/metrics` registry (once, at startup).
    pub fn register(&self, into: &crate::service::metrics::Metrics) {
        into.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome",
            self.attempts.clone(),
        );
        into.register(
            "webhook_attempt_duration_seconds",
            "Webhook attempt duration, request sent to response read",
            self.latency.clone(),
        );
        into.register(
            "webhook_queue_depth",
            "Webhook deliveries pending or in flight",
            self.queue_depth.clone(),
        );
        into.register(
            "webhook_dead_letters",
            "Webhook deliveries that became failed after their last attempt",
            self.dead_letters.clone(),
        );
    }

    /// Reads the queue depth into its gauge (called at scrape time).
    pub fn refresh(&self, store: &Store) {
        match queue_depth(store) {
            Ok(n) => {
                self.queue_depth.set(n);
            }
            Err(e) => tracing::error!(error = %e, "reading the webhook queue depth failed"),
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
    fn counts_by_outcome_and_renders() {
        let m = Metrics::default();
        m.attempt(None, 5);
        m.attempt(Some("http"), 120);
        m.attempt(Some("timeout"), 40_000);
        assert_eq!(
            (
                m.attempts("succeeded"),
                m.attempts("failed_http"),
                m.attempts("failed_network")
            ),
            (1, 1, 1)
        );
        let reg = crate::service::metrics::Metrics::new(Histogram::new([1.0]), Default::default());
        m.register(&reg);
        let out = reg.render(&Default::default());
        assert!(
            out.contains("webhook_attempts_total{outcome=\"succeeded\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("webhook_attempt_duration_seconds_bucket{le=\"0.01\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("webhook_attempt_duration_seconds_count 3"),
            "{out}"
        );
        m.dead_letters(0);
        m.dead_letters(2);
        let out = reg.render(&Default::default());
        assert!(out.contains("webhook_dead_letters_total 2"), "{out}");
    }
}
