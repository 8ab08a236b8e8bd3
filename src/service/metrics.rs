//! Prometheus/OpenMetrics numbers: request counts and latency by route and
//! status (observed by the request middleware), and, read at scrape time,
//! the writer's queue depth and group-commit sizes, WAL size, realtime
//! clients, the log queue, backups, cron runs, process RSS and open files.
//!
//! Other parts register their own metrics with [`Metrics::register`]
//! (one line, at startup) and update them themselves.

use std::sync::{Mutex, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

/// Labels of request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/api/collections/{collection}/records`), or
    /// `unmatched`: never the raw path, so label sets stay bounded.
    pub route: String,
    pub status: String,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Values read when scraped.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub writer_queue: i64,
    pub wal_bytes: i64,
    pub realtime_clients: i64,
    /// Realtime events queued for subscribers and not yet delivered.
    pub realtime_queued: i64,
    pub log_dropped: u64,
    pub log_written: u64,
    pub backups_ok: u64,
    pub backups_failed: u64,
    pub restores: u64,
    pub cron_runs: u64,
    pub cron_failures: u64,
    pub rss_bytes: i64,
    pub open_files: i64,
    /// PostgreSQL: age of the oldest transaction holding the change
    /// feed's horizon (`store::changes::horizon_age`).
    pub feed_horizon_age: f64,
}

struct Gauges {
    writer_queue: Gauge,
    wal_bytes: Gauge,
    realtime_clients: Gauge,
    realtime_queued: Gauge,
    rss_bytes: Gauge,
    open_files: Gauge,
    feed_horizon_age: Gauge<f64, std::sync::atomic::AtomicU64>,
}

struct Counters {
    log_dropped: Counter,
    log_written: Counter,
    backups_ok: Counter,
    backups_failed: Counter,
    restores: Counter,
    cron_runs: Counter,
    cron_failures: Counter,
}

/// The registry and the metrics Cairn itself keeps.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// Each label set's counter and histogram (shared with the families),
    /// found by route without building the labels: `Family::get_or_create`
    /// wants three owned strings, hashed with SipHash, on every request.
    handles: RwLock<rustc_hash::FxHashMap<Box<str>, Vec<Handles>>>,
    gauges: Gauges,
    counters: Counters,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// One label set's metrics, by method and status under its route.
struct Handles {
    method: Box<str>,
    status: u16,
    count: Counter,
    latency: Histogram,
}

/// Raises a counter to an absolute value read elsewhere.
fn raise(c: &Counter, to: u64) {
    let now = c.get();
    if to > now {
        c.inc_by(to - now);
    }
}

