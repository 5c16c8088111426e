//! The pure part of a CloudContract reconcile: status from the portal's dashboard, the referent
//! change to make (or the drift to report), and the incident emails due.

use crate::api::cloud_contract::{
    CloudContractSpec, CloudContractStatus, ConsumptionStatus, ContractManagementPolicy, IncidentSummary,
    IncidentsStatus, InvoiceSummary, NotifiedIncident, Subscription, Weather,
};
use crate::api::cloud_contract::{MAX_NOTIFIED_INCIDENTS, MAX_SUBSCRIPTIONS};
use crate::api::common::{MAX_PORTAL_LONG_TEXT, MAX_PORTAL_TEXT, Money};
use crate::controllers::common::{bounded, count, id_key};
use crate::portal::{Dashboard, Incident, IncidentState};

/// How many of the most severe open incidents the status lists.
const MOST_SEVERE: usize = 5;

/// A write to the portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContractAction {
    /// Make `email` the referent.
    ChangeReferent {
        /// The new referent.
        email: String,
        /// Whether the previous referent loses access.
        remove_previous: bool,
    },
}

/// What the reconcile should do and write.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractPlan {
    /// Status fields read from the portal (conditions are the driver's).
    pub observed: CloudContractStatus,
    /// Portal writes to make.
    pub actions: Vec<ContractAction>,
    /// With `ObserveOnly`, the difference the operator would have corrected.
    pub drift: Option<String>,
    /// Incidents to email, with the state to record once sent.
    pub incident_notices: Vec<Incident>,
}

/// Plans a reconcile. `previous` is the status last written (for the incident memory).
pub fn plan(spec: &CloudContractSpec, previous: &CloudContractStatus, dashboard: &Dashboard) -> ContractPlan {
    let contract = &dashboard.contract;
    let status = &dashboard.platform_status;
    let mut open: Vec<&Incident> = status
        .incidents
        .iter()
        .filter(|i| i.state != IncidentState::Resolved)
        .collect();
    open.sort_by_key(|i| (i.severity, std::cmp::Reverse(i.updated_at)));
    // Every string and list from the portal is cut to the CRD's bounds: whatever the portal
    // returns, the status write must succeed.
    let text = |s: &str| Some(bounded(s, MAX_PORTAL_TEXT));
    let observed = CloudContractStatus {
        contract_name: text(&contract.name),
        customer: text(&contract.customer),
        referent: text(&contract.referent.email),
        console_url: Some(bounded(&contract.console_url, MAX_PORTAL_LONG_TEXT)),
        weather: Some(weather(status.weather)),
        weather_summary: Some(bounded(&status.summary, MAX_PORTAL_LONG_TEXT)),
        incidents: Some(IncidentsStatus {
            open: count(open.len()),
            most_severe: open
                .iter()
                .take(MOST_SEVERE)
                .map(|i| incident_summary(i))
                .collect(),
        }),
        consumption: dashboard.consumption.as_ref().map(|c| ConsumptionStatus {
            amount: bounded(&c.amount_to_date, 64),
            currency: bounded(&c.currency, 16),
            period_start: c.period_start.to_string(),
            data_as_of: crate::controllers::common::timestamp(c.data_as_of),
        }),
        subscriptions: contract
            .subscriptions
            .iter()
            .take(MAX_SUBSCRIPTIONS)
            .map(|s| Subscription {
                id: bounded(&s.id, MAX_PORTAL_TEXT),
                service: bounded(&s.service, MAX_PORTAL_TEXT),
                region: s.region.as_deref().map(|r| bounded(r, MAX_PORTAL_TEXT)),
                state: bounded(&s.state, MAX_PORTAL_TEXT),
            })
            .collect(),
        subscriptions_omitted: (contract.subscriptions.len() > MAX_SUBSCRIPTIONS)
            .then(|| count(contract.subscriptions.len() - MAX_SUBSCRIPTIONS)),
        invoices: dashboard
            .latest_bills
            .iter()
            .flatten()
            .take(12)
            .map(|b| InvoiceSummary {
                id: bounded(&b.id, MAX_PORTAL_TEXT),
                period: bounded(&b.period, MAX_PORTAL_TEXT),
                amount: Money {
                    amount: bounded(&b.amount, 64),
                    currency: bounded(&b.currency, 16),
                },
                status: format!("{:?}", b.status),
            })
            .collect(),
        invoice_contact: text(&contract.invoice_contact),
        user_count: Some(i32::try_from(contract.user_count).unwrap_or(i32::MAX)),
        ..Default::default()
    };

    let mut actions = Vec::new();
    let mut drift = None;
    if let Some(wanted) = &spec.referent
        && !wanted.email.eq_ignore_ascii_case(&contract.referent.email)
    {
        match spec.management_policy {
            ContractManagementPolicy::Full => actions.push(ContractAction::ChangeReferent {
                email: wanted.email.clone(),
                remove_previous: wanted.remove_previous_access,
            }),
            ContractManagementPolicy::ObserveOnly => {
                drift = Some(format!(
                    "spec.referent.email is {} but the portal's referent is {}; managementPolicy ObserveOnly leaves it",
                    wanted.email, contract.referent.email
                ))
            }
        }
    }

    let incident_notices = match &spec.notifications {
        Some(n) => status
            .incidents
            .iter()
            .filter(|i| i32::from(i.severity) <= n.min_severity)
            .filter(|i| {
                !previous
                    .notified_incidents
                    .iter()
                    .any(|m| m.id == id_key(&i.id) && m.state == state_name(i.state))
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    ContractPlan {
        observed,
        actions,
        drift,
        incident_notices,
    }
}

/// The incident memory to record: emailed states of incidents the portal still reports.
pub fn remember_incidents(
    previous: &[NotifiedIncident],
    sent: &[Incident],
    dashboard: &Dashboard,
) -> Vec<NotifiedIncident> {
    let present = |id: &str| {
        dashboard
            .platform_status
            .incidents
            .iter()
            .any(|i| id_key(&i.id) == id)
    };
    let mut memory: Vec<NotifiedIncident> = previous.iter().filter(|m| present(&m.id)).cloned().collect();
    memory.extend(sent.iter().map(|i| NotifiedIncident {
        id: id_key(&i.id),
        state: state_name(i.state).into(),
    }));
    memory.dedup();
    let excess = memory.len().saturating_sub(MAX_NOTIFIED_INCIDENTS);
    memory.drain(..excess);
    memory
}

/// The name of an incident state, as written in status and emails.
pub fn state_name(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Open => "Open",
        IncidentState::InProgress => "InProgress",
        IncidentState::Resolved => "Resolved",
        IncidentState::Unknown => "Unknown",
    }
}

fn incident_summary(i: &Incident) -> IncidentSummary {
    IncidentSummary {
        id: bounded(&i.id, MAX_PORTAL_TEXT),
        title: bounded(&i.title, MAX_PORTAL_TEXT),
        severity: i32::from(i.severity.clamp(1, 4)),
        state: state_name(i.state).into(),
        opened: crate::controllers::common::timestamp(i.opened_at),
        updated: crate::controllers::common::timestamp(i.updated_at),
    }
}

/// The API's weather from the portal's.
pub fn weather(w: crate::portal::Weather) -> Weather {
    use crate::portal::Weather as P;
    match w {
        P::Sunny => Weather::Sunny,
        P::Cloudy => Weather::Cloudy,
        P::Rainy => Weather::Rainy,
        P::Stormy => Weather::Stormy,
        P::Unknown => Weather::Unknown,
    }
}

#[cfg(test)]
mod tests;
