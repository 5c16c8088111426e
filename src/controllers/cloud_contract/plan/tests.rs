use super::*;
use crate::api::cloud_contract::{IncidentNotifications, Offer, ReferentSpec};
use crate::api::common::CredentialsSecretRef;
use serde_json::json;

fn dashboard(incidents: serde_json::Value) -> Dashboard {
    serde_json::from_value(json!({
        "contract": {
            "id": "FE-0001", "name": "Acme production", "offer": "FE", "customer": "Acme SA",
            "referent": {"accountId": "u1", "email": "ref@acme.example"},
            "consoleUrl": "https://console.example/fe", "invoiceContact": "billing@acme.example",
            "currency": "EUR", "regions": ["eu-west-0"],
            "subscriptions": [{"id": "s1", "service": "ECS", "region": "eu-west-0", "state": "Active"}],
            "userCount": 7
        },
        "platformStatus": {
            "contractId": "FE-0001", "weather": "Rainy", "summary": "1 major incident", "regions": [],
            "incidents": incidents, "checkedAt": "2026-11-25T10:00:00Z"
        },
        "consumption": {
            "contractId": "FE-0001", "currency": "EUR", "periodStart": "2026-11-01", "periodEnd": "2026-11-30",
            "amountToDate": "1234.50", "dataAsOf": "2026-11-25T09:00:00Z", "daily": []
        },
        "latestBills": [{"id": "B-10", "period": "2026-10", "issuedAt": "2026-11-02", "dueAt": "2026-12-02",
                         "amount": "3100.00", "currency": "EUR", "status": "Issued"}]
    }))
    .expect("dashboard fixture matches the portal model")
}

fn incident(id: &str, severity: u8, state: &str) -> serde_json::Value {
    json!({"id": id, "title": format!("incident {id}"), "platform": "FE", "region": "eu-west-0",
           "severity": severity, "state": state,
           "openedAt": "2026-11-25T08:00:00Z", "updatedAt": "2026-11-25T09:00:00Z"})
}

fn spec() -> CloudContractSpec {
    CloudContractSpec {
        contract_id: "FE-0001".into(),
        offer: Offer::FlexibleEngine,
        credentials_secret_ref: CredentialsSecretRef {
            name: "creds".into(),
            client_id_key: "clientId".into(),
            client_secret_key: "clientSecret".into(),
            api_key_key: "apiKey".into(),
        },
        endpoint: None,
        referent: None,
        notifications: Some(IncidentNotifications {
            recipients: vec!["ops@acme.example".into()],
            min_severity: 2,
        }),
        management_policy: ContractManagementPolicy::Full,
    }
}

#[test]
fn status_reflects_the_dashboard() {
    let d = dashboard(json!([
        incident("I-1", 3, "Open"),
        incident("I-2", 2, "InProgress"),
        incident("I-3", 1, "Resolved")
    ]));
    let p = plan(&spec(), &CloudContractStatus::default(), &d);
    let s = &p.observed;
    assert_eq!(s.contract_name.as_deref(), Some("Acme production"));
    assert_eq!(s.weather, Some(Weather::Rainy));
    let incidents = s.incidents.as_ref().expect("incidents");
    assert_eq!(incidents.open, 2, "resolved incidents are not open");
    assert_eq!(incidents.most_severe[0].id, "I-2", "most severe first");
    assert_eq!(s.consumption.as_ref().expect("consumption").amount, "1234.50");
    assert_eq!(s.invoices[0].amount.amount, "3100.00");
    assert_eq!(s.user_count, Some(7));
    assert!(p.actions.is_empty());
}

/// The memory after every due email was sent.
fn all_sent(p: &ContractPlan) -> Vec<NotifiedIncident> {
    let mut memory = p.incidents.memory.clone();
    for incident in &p.incidents.due {
        mark_sent(&mut memory, incident);
    }
    memory
}

fn with_memory(memory: Vec<NotifiedIncident>) -> CloudContractStatus {
    CloudContractStatus {
        notified_incidents: memory,
        ..Default::default()
    }
}

fn due_ids(p: &ContractPlan) -> Vec<&str> {
    p.incidents.due.iter().map(|i| i.id.as_str()).collect()
}

#[test]
fn incidents_at_or_above_the_minimum_severity_are_emailed_once_per_state() {
    let d = dashboard(json!([
        incident("I-1", 3, "Open"),
        incident("I-2", 2, "Open"),
        incident("I-3", 1, "Resolved")
    ]));
    let first = plan(&spec(), &CloudContractStatus::default(), &d);
    assert_eq!(
        due_ids(&first),
        ["I-2"],
        "severity 3 is below the minimum of 2; I-3 was resolved when first seen"
    );
    assert_eq!(
        first.incidents.memory,
        [NotifiedIncident {
            id: "I-2".into(),
            due: Some("Open".into()),
            ..Default::default()
        }],
        "the due email is on record before it leaves"
    );

    let memory = all_sent(&first);
    assert_eq!(memory[0].states, ["Open"]);
    assert_eq!(memory[0].due, None);
    assert!(
        plan(&spec(), &with_memory(memory.clone()), &d)
            .incidents
            .due
            .is_empty(),
        "nothing new"
    );

    let progressed = dashboard(json!([incident("I-2", 2, "InProgress")]));
    let next = plan(&spec(), &with_memory(memory.clone()), &progressed);
    assert_eq!(due_ids(&next), ["I-2"], "a state change is emailed");
    let memory = all_sent(&next);
    assert_eq!(memory.len(), 1, "one entry per incident: {memory:?}");
    assert_eq!(memory[0].states, ["Open", "InProgress"]);

    let gone = plan(&spec(), &with_memory(memory), &dashboard(json!([])));
    assert!(
        gone.incidents.memory.is_empty(),
        "incidents gone from the portal are forgotten"
    );
}

