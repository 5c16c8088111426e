//! The state layer of the metrics, rebuilt from the caches: readiness per kind, consumption,
//! weather, incidents, budgets, orders. Derived from status, so deleted objects leave no series.

use super::context::Context;
use crate::api::budget_alert::ThresholdState;
use crate::api::cloud_contract::Weather;
use crate::api::service_order::OrderState;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

fn ready_label(conditions: Option<&Vec<Condition>>) -> &'static str {
    super::common::conditions::status_label(conditions.map_or(&[], |c| c.as_slice()), "Ready")
}

fn number(text: Option<&str>) -> Option<f64> {
    text.and_then(|t| f64::from_str(t).ok())
}

fn epoch(text: Option<&str>) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.timestamp() as f64)
}

/// Rebuilds every state gauge from the caches.
pub fn refresh(ctx: &Context) {
    let m = &ctx.metrics;
    let mut ready: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for g in [
        &m.contract_consumption,
        &m.contract_last_sync,
        &m.budget_amount,
        &m.budget_spend,
    ] {
        g.reset();
    }
    for g in [
        &m.budget_used_ratio,
        &m.budget_forecast_ratio,
        &m.budget_threshold_ratio,
        &m.order_pending_since,
    ] {
        g.reset();
    }
    for g in [
        &m.contract_weather,
        &m.contract_open_incidents,
        &m.contract_open_requests,
        &m.budget_threshold_triggered,
        &m.orders,
        &m.resources,
    ] {
        g.reset();
    }

    let contracts = ctx.stores.contracts.all();
    // Built per refresh from the live caches (nothing outlives a deleted object), so a lookup
    // per budget or order is not a scan of every contract.
    let ids: HashMap<(String, String), &str> = contracts
        .iter()
        .map(|c| {
            (
                (c.namespace().unwrap_or_default(), c.name_any()),
                c.spec.contract_id.as_str(),
            )
        })
        .collect();
    let contract_id_of = |ns: &str, name: &str| {
        ids.get(&(ns.to_string(), name.to_string()))
            .map(|id| id.to_string())
            .unwrap_or_default()
    };
    for c in &contracts {
        let status = c.status.as_ref();
        *ready
            .entry(("CloudContract", ready_label(status.map(|s| &s.conditions))))
            .or_default() += 1;
        let Some(status) = status else { continue };
        let (ns, name) = (c.namespace().unwrap_or_default(), c.name_any());
        let labels = [ns.as_str(), name.as_str(), c.spec.contract_id.as_str()];
        if let Some(consumption) = &status.consumption
            && let Some(amount) = number(Some(&consumption.amount))
        {
            m.contract_consumption
                .with_label_values(&[&ns, &name, &c.spec.contract_id, &consumption.currency])
                .set(amount);
        }
        if let Some(weather) = status.weather {
            let value = match weather {
                Weather::Sunny => 0,
                Weather::Cloudy => 1,
                Weather::Rainy => 2,
                Weather::Stormy => 3,
                Weather::Unknown => -1,
            };
            m.contract_weather.with_label_values(&labels).set(value);
        }
        if let Some(incidents) = &status.incidents {
            m.contract_open_incidents
                .with_label_values(&labels)
                .set(i64::from(incidents.open));
        }
        if let Some(requests) = &status.requests {
            for (state, n) in [
                ("Transmitted", requests.transmitted),
                ("InProgress", requests.in_progress),
                ("Unknown", requests.unknown),
            ] {
                let [ns, name, id] = labels;
                m.contract_open_requests
                    .with_label_values(&[ns, name, id, state])
                    .set(i64::from(n));
            }
        }
        if let Some(t) = epoch(status.last_sync_time.as_deref()) {
            m.contract_last_sync.with_label_values(&labels).set(t);
        }
    }

    for b in ctx.stores.budgets.all() {
        let status = b.status.as_ref();
        *ready
            .entry(("BudgetAlert", ready_label(status.map(|s| &s.conditions))))
            .or_default() += 1;
        let (ns, name) = (b.namespace().unwrap_or_default(), b.name_any());
        let contract_id = contract_id_of(&ns, &b.spec.contract);
        let labels = [ns.as_str(), name.as_str(), contract_id.as_str()];
        let Some(budget) = number(Some(&b.spec.amount)).filter(|a| *a > 0.0) else {
            continue;
        };
        m.budget_amount
            .with_label_values(&[&ns, &name, &contract_id, &b.spec.currency])
            .set(budget);
        for t in &b.spec.thresholds {
            let value = t
                .percent
                .map(|p| f64::from(p) / 100.0)
                .or_else(|| number(t.amount.as_deref()).map(|a| a / budget));
            let basis = format!("{:?}", t.basis);
            if let Some(ratio) = value {
                m.budget_threshold_ratio
                    .with_label_values(&[&ns, &name, &contract_id, &t.name, &basis])
                    .set(ratio);
            }
        }
        let Some(status) = status else { continue };
        if let Some(actual) = number(status.actual.as_deref()) {
            m.budget_spend
                .with_label_values(&[&ns, &name, &contract_id, "actual"])
                .set(actual);
            m.budget_used_ratio
                .with_label_values(&labels)
                .set(actual / budget);
        }
        if let Some(forecast) = number(status.forecast.as_deref()) {
            m.budget_spend
                .with_label_values(&[&ns, &name, &contract_id, "forecast"])
                .set(forecast);
            m.budget_forecast_ratio
                .with_label_values(&labels)
                .set(forecast / budget);
        }
        for t in &status.thresholds {
            let crossed = i64::from(t.state != ThresholdState::Armed && t.suppressed_by.is_none());
            m.budget_threshold_triggered
                .with_label_values(&[&ns, &name, &contract_id, &t.name])
                .set(crossed);
        }
    }

    for u in ctx.stores.users.all() {
        *ready
            .entry((
                "PortalUser",
                ready_label(u.status.as_ref().map(|s| &s.conditions)),
            ))
            .or_default() += 1;
    }

    for c in ctx.stores.consoles.all() {
        *ready
            .entry((
                "ConsoleAccess",
                ready_label(c.status.as_ref().map(|s| &s.conditions)),
            ))
            .or_default() += 1;
    }

    // Every state is a series, 0 when no order is in it.
    for state in [
        OrderState::Pending,
        OrderState::Submitted,
        OrderState::InProgress,
        OrderState::Completed,
        OrderState::Rejected,
        OrderState::Cancelled,
    ] {
        m.orders.with_label_values(&[&format!("{state:?}")]).set(0);
    }
    for o in ctx.stores.orders.all() {
        let status = o.status.as_ref();
        *ready
            .entry(("ServiceOrder", ready_label(status.map(|s| &s.conditions))))
            .or_default() += 1;
        let state = status.and_then(|s| s.state).unwrap_or(OrderState::Pending);
        m.orders.with_label_values(&[&format!("{state:?}")]).inc();
        let final_state = matches!(
            state,
            OrderState::Completed | OrderState::Rejected | OrderState::Cancelled
        );
        if let (false, Some(t)) = (final_state, epoch(status.and_then(|s| s.submitted_at.as_deref()))) {
            let (ns, name) = (o.namespace().unwrap_or_default(), o.name_any());
            let contract_id = contract_id_of(&ns, &o.spec.contract);
            m.order_pending_since
                .with_label_values(&[&ns, &name, &contract_id])
                .set(t);
        }
    }

    for ((kind, status), count) in ready {
        m.resources.with_label_values(&[kind, status]).set(count);
    }
}
