//! Webhook settings (`[webhooks]` in `config.toml`, `CAIRN_WEBHOOKS_*`).
//!
//! The defaults follow the Standard Webhooks recommendations; the knobs
//! exist so tests can run the whole retry machinery in seconds (schedule in
//! milliseconds, no jitter, short disable window, loopback allowed).

use serde::Deserialize;

/// The spec's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 14 h, 20 h, 24 h (the delay before each attempt, in milliseconds).
pub const DEFAULT_SCHEDULE: [u64; 10] = [
    0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000,
    86_400_000,
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Delay before each attempt (ms); its length is the attempt budget.
    pub retry_schedule: Vec<u64>,
    /// Random spread of each delay, as a fraction (0.2 = ±20 %).
    pub jitter: f64,
    /// Longest wait a `Retry-After` header may impose (ms).
    pub retry_after_cap_ms: u64,
    /// Disable an endpoint that has had no 2xx for this long (seconds).
    pub disable_after: u64,
    /// Networks outbound requests may reach even though they are private,
    /// loopback or link-local (e.g. `127.0.0.0/8`).
    pub allow_cidrs: Vec<String>,
    /// Requests in flight at once, over all endpoints.
    pub max_in_flight: usize,
    /// Default per-endpoint limit for new endpoints.
    pub max_in_flight_per_endpoint: usize,
    /// Bytes of each response kept in the delivery log.
    pub response_capture_bytes: usize,
    /// Finished deliveries and their attempts are pruned after this many days.
    pub retention_days: u64,
    /// How much lower than requests the dispatcher thread's CPU priority
    /// is (a nice increment, 0-19; 0 = the same): deliveries wait for idle
    /// CPU rather than slow requests down.
    pub nice: i32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_schedule: DEFAULT_SCHEDULE.to_vec(),
            jitter: 0.2,
            retry_after_cap_ms: 3_600_000,
            disable_after: 5 * 24 * 3600,
            allow_cidrs: Vec::new(),
            max_in_flight: 32,
            max_in_flight_per_endpoint: 4,
            response_capture_bytes: 20_000,
            retention_days: 30,
            nice: 10,
        }
    }
}

impl WebhooksConfig {
    /// Applies `CAIRN_WEBHOOKS_*` variables; lists are comma-separated.
    /// Unparsable values are ignored with a warning.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        fn num<T: std::str::FromStr>(key: &str, v: &str) -> Option<T> {
            let out = v.trim().parse().ok();
            if out.is_none() {
                tracing::warn!(key, "ignoring an unparsable setting");
            }
            out
        }
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        if let Some(v) = get("CAIRN_WEBHOOKS_RETRY_SCHEDULE") {
            let parsed: Option<Vec<u64>> =
                list(&v).iter().map(|s| num("retry_schedule", s)).collect();
            if let Some(s) = parsed.filter(|s| !s.is_empty()) {
                self.retry_schedule = s;
            }
        }
        let k = "CAIRN_WEBHOOKS_JITTER";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.jitter = x;
        }
        let k = "CAIRN_WEBHOOKS_RETRY_AFTER_CAP_MS";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.retry_after_cap_ms = x;
        }
        let k = "CAIRN_WEBHOOKS_DISABLE_AFTER";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.disable_after = x;
        }
        if let Some(v) = get("CAIRN_WEBHOOKS_ALLOW_CIDRS") {
            self.allow_cidrs = list(&v);
        }
        let k = "CAIRN_WEBHOOKS_MAX_IN_FLIGHT";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.max_in_flight = x;
        }
        let k = "CAIRN_WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.max_in_flight_per_endpoint = x;
        }
        let k = "CAIRN_WEBHOOKS_RESPONSE_CAPTURE_BYTES";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.response_capture_bytes = x;
        }
        let k = "CAIRN_WEBHOOKS_RETENTION_DAYS";
        if let Some(x) = get(k).and_then(|v| num(k, &v)) {
            self.retention_days = x;
        }
        let k = "CAIRN_WEBHOOKS_NICE";
        if let Some(x) = get(k).and_then(|v| num::<i32>(k, &v)) {
            self.nice = x.clamp(0, 19);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides() {
        let mut c = WebhooksConfig::default();
        c.apply_env(|k| match k {
            "CAIRN_WEBHOOKS_RETRY_SCHEDULE" => Some("0, 1000,2000".into()),
            "CAIRN_WEBHOOKS_JITTER" => Some("0".into()),
            "CAIRN_WEBHOOKS_ALLOW_CIDRS" => Some("127.0.0.0/8,::1/128".into()),
            "CAIRN_WEBHOOKS_MAX_IN_FLIGHT" => Some("nope".into()),
            "CAIRN_WEBHOOKS_NICE" => Some("40".into()),
            _ => None,
        });
        assert_eq!(c.retry_schedule, vec![0, 1000, 2000]);
        assert_eq!(c.jitter, 0.0);
        assert_eq!(c.allow_cidrs, vec!["127.0.0.0/8", "::1/128"]);
        assert_eq!(c.max_in_flight, 32);
        assert_eq!(c.nice, 19, "clamped to the highest nice value");
        assert_eq!(WebhooksConfig::default().nice, 10);
    }
}
