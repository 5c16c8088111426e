//! The pure part of a CloudContract reconcile: status from the portal's dashboard, the referent
//! change to make (or the drift to report), and the incident emails due.

use crate::api::cloud_contract::{
    CloudContractSpec, CloudContractStatus, ConsumptionStatus, ContractManagementPolicy, IncidentSummary,
    IncidentsStatus, InvoiceSummary, NotifiedIncident, Subscription, Weather,
};
use crate::api::common::Money;
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
    let observed = CloudContractStatus {
        contract_name: Some(contract.name.clone()),
        customer: Some(contract.customer.clone()),
        referent: Some(contract.referent.email.clone()),
        console_url: Some(contract.console_url.clone()),
        weather: Some(weather(status.weather)),
        weather_summary: Some(status.summary.clone()),
        incidents: Some(IncidentsStatus {
            open: open.len() as i32,
            most_severe: open
                .iter()
                .take(MOST_SEVERE)
                .map(|i| incident_summary(i))
                .collect(),
        }),
        consumption: dashboard.consumption.as_ref().map(|c| ConsumptionStatus {
            amount: c.amount_to_date.clone(),
            currency: c.currency.clone(),
            period_start: c.period_start.to_string(),
            data_as_of: crate::controllers::common::timestamp(c.data_as_of),
        }),
        subscriptions: contract
            .subscriptions
            .iter()
            .map(|s| Subscription {
                id: s.id.clone(),
                service: s.service.clone(),
                region: s.region.clone(),
                state: s.state.clone(),
            })
            .collect(),
        invoices: dashboard
            .latest_bills
            .iter()
            .flatten()
            .take(12)
            .map(|b| InvoiceSummary {
                id: b.id.clone(),
                period: b.period.clone(),
                amount: Money {
                    amount: b.amount.clone(),
                    currency: b.currency.clone(),
                },
                status: format!("{:?}", b.status),
            })
            .collect(),
        invoice_contact: Some(contract.invoice_contact.clone()),
        user_count: Some(contract.user_count as i32),
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
                    .any(|m| m.id == i.id && m.state == state_name(i.state))
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
    let present = |id: &str| dashboard.platform_status.incidents.iter().any(|i| i.id == id);
    let mut memory: Vec<NotifiedIncident> = previous.iter().filter(|m| present(&m.id)).cloned().collect();
    memory.extend(sent.iter().map(|i| NotifiedIncident {
        id: i.id.clone(),
        state: state_name(i.state).into(),
    }));
    memory.dedup();
    let excess = memory.len().saturating_sub(100);
    memory.drain(..excess);
    memory
}

/// The name of an incident state, as written in status and emails.
pub fn state_name(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Open => "Open",
        IncidentState::InProgress => "InProgress",
        IncidentState::Resolved => "Resolved",
    }
}

fn incident_summary(i: &Incident) -> IncidentSummary {
    IncidentSummary {
        id: i.id.clone(),
        title: i.title.clone(),
        severity: i32::from(i.severity),
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
    }
}

#[cfg(test)]
mod tests;