impl Metrics {
    /// `group_sizes` is the writer's histogram of jobs per group commit,
    /// `reruns` its count of jobs run again after a lost conflict.
    pub fn new(group_sizes: Histogram, reruns: Counter) -> Self {
        let mut r = Registry::with_prefix("cairn");
        let requests = Family::<RequestLabels, Counter>::default();
        r.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and status",
            latency.clone(),
        );
        r.register(
            "writer_group_commit_jobs",
            "Write jobs committed per group commit",
            group_sizes,
        );
        r.register(
            "writer_conflict_reruns",
            "PostgreSQL: write jobs run again after losing a deadlock or serialization conflict",
            reruns,
        );
        let g = Gauges {
            writer_queue: Gauge::default(),
            wal_bytes: Gauge::default(),
            realtime_clients: Gauge::default(),
            realtime_queued: Gauge::default(),
            rss_bytes: Gauge::default(),
            open_files: Gauge::default(),
            feed_horizon_age: Gauge::default(),
        };
        r.register(
            "writer_queue_depth",
            "Write jobs waiting for the writer",
            g.writer_queue.clone(),
        );
        r.register("wal_bytes", "Size of data.db-wal", g.wal_bytes.clone());
        r.register(
            "realtime_clients",
            "Connected realtime clients",
            g.realtime_clients.clone(),
        );
        r.register(
            "realtime_queued_events",
            "Realtime events queued for subscribers, not yet delivered (all clients)",
            g.realtime_queued.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident set size",
            g.rss_bytes.clone(),
        );
        r.register(
            "process_open_files",
            "Open file descriptors",
            g.open_files.clone(),
        );
        r.register(
            "changefeed_horizon_age_seconds",
            "PostgreSQL: age of the oldest open transaction with an id, which holds realtime events back (0 on SQLite)",
            g.feed_horizon_age.clone(),
        );
        let c = Counters {
            log_dropped: Counter::default(),
            log_written: Counter::default(),
            backups_ok: Counter::default(),
            backups_failed: Counter::default(),
            restores: Counter::default(),
            cron_runs: Counter::default(),
            cron_failures: Counter::default(),
        };
        r.register(
            "request_logs_dropped",
            "Request log entries dropped (queue full)",
            c.log_dropped.clone(),
        );
        r.register(
            "request_logs_written",
            "Request log entries written",
            c.log_written.clone(),
        );
        r.register("backups_succeeded", "Backups created", c.backups_ok.clone());
        r.register(
            "backups_failed",
            "Backups that failed",
            c.backups_failed.clone(),
        );
        r.register("backup_restores", "Backups restored", c.restores.clone());
        r.register("cron_runs", "Cron job runs started", c.cron_runs.clone());
        r.register(
            "cron_failures",
            "Cron job runs that failed or panicked",
            c.cron_failures.clone(),
        );
        Self {
            registry: Mutex::new(r),
            requests,
            latency,
            handles: RwLock::default(),
            gauges: g,
            counters: c,
        }
    }

    /// Registers another metric (`cairn_` is prefixed to `name`).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        if let Ok(mut r) = self.registry.lock() {
            r.register(name, help, metric);
        }
    }

    /// Counts one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(handles) = self.handles.read()
            && let Some(h) = handles.get(route).and_then(|hs| {
                hs.iter()
                    .find(|h| h.status == status && *h.method == *method)
            })
        {
            h.count.inc();
            h.latency.observe(seconds);
            return;
        }
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status: status.to_string(),
        };
        let count = self.requests.get_or_create(&labels).clone();
        let latency = self.latency.get_or_create(&labels).clone();
        count.inc();
        latency.observe(seconds);
        // Two first requests of a label set may both get here: the second
        // entry holds the same metrics and is never found.
        if let Ok(mut handles) = self.handles.write() {
            handles.entry(route.into()).or_default().push(Handles {
                method: method.into(),
                status,
                count,
                latency,
            });
        }
    }

    /// The OpenMetrics text, with scrape-time values from `s`.
    pub fn render(&self, s: &Snapshot) -> String {
        let g = &self.gauges;
        g.writer_queue.set(s.writer_queue);
        g.wal_bytes.set(s.wal_bytes);
        g.realtime_clients.set(s.realtime_clients);
        g.realtime_queued.set(s.realtime_queued);
        g.rss_bytes.set(s.rss_bytes);
        g.open_files.set(s.open_files);
        g.feed_horizon_age.set(s.feed_horizon_age);
        let c = &self.counters;
        raise(&c.log_dropped, s.log_dropped);
        raise(&c.log_written, s.log_written);
        raise(&c.backups_ok, s.backups_ok);
        raise(&c.backups_failed, s.backups_failed);
        raise(&c.restores, s.restores);
        raise(&c.cron_runs, s.cron_runs);
        raise(&c.cron_failures, s.cron_failures);
        let mut out = String::new();
        if let Ok(r) = self.registry.lock()
            && let Err(e) = prometheus_client::encoding::text::encode(&mut out, &r)
        {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Open file descriptors of this process (Linux; 0 elsewhere).
pub fn open_files() -> i64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_and_snapshot() {
        let m = Metrics::new(Histogram::new([1.0, 2.0]), Default::default());
        m.observe("GET", "/api/health", 200, 0.002);
        let snap = Snapshot {
            log_dropped: 3,
            writer_queue: 2,
            ..Default::default()
        };
        let out = m.render(&snap);
        assert!(
            out.contains(
                "cairn_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"} 1"
            ),
            "{out}"
        );
        assert!(out.contains("cairn_request_logs_dropped_total 3"), "{out}");
        assert!(out.contains("cairn_writer_queue_depth 2"), "{out}");
        assert!(out.ends_with("# EOF\n"));
        let again = m.render(&snap);
        assert!(
            again.contains("cairn_request_logs_dropped_total 3"),
            "counters do not double"
        );
        assert!(rss_bytes() > 0 && open_files() > 0);
    }

    /// Requests counted through the cached handles land in the same series
    /// as the first one of their label set, and a different method or
    /// status under the same route gets its own.
    #[test]
    fn repeated_label_sets_count_into_one_series() {
        let m = Metrics::new(Histogram::new([1.0]), Default::default());
        for _ in 0..3 {
            m.observe("GET", "/api/x/{id}", 200, 0.5);
        }
        m.observe("GET", "/api/x/{id}", 404, 0.5);
        m.observe("POST", "/api/x/{id}", 200, 2.0);
        let out = m.render(&Snapshot::default());
        for (labels, n) in [
            ("method=\"GET\",route=\"/api/x/{id}\",status=\"200\"", 3),
            ("method=\"GET\",route=\"/api/x/{id}\",status=\"404\"", 1),
            ("method=\"POST\",route=\"/api/x/{id}\",status=\"200\"", 1),
        ] {
            let count = format!("cairn_http_requests_total{{{labels}}} {n}\n");
            assert!(out.contains(&count), "{count} in {out}");
            let hist = format!("cairn_http_request_duration_seconds_count{{{labels}}} {n}\n");
            assert!(out.contains(&hist), "{hist} in {out}");
        }
    }
}
