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

#[test]
fn incidents_at_or_above_the_minimum_severity_are_emailed_once_per_state() {
    let d = dashboard(json!([
        incident("I-1", 3, "Open"),
        incident("I-2", 2, "Open"),
        incident("I-3", 1, "Resolved")
    ]));
    let first = plan(&spec(), &CloudContractStatus::default(), &d);
    let ids: Vec<&str> = first.incident_notices.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["I-2", "I-3"], "severity 3 is below the minimum of 2");

    let memory = remember_incidents(&[], &first.incident_notices, &d);
    let previous = CloudContractStatus {
        notified_incidents: memory.clone(),
        ..Default::default()
    };
    assert!(
        plan(&spec(), &previous, &d).incident_notices.is_empty(),
        "nothing new"
    );

    let progressed = dashboard(json!([incident("I-2", 2, "InProgress")]));
    let next = plan(&spec(), &previous, &progressed);
    assert_eq!(next.incident_notices.len(), 1, "a state change is emailed");
    let pruned = remember_incidents(&memory, &next.incident_notices, &progressed);
    assert!(
        pruned.iter().all(|m| m.id == "I-2"),
        "incidents gone from the portal are forgotten: {pruned:?}"
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
