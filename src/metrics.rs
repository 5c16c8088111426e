//! Operator metrics (the reconcile and email layers; the state layer is written from the caches by
//! `controllers::state_metrics`). The portal layer lives with the portal
//! client. Labels are bounded: kind, namespace, object name, contract id, threshold name, category;
//! never an email address or a person's name.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use std::sync::{Arc, OnceLock};

/// Writes families computed at scrape time (the state layer, from the caches) in the text format.
pub type StateRenderer = Arc<dyn Fn(&mut String) + Send + Sync>;

/// Every operator metric, registered once on one registry.
#[derive(Clone)]
pub struct Metrics {
    /// Registry holding these metrics (and the portal client's).
    pub registry: Registry,
    /// `ccs_reconcile_runs_total{kind}`.
    pub reconcile_runs: IntCounterVec,
    /// `ccs_reconcile_errors_total{kind,category}`.
    pub reconcile_errors: IntCounterVec,
    /// `ccs_reconcile_duration_seconds{kind}`.
    pub reconcile_duration: HistogramVec,
    /// `ccs_emails_sent_total{kind}` (`budget`, `incident`, `order`).
    pub emails_sent: IntCounterVec,
    /// `ccs_emails_failed_total{kind}`.
    pub emails_failed: IntCounterVec,
    /// `ccs_leader`: 1 while this replica holds the leader lease.
    pub leader: IntGauge,
    /// The state layer, appended to every scrape once the caches exist.
    state: Arc<OnceLock<StateRenderer>>,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

/// The `kind` label values of the email counters.
pub const EMAIL_KINDS: [&str; 3] = ["budget", "incident", "order"];

impl Metrics {
    /// Creates and registers every metric on a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let reconcile_duration = HistogramVec::new(
            HistogramOpts::new(
                "ccs_reconcile_duration_seconds",
                "Duration of one reconcile, per kind.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["kind"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(reconcile_duration.clone()))
            .expect("metric registered once");
        let metrics = Self {
            reconcile_runs: counter(
                r,
                "ccs_reconcile_runs_total",
                "Reconciles run, per kind.",
                &["kind"],
            ),
            reconcile_errors: counter(
                r,
                "ccs_reconcile_errors_total",
                "Reconciles that failed, per kind and error category.",
                &["kind", "category"],
            ),
            reconcile_duration,
            emails_sent: counter(r, "ccs_emails_sent_total", "Emails sent, per kind.", &["kind"]),
            emails_failed: counter(
                r,
                "ccs_emails_failed_total",
                "Emails that failed to send, per kind.",
                &["kind"],
            ),
            leader: {
                let leader =
                    IntGauge::new("ccs_leader", "1 while this replica is the leader.").expect("valid");
                registry
                    .register(Box::new(leader.clone()))
                    .expect("metric registered once");
                leader
            },
            registry,
            state: Arc::default(),
        };
        // Bounded label values start at 0, so the series exist (and `rate()` works) before the
        // first email of a kind is sent or fails.
        for kind in EMAIL_KINDS {
            metrics.emails_sent.with_label_values(&[kind]);
            metrics.emails_failed.with_label_values(&[kind]);
        }
        metrics
    }

    /// Sets the state layer's renderer (once; a second call is ignored).
    pub fn set_state(&self, renderer: StateRenderer) {
        let _ = self.state.set(renderer);
    }

    /// The registry, then the state layer, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default();
        if let Some(state) = self.state.get() {
            state(&mut out);
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
