//! Per-plugin numbers for `GET /api/metrics`: calls and failed calls by
//! plugin and kind (`route`, `hook`, `cron`), the wall time calls took
//! (waiting on `fetch` or `db` included) and the time JavaScript itself ran.
//! Label sets stay bounded: one per plugin file and kind.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub plugin: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabel {
    pub plugin: String,
}

type Seconds = Counter<f64, AtomicU64>;

/// Shared handles (clones count into the same series).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    calls: Family<CallLabels, Counter>,
    errors: Family<CallLabels, Counter>,
    call_seconds: Family<PluginLabel, Seconds>,
    js_seconds: Family<PluginLabel, Seconds>,
}

impl Metrics {
    /// Registers the series (the registry adds the `cairn_` prefix).
    pub fn register(&self, into: &crate::service::metrics::Metrics) {
        into.register(
            "plugin_calls",
            "Calls into Cairn-native plugins",
            self.calls.clone(),
        );
        into.register(
            "plugin_errors",
            "Calls into Cairn-native plugins that failed",
            self.errors.clone(),
        );
        into.register(
            "plugin_call_seconds",
            "Wall time of plugin calls, waits included",
            self.call_seconds.clone(),
        );
        into.register(
            "plugin_js_seconds",
            "Time plugin JavaScript ran",
            self.js_seconds.clone(),
        );
    }

    pub fn call(&self, plugin: &str, kind: &str, seconds: f64, failed: bool) {
        let l = CallLabels {
            plugin: plugin.to_owned(),
            kind: kind.to_owned(),
        };
        self.calls.get_or_create(&l).inc();
        if failed {
            self.errors.get_or_create(&l).inc();
        }
        self.call_seconds
            .get_or_create(&PluginLabel {
                plugin: plugin.to_owned(),
            })
            .inc_by(seconds);
    }

    pub fn js_seconds(&self, plugin: &str, seconds: f64) {
        self.js_seconds
            .get_or_create(&PluginLabel {
                plugin: plugin.to_owned(),
            })
            .inc_by(seconds);
    }
}
