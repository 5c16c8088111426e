//! Operator metrics (the reconcile, state and email layers). The portal layer lives with the portal
//! client. Labels are bounded: kind, namespace, object name, contract id, threshold name, category;
//! never an email address or a person's name.

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

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
    /// `ccs_resources{kind,ready}`: objects per kind and Ready status (`True`, `False`, `Unknown`).
    pub resources: IntGaugeVec,
    /// `ccs_contract_consumption{namespace,name,contract_id,currency}`: spend to date in the period.
    pub contract_consumption: GaugeVec,
    /// `ccs_contract_weather{namespace,name,contract_id}`: 0 Sunny, 1 Cloudy, 2 Rainy, 3 Stormy, -1 Unknown.
    pub contract_weather: IntGaugeVec,
    /// `ccs_contract_open_incidents{namespace,name,contract_id}`.
    pub contract_open_incidents: IntGaugeVec,
    /// `ccs_contract_last_sync_timestamp_seconds{namespace,name,contract_id}`.
    pub contract_last_sync: GaugeVec,
    /// `ccs_contract_open_requests{namespace,name,contract_id,state}`: open requests by state.
    pub contract_open_requests: IntGaugeVec,
    /// `ccs_budget_amount{namespace,name,contract_id,currency}`: the budget per period.
    pub budget_amount: GaugeVec,
    /// `ccs_budget_spend{namespace,name,contract_id,basis}`: actual or forecast spend (`basis`).
    pub budget_spend: GaugeVec,
    /// `ccs_budget_used_ratio{namespace,name,contract_id}`: actual spend / budget.
    pub budget_used_ratio: GaugeVec,
    /// `ccs_budget_forecast_ratio{namespace,name,contract_id}`: forecast spend / budget.
    pub budget_forecast_ratio: GaugeVec,
    /// `ccs_budget_threshold_ratio{namespace,name,contract_id,threshold,basis}`: threshold / budget.
    pub budget_threshold_ratio: GaugeVec,
    /// `ccs_budget_threshold_triggered{namespace,name,contract_id,threshold}`: 1 once crossed in the period.
    pub budget_threshold_triggered: IntGaugeVec,
    /// `ccs_orders{state}`: ServiceOrders per state.
    pub orders: IntGaugeVec,
    /// `ccs_order_pending_since_timestamp_seconds{namespace,name,contract_id}`: submission time of
    /// orders not final yet (removed once final).
    pub order_pending_since: GaugeVec,
    /// `ccs_emails_sent_total{kind}` (`budget`, `incident`, `order`).
    pub emails_sent: IntCounterVec,
    /// `ccs_emails_failed_total{kind}`.
    pub emails_failed: IntCounterVec,
    /// `ccs_leader`: 1 while this replica holds the leader lease.
    pub leader: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn int_gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let metric = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

const OBJECT: [&str; 3] = ["namespace", "name", "contract_id"];

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
        let threshold_labels = ["namespace", "name", "contract_id", "threshold", "basis"];
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
            resources: int_gauge(
                r,
                "ccs_resources",
                "Objects per kind and Ready status.",
                &["kind", "ready"],
            ),
            contract_consumption: gauge(
                r,
                "ccs_contract_consumption",
                "Consumption to date in the current billing period, in the contract currency.",
                &["namespace", "name", "contract_id", "currency"],
            ),
            contract_weather: int_gauge(
                r,
                "ccs_contract_weather",
                "Platform weather: 0 Sunny, 1 Cloudy, 2 Rainy, 3 Stormy, -1 Unknown.",
                &OBJECT,
            ),
            contract_open_incidents: int_gauge(
                r,
                "ccs_contract_open_incidents",
                "Open incidents on the contract.",
                &OBJECT,
            ),
            contract_open_requests: int_gauge(
                r,
                "ccs_contract_open_requests",
                "Open requests of the contract (ServiceOrders' and those made in the portal) by state.",
                &["namespace", "name", "contract_id", "state"],
            ),
            contract_last_sync: gauge(
                r,
                "ccs_contract_last_sync_timestamp_seconds",
                "Unix time of the last successful sync of the contract.",
                &OBJECT,
            ),
            budget_amount: gauge(
                r,
                "ccs_budget_amount",
                "Budget per period, in the budget currency.",
                &["namespace", "name", "contract_id", "currency"],
            ),
            budget_spend: gauge(
                r,
                "ccs_budget_spend",
                "Spend in the current period: actual to date or forecast for the period end.",
                &["namespace", "name", "contract_id", "basis"],
            ),
            budget_used_ratio: gauge(
                r,
                "ccs_budget_used_ratio",
                "Actual spend divided by the budget.",
                &OBJECT,
            ),
            budget_forecast_ratio: gauge(
                r,
                "ccs_budget_forecast_ratio",
                "Forecast spend at the period end divided by the budget.",
                &OBJECT,
            ),
            budget_threshold_ratio: gauge(
                r,
                "ccs_budget_threshold_ratio",
                "Threshold divided by the budget.",
                &threshold_labels,
            ),
            budget_threshold_triggered: int_gauge(
                r,
                "ccs_budget_threshold_triggered",
                "1 when the threshold was crossed in the current period.",
                &["namespace", "name", "contract_id", "threshold"],
            ),
            orders: int_gauge(r, "ccs_orders", "ServiceOrders per state.", &["state"]),
            order_pending_since: gauge(
                r,
                "ccs_order_pending_since_timestamp_seconds",
                "Unix time an order not final yet was submitted.",
                &OBJECT,
            ),
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
        };
        // Bounded label values start at 0, so the series exist (and `rate()` works) before the
        // first email of a kind is sent or fails.
        for kind in EMAIL_KINDS {
            metrics.emails_sent.with_label_values(&[kind]);
            metrics.emails_failed.with_label_values(&[kind]);
        }
        metrics
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