#[test]
fn a_flapping_incident_is_emailed_once_per_state_and_no_entry_is_ever_dropped() {
    let n = MAX_NOTIFIED_INCIDENTS;
    let listing = |state: &str| {
        dashboard(serde_json::Value::Array(
            (0..n).map(|k| incident(&format!("I-{k}"), 1, state)).collect(),
        ))
    };
    let mut memory = Vec::new();
    let mut emailed = std::collections::HashMap::<(String, String), usize>::new();
    for poll in 0..10 {
        let state = if poll % 2 == 0 { "Open" } else { "Resolved" };
        let p = plan(&spec(), &with_memory(memory.clone()), &listing(state));
        for i in &p.incidents.due {
            *emailed
                .entry((i.id.clone(), state_name(i.state).into()))
                .or_default() += 1;
        }
        memory = all_sent(&p);
        assert_eq!(memory.len(), n, "poll {poll}: one entry per incident");
    }
    assert_eq!(emailed.len(), 2 * n, "every (incident, state) emailed");
    assert!(emailed.values().all(|&k| k == 1), "none twice");

    // One incident more than the memory holds: not emailed (it could not be recorded), and the
    // others are not forgotten for it.
    let mut incidents: Vec<_> = (0..n)
        .map(|k| incident(&format!("I-{k}"), 1, "Resolved"))
        .collect();
    incidents.push(incident("I-new", 1, "Open"));
    let p = plan(
        &spec(),
        &with_memory(memory.clone()),
        &dashboard(serde_json::Value::Array(incidents)),
    );
    assert!(p.incidents.due.is_empty());
    assert_eq!(p.incidents.untracked, 1);
    assert_eq!(p.incidents.memory.len(), n);
}

#[test]
fn the_memory_of_earlier_releases_is_read_one_entry_per_id() {
    let legacy: Vec<NotifiedIncident> = serde_json::from_value(json!([
        {"id": "I-2", "state": "Open"}, {"id": "I-2", "state": "InProgress"}, {"id": "I-9", "state": "Open"}
    ]))
    .expect("legacy memory");
    let d = dashboard(json!([incident("I-2", 2, "InProgress")]));
    let p = plan(&spec(), &with_memory(legacy), &d);
    assert!(
        p.incidents.due.is_empty(),
        "already emailed by the earlier release"
    );
    assert_eq!(
        p.incidents.memory,
        [NotifiedIncident {
            id: "I-2".into(),
            states: vec!["Open".into(), "InProgress".into()],
            ..Default::default()
        }]
    );
    let written = serde_json::to_value(&p.incidents.memory).expect("json");
    assert_eq!(written, json!([{"id": "I-2", "states": ["Open", "InProgress"]}]));
}

#[test]
fn long_or_unusual_incident_ids_are_remembered_by_digest_and_listed_twice_emailed_once() {
    let long = "I".repeat(300);
    let d = dashboard(json!([
        incident(&long, 1, "Open"),
        incident(&long, 1, "Open"),
        incident("I 2/x", 1, "Open")
    ]));
    let p = plan(&spec(), &CloudContractStatus::default(), &d);
    assert_eq!(p.incidents.due.len(), 2);
    assert!(
        p.incidents
            .memory
            .iter()
            .all(|m| m.id.starts_with('h') && m.id.len() == 33),
        "{:?}",
        p.incidents.memory
    );
}

#[test]
fn a_declared_referent_is_changed_or_reported_as_drift() {
    let d = dashboard(json!([]));
    let mut s = spec();
    s.referent = Some(ReferentSpec {
        email: "new@acme.example".into(),
        remove_previous_access: true,
    });
    let p = plan(&s, &CloudContractStatus::default(), &d);
    assert_eq!(
        p.actions,
        [ContractAction::ChangeReferent {
            email: "new@acme.example".into(),
            remove_previous: true
        }]
    );

    s.management_policy = ContractManagementPolicy::ObserveOnly;
    let p = plan(&s, &CloudContractStatus::default(), &d);
    assert!(p.actions.is_empty());
    assert!(
        p.drift
            .expect("drift")
            .contains("spec.referent.email is new@acme.example")
    );

    s.referent = Some(ReferentSpec {
        email: "REF@acme.example".into(),
        remove_previous_access: false,
    });
    s.management_policy = ContractManagementPolicy::Full;
    assert!(
        plan(&s, &CloudContractStatus::default(), &d).actions.is_empty(),
        "emails compare case-insensitively"
    );
}

#[test]
fn open_requests_count_every_request_not_final_by_state() {
    let request = |state: &str| -> crate::portal::ServiceRequest {
        serde_json::from_value(json!({
            "id": "R1", "contractId": "C", "customerReference": "x", "type": "Order",
            "catalogItem": "FE-ECS", "quantity": 1, "parameters": {}, "state": state,
            "submittedAt": "2026-11-25T00:00:00Z", "updatedAt": "2026-11-25T00:00:00Z", "history": []
        }))
        .expect("a request")
    };
    let all: Vec<_> = [
        "Transmitted",
        "InProgress",
        "InProgress",
        "Completed",
        "Cancelled",
        "Rejected",
        "Paused",
    ]
    .into_iter()
    .map(request)
    .map(crate::controllers::portal_access::RequestSummary::from)
    .collect();
    assert_eq!(
        open_requests(&all),
        OpenRequests {
            open: 4,
            transmitted: 1,
            in_progress: 2,
            unknown: 1
        }
    );
}
