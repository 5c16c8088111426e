//! The state layer of the metrics, written from the caches at scrape time: readiness per kind,
//! consumption, weather, incidents, budgets, orders. Derived from status, so deleted objects leave
//! no series; nothing is kept per object between scrapes, and a scrape never sees a half-rebuilt
//! layer.

mod text;

use super::stores::{KindStores, Stores};
use crate::api::budget_alert::ThresholdState;
use crate::api::cloud_contract::Weather;
use crate::api::service_order::OrderState;
use crate::api::{BudgetAlert, CloudContract, ConsoleAccess, PortalUser, ServiceOrder};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use text::Family;

const OBJECT: &[&str] = &["namespace", "name", "contract_id"];

fn ready_label(conditions: Option<&Vec<Condition>>) -> &'static str {
    super::common::conditions::status_label(conditions.map_or(&[], |c| c.as_slice()), "Ready")
}

fn number(text: Option<&str>) -> Option<f64> {
    text.and_then(|t| f64::from_str(t).ok()).filter(|n| n.is_finite())
}

fn epoch(text: Option<&str>) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.timestamp() as f64)
}

fn meta(m: &kube::core::ObjectMeta) -> (&str, &str) {
    (
        m.namespace.as_deref().unwrap_or_default(),
        m.name.as_deref().unwrap_or_default(),
    )
}

/// The caches the state layer reads.
pub struct StateSources {
    contracts: KindStores<CloudContract>,
    users: KindStores<PortalUser>,
    budgets: KindStores<BudgetAlert>,
    orders: KindStores<ServiceOrder>,
    consoles: KindStores<ConsoleAccess>,
}

/// The state layer's renderer for [`crate::metrics::Metrics::set_state`].
pub fn renderer(stores: &Stores) -> crate::metrics::StateRenderer {
    let sources = StateSources {
        contracts: stores.contracts.clone(),
        users: stores.users.clone(),
        budgets: stores.budgets.clone(),
        orders: stores.orders.clone(),
        consoles: stores.consoles.clone(),
    };
    std::sync::Arc::new(move |out| render(&sources, out))
}

/// Objects per kind and Ready status, for `ccs_resources`.
type ReadyCounts = BTreeMap<(&'static str, &'static str), u64>;

/// Contract ids by (namespace, CloudContract name): built per scrape from the live cache (nothing
/// outlives a deleted object), so a lookup per budget or order is not a scan of every contract.
type ContractIds<'a> = HashMap<(&'a str, &'a str), &'a str>;

fn contract_id<'a>(ids: &ContractIds<'a>, ns: &str, name: &str) -> &'a str {
    ids.get(&(ns, name)).copied().unwrap_or_default()
}

/// Appends every state family, in the text format, to `out`.
pub fn render(stores: &StateSources, out: &mut String) {
    let mut ready = ReadyCounts::new();
    let contracts = stores.contracts.all();
    let ids: ContractIds = contracts
        .iter()
        .map(|c| (meta(&c.metadata), c.spec.contract_id.as_str()))
        .collect();
    contract_families(&contracts, &mut ready, out);
    budget_families(&stores.budgets.all(), &ids, &mut ready, out);
    for u in stores.users.all() {
        count_ready(&mut ready, "PortalUser", u.status.as_ref().map(|s| &s.conditions));
    }
    for c in stores.consoles.all() {
        count_ready(
            &mut ready,
            "ConsoleAccess",
            c.status.as_ref().map(|s| &s.conditions),
        );
    }
    order_families(&stores.orders.all(), &ids, &mut ready, out);
    let mut resources = Family::new(
        "ccs_resources",
        "Objects per kind and Ready status.",
        &["kind", "ready"],
    );
    for ((kind, status), n) in ready {
        resources.sample(&[kind, status], n as f64);
    }
    resources.write_to(out);
}

