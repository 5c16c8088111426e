//! Prometheus metrics of the portal client. Labels are bounded: operation and code class only.

use prometheus::{CounterVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use std::time::Duration;

/// The portal layer's metrics, registered once per process.
#[derive(Clone)]
pub struct PortalMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    retries: IntCounterVec,
    rate_limited: IntCounterVec,
    rate_limited_seconds: CounterVec,
    /// Calls on the wire now (bounded by `portal.maxConcurrentCalls`).
    pub(super) in_flight: IntGauge,
}

impl PortalMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "ccs_portal_requests_total",
                "Portal HTTP attempts by operation and status code class.",
            ),
            &["operation", "code_class"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "ccs_portal_request_duration_seconds",
                "Duration of one portal HTTP attempt.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["operation"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "ccs_portal_retries_total",
                "Portal calls attempted again after a retryable failure.",
            ),
            &["operation"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "ccs_portal_rate_limited_waits_total",
                "Calls that waited for the client rate limiter.",
            ),
            &["operation"],
        )?;
        let rate_limited_seconds = CounterVec::new(
            Opts::new(
                "ccs_portal_rate_limited_wait_seconds_total",
                "Time spent waiting for the rate limiter.",
            ),
            &["operation"],
        )?;
        let in_flight = IntGauge::new(
            "ccs_portal_in_flight_calls",
            "Portal HTTP attempts on the wire now (at most portal.maxConcurrentCalls).",
        )?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(rate_limited_seconds.clone()))?;
        // Operations are a bounded set: these start at 0, so `rate()` answers 0 (not "no data")
        // on dashboards and in rules until the first retry or wait.
        for operation in super::OPERATIONS {
            retries.with_label_values(&[operation]);
            rate_limited.with_label_values(&[operation]);
            rate_limited_seconds.with_label_values(&[operation]);
        }
        Ok(Self {
            requests,
            duration,
            retries,
            rate_limited,
            rate_limited_seconds,
            in_flight,
        })
    }

    /// Records one attempt; `code_class` is `2xx`..`5xx`, `timeout` or `transport`.
    pub(super) fn attempt(&self, operation: &str, code_class: &str, elapsed: Duration) {
        self.requests.with_label_values(&[operation, code_class]).inc();
        self.duration
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }

    /// Records a retry.
    pub(super) fn retry(&self, operation: &str) {
        self.retries.with_label_values(&[operation]).inc();
    }

    /// Records a wait on the rate limiter.
    pub(super) fn rate_limited(&self, operation: &str, waited: Duration) {
        self.rate_limited.with_label_values(&[operation]).inc();
        self.rate_limited_seconds
            .with_label_values(&[operation])
            .inc_by(waited.as_secs_f64());
    }
}

/// The code class label of an HTTP status.
pub(crate) fn code_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
