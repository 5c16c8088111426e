//! The pure part of a CloudContract reconcile: status from the portal's dashboard, the referent
//! change to make (or the drift to report), and the incident emails due.

use crate::api::cloud_contract::{
    CloudContractSpec, CloudContractStatus, ConsumptionStatus, ContractManagementPolicy, IncidentSummary,
    IncidentsStatus, InvoiceSummary, NotifiedIncident, OpenRequests, Subscription, Weather,
};
use crate::api::cloud_contract::{MAX_NOTIFIED_INCIDENTS, MAX_SUBSCRIPTIONS};
use crate::api::common::{MAX_PORTAL_LONG_TEXT, MAX_PORTAL_TEXT, Money};
use crate::controllers::common::{bounded, count, id_key};
use crate::portal::{Dashboard, Incident, IncidentState};

/// Counts the open requests of a contract by state (`status.requests`).
pub fn open_requests(requests: &[crate::controllers::portal_access::RequestSummary]) -> OpenRequests {
    use crate::portal::RequestState as S;
    let mut open = OpenRequests::default();
    for r in requests.iter().filter(|r| !r.state.is_final()) {
        open.open += 1;
        match r.state {
            S::Transmitted => open.transmitted += 1,
            S::InProgress => open.in_progress += 1,
            _ => open.unknown += 1,
        }
    }
    open
}

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
    /// Incident emails due, and the memory to record before they leave.
    pub incidents: IncidentPlan,
}

/// The incident emails of one reconcile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentPlan {
    /// Incidents whose current state is due, most severe first (then most recently updated).
    pub due: Vec<Incident>,
    /// The memory to record before any email leaves: one entry per incident the portal still
    /// lists, `due` set on the incidents above.
    pub memory: Vec<NotifiedIncident>,
    /// New incidents not emailed because the memory holds [`MAX_NOTIFIED_INCIDENTS`] already
    /// (each is emailed once room is made, when older incidents leave the portal's list).
    pub untracked: usize,
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

    let incidents = match &spec.notifications {
        Some(n) => incident_plan(n.min_severity, &previous.notified_incidents, dashboard),
        None => IncidentPlan {
            memory: merged_memory(&previous.notified_incidents, dashboard),
            ..Default::default()
        },
    };
    ContractPlan {
        observed,
        actions,
        drift,
        incidents,
    }
}

/// The memory as recorded (possibly by an earlier release: one entry per emailed state, in
/// `state`), merged into one entry per incident id, without the incidents the portal no longer
/// lists, and with no email due.
fn merged_memory(previous: &[NotifiedIncident], dashboard: &Dashboard) -> Vec<NotifiedIncident> {
    let listed: std::collections::HashSet<String> = dashboard
        .platform_status
        .incidents
        .iter()
        .map(|i| id_key(&i.id))
        .collect();
    let mut memory: Vec<NotifiedIncident> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for entry in previous.iter().filter(|m| listed.contains(&m.id)) {
        let at = *index.entry(entry.id.clone()).or_insert_with(|| {
            memory.push(NotifiedIncident {
                id: entry.id.clone(),
                ..Default::default()
            });
            memory.len() - 1
        });
        let merged = &mut memory[at];
        for state in entry.states.iter().chain(entry.state.as_ref()) {
            if !merged.states.contains(state) && merged.states.len() < 4 {
                merged.states.push(state.clone());
            }
        }
    }
    memory.truncate(MAX_NOTIFIED_INCIDENTS);
    memory
}

/// Which incidents to email: those at or above `min_severity` whose current state was not
/// emailed yet. An incident seen for the first time already `Resolved` is not emailed (nobody
/// needs to hear of it); the memory is bounded, and an incident it cannot hold is not emailed
/// either (an email that cannot be recorded could be sent again at every poll).
pub fn incident_plan(
    min_severity: i32,
    previous: &[NotifiedIncident],
    dashboard: &Dashboard,
) -> IncidentPlan {
    let mut memory = merged_memory(previous, dashboard);
    let mut index: std::collections::HashMap<String, usize> = memory
        .iter()
        .enumerate()
        .map(|(at, m)| (m.id.clone(), at))
        .collect();
    let mut candidates: Vec<&Incident> = dashboard
        .platform_status
        .incidents
        .iter()
        .filter(|i| i32::from(i.severity) <= min_severity)
        .collect();
    candidates.sort_by(|a, b| {
        (a.severity, std::cmp::Reverse(a.updated_at), &a.id).cmp(&(
            b.severity,
            std::cmp::Reverse(b.updated_at),
            &b.id,
        ))
    });
    let mut due = Vec::new();
    let mut untracked = 0;
    for incident in candidates {
        let key = id_key(&incident.id);
        let state = state_name(incident.state);
        let at = match index.get(&key) {
            Some(&at) => at,
            None if incident.state == IncidentState::Resolved => continue,
            None if memory.len() >= MAX_NOTIFIED_INCIDENTS => {
                untracked += 1;
                continue;
            }
            None => {
                memory.push(NotifiedIncident {
                    id: key.clone(),
                    ..Default::default()
                });
                index.insert(key, memory.len() - 1);
                memory.len() - 1
            }
        };
        let entry = &mut memory[at];
        // The portal may list an id twice: one email per (incident, state) still.
        if entry.states.iter().any(|s| s == state) || entry.due.is_some() {
            continue;
        }
        entry.due = Some(state.to_string());
        due.push(incident.clone());
    }
    IncidentPlan {
        due,
        memory,
        untracked,
    }
}

/// Records in `memory` that the email of `incident`'s current state was sent.
pub fn mark_sent(memory: &mut [NotifiedIncident], incident: &Incident) {
    let key = id_key(&incident.id);
    let state = state_name(incident.state);
    if let Some(entry) = memory.iter_mut().find(|m| m.id == key) {
        if !entry.states.iter().any(|s| s == state) && entry.states.len() < 4 {
            entry.states.push(state.to_string());
        }
        if entry.due.as_deref() == Some(state) {
            entry.due = None;
        }
    }
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