fn count_ready(ready: &mut ReadyCounts, kind: &'static str, conditions: Option<&Vec<Condition>>) {
    *ready.entry((kind, ready_label(conditions))).or_default() += 1;
}

/// The `ccs_contract_*` families.
fn contract_families(contracts: &[std::sync::Arc<CloudContract>], ready: &mut ReadyCounts, out: &mut String) {
    let mut consumption = Family::new(
        "ccs_contract_consumption",
        "Consumption to date in the current billing period, in the contract currency.",
        &["namespace", "name", "contract_id", "currency"],
    );
    let mut weather = Family::new(
        "ccs_contract_weather",
        "Platform weather: 0 Sunny, 1 Cloudy, 2 Rainy, 3 Stormy, -1 Unknown.",
        OBJECT,
    );
    let mut incidents = Family::new(
        "ccs_contract_open_incidents",
        "Open incidents on the contract.",
        OBJECT,
    );
    let mut requests = Family::new(
        "ccs_contract_open_requests",
        "Open requests of the contract (ServiceOrders' and those made in the portal) by state.",
        &["namespace", "name", "contract_id", "state"],
    );
    let mut last_sync = Family::new(
        "ccs_contract_last_sync_timestamp_seconds",
        "Unix time of the last successful sync of the contract.",
        OBJECT,
    );
    for c in contracts {
        let status = c.status.as_ref();
        count_ready(ready, "CloudContract", status.map(|s| &s.conditions));
        let Some(status) = status else { continue };
        let (ns, name) = meta(&c.metadata);
        let id = c.spec.contract_id.as_str();
        let labels = [ns, name, id];
        if let Some(spent) = &status.consumption
            && let Some(amount) = number(Some(&spent.amount))
        {
            consumption.sample(&[ns, name, id, &spent.currency], amount);
        }
        if let Some(w) = status.weather {
            let value = match w {
                Weather::Sunny => 0.0,
                Weather::Cloudy => 1.0,
                Weather::Rainy => 2.0,
                Weather::Stormy => 3.0,
                Weather::Unknown => -1.0,
            };
            weather.sample(&labels, value);
        }
        if let Some(open) = &status.incidents {
            incidents.sample(&labels, f64::from(open.open));
        }
        if let Some(open) = &status.requests {
            for (state, n) in [
                ("Transmitted", open.transmitted),
                ("InProgress", open.in_progress),
                ("Unknown", open.unknown),
            ] {
                requests.sample(&[ns, name, id, state], f64::from(n));
            }
        }
        if let Some(t) = epoch(status.last_sync_time.as_deref()) {
            last_sync.sample(&labels, t);
        }
    }
    for family in [&consumption, &weather, &incidents, &requests, &last_sync] {
        family.write_to(out);
    }
}

