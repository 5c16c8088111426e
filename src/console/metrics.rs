//! Prometheus metrics of the console clients: labels `api` (`keystone`, `clouddirector`), `operation` and the
//! code class; never a user, group or domain name.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::time::Duration;

/// The console clients' metrics, registered once per process.
#[derive(Clone)]
pub struct ConsoleMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    retries: IntCounterVec,
}

impl ConsoleMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "ccs_console_requests_total",
                "Console API HTTP attempts by api, operation and status code class.",
            ),
            &["api", "operation", "code_class"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "ccs_console_request_duration_seconds",
                "Duration of one console API HTTP attempt.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["api", "operation"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "ccs_console_retries_total",
                "Console API calls attempted again after a retryable failure.",
            ),
            &["api", "operation"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        Ok(Self {
            requests,
            duration,
            retries,
        })
    }

    /// Records one attempt; `code_class` is `2xx`..`5xx`, `timeout`, `transport` or `too_large`.
    pub(super) fn attempt(&self, api: &str, operation: &str, code_class: &str, elapsed: Duration) {
        self.requests
            .with_label_values(&[api, operation, code_class])
            .inc();
        self.duration
            .with_label_values(&[api, operation])
            .observe(elapsed.as_secs_f64());
    }

    /// Records a retry.
    pub(super) fn retry(&self, api: &str, operation: &str) {
        self.retries.with_label_values(&[api, operation]).inc();
    }
}