/// The `ccs_budget_*` families.
fn budget_families(
    budgets: &[std::sync::Arc<BudgetAlert>],
    ids: &ContractIds,
    ready: &mut ReadyCounts,
    out: &mut String,
) {
    let mut amount = Family::new(
        "ccs_budget_amount",
        "Budget per period, in the budget currency.",
        &["namespace", "name", "contract_id", "currency"],
    );
    let mut spend = Family::new(
        "ccs_budget_spend",
        "Spend in the current period: actual to date or forecast for the period end.",
        &["namespace", "name", "contract_id", "basis"],
    );
    let mut used = Family::new(
        "ccs_budget_used_ratio",
        "Actual spend divided by the budget.",
        OBJECT,
    );
    let mut forecast_ratio = Family::new(
        "ccs_budget_forecast_ratio",
        "Forecast spend at the period end divided by the budget.",
        OBJECT,
    );
    let mut threshold_ratio = Family::new(
        "ccs_budget_threshold_ratio",
        "Threshold divided by the budget.",
        &["namespace", "name", "contract_id", "threshold", "basis"],
    );
    let mut triggered = Family::new(
        "ccs_budget_threshold_triggered",
        "1 when the threshold was crossed in the current period.",
        &["namespace", "name", "contract_id", "threshold"],
    );
    for b in budgets {
        let status = b.status.as_ref();
        count_ready(ready, "BudgetAlert", status.map(|s| &s.conditions));
        let (ns, name) = meta(&b.metadata);
        let id = contract_id(ids, ns, &b.spec.contract);
        let labels = [ns, name, id];
        let Some(budget) = number(Some(&b.spec.amount)).filter(|a| *a > 0.0) else {
            continue;
        };
        amount.sample(&[ns, name, id, &b.spec.currency], budget);
        for t in &b.spec.thresholds {
            let value = t
                .percent
                .map(|p| f64::from(p) / 100.0)
                .or_else(|| number(t.amount.as_deref()).map(|a| a / budget));
            if let Some(ratio) = value {
                let basis = format!("{:?}", t.basis);
                threshold_ratio.sample(&[ns, name, id, &t.name, &basis], ratio);
            }
        }
        let Some(status) = status else { continue };
        if let Some(actual) = number(status.actual.as_deref()) {
            spend.sample(&[ns, name, id, "actual"], actual);
            used.sample(&labels, actual / budget);
        }
        if let Some(forecast) = number(status.forecast.as_deref()) {
            spend.sample(&[ns, name, id, "forecast"], forecast);
            forecast_ratio.sample(&labels, forecast / budget);
        }
        for t in &status.thresholds {
            let crossed = t.state != ThresholdState::Armed && t.suppressed_by.is_none();
            triggered.sample(&[ns, name, id, &t.name], if crossed { 1.0 } else { 0.0 });
        }
    }
    for family in [
        &amount,
        &spend,
        &used,
        &forecast_ratio,
        &threshold_ratio,
        &triggered,
    ] {
        family.write_to(out);
    }
}

/// `ccs_orders` and `ccs_order_pending_since_timestamp_seconds`.
fn order_families(
    orders: &[std::sync::Arc<ServiceOrder>],
    ids: &ContractIds,
    ready: &mut ReadyCounts,
    out: &mut String,
) {
    // Every state is a series, 0 when no order is in it.
    let mut per_state: BTreeMap<&str, u64> = [
        "Pending",
        "Submitted",
        "InProgress",
        "Completed",
        "Rejected",
        "Cancelled",
    ]
    .into_iter()
    .map(|s| (s, 0))
    .collect();
    let mut pending_since = Family::new(
        "ccs_order_pending_since_timestamp_seconds",
        "Unix time an order not final yet was submitted.",
        OBJECT,
    );
    for o in orders {
        let status = o.status.as_ref();
        count_ready(ready, "ServiceOrder", status.map(|s| &s.conditions));
        let state = status.and_then(|s| s.state).unwrap_or(OrderState::Pending);
        *per_state.entry(order_state_label(state)).or_default() += 1;
        let final_state = matches!(
            state,
            OrderState::Completed | OrderState::Rejected | OrderState::Cancelled
        );
        if let (false, Some(t)) = (final_state, epoch(status.and_then(|s| s.submitted_at.as_deref()))) {
            let (ns, name) = meta(&o.metadata);
            pending_since.sample(&[ns, name, contract_id(ids, ns, &o.spec.contract)], t);
        }
    }
    let mut order_states = Family::new("ccs_orders", "ServiceOrders per state.", &["state"]);
    for (state, n) in per_state {
        order_states.sample(&[state], n as f64);
    }
    for family in [&pending_since, &order_states] {
        family.write_to(out);
    }
}

fn order_state_label(state: OrderState) -> &'static str {
    match state {
        OrderState::Pending => "Pending",
        OrderState::Submitted => "Submitted",
        OrderState::InProgress => "InProgress",
        OrderState::Completed => "Completed",
        OrderState::Rejected => "Rejected",
        OrderState::Cancelled => "Cancelled",
    }
}
