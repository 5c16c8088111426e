//! Property tests: the plan functions on arbitrary, hostile portal data (empty and huge strings,
//! amounts of 30 digits, negative amounts, extreme dates, unknown enum values, long lists) never
//! panic, and the status they produce passes the CRD's schema, so its write cannot be refused.

use super::budget_alert::{observe::spend_observation, plan::evaluate};
use super::cloud_contract::plan::{mark_sent, plan};
use super::service_order::plan::follow;
use crate::api::budget_alert::BudgetAlertSpec;
use crate::api::cloud_contract::{CloudContract, CloudContractSpec, CloudContractStatus};
use crate::api::service_order::ServiceOrderStatus;
use crate::portal::{Dashboard, ServiceRequest};
use ccs_admission::SchemaValidator;
use chrono::{DateTime, NaiveDate, Utc};
use kube::CustomResourceExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 .-]{1,20}",
        "\\PC{200,400}",
        (1usize..3000).prop_map(|n| "é".repeat(n)),
    ]
}

fn amount() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,6}\\.[0-9]{2}",
        "-?[0-9]{20,30}(\\.[0-9]{1,8})?",
        Just("79228162514264337593543950335".to_string()),
        Just("-79228162514264337593543950335".to_string()),
        text(),
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just(DateTime::<Utc>::MAX_UTC),
        Just(DateTime::<Utc>::MIN_UTC),
        (1_700_000_000i64..1_900_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).expect("in range")),
        any::<i64>().prop_filter_map("in chrono's range", |s| DateTime::from_timestamp(
            s % 8_000_000_000_000,
            0
        )),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    instant().prop_map(|t| t.date_naive())
}

fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(values).prop_map(str::to_string),
        Just("SomethingNew".to_string())
    ]
}

fn incident() -> impl Strategy<Value = Value> {
    (
        text(),
        text(),
        any::<u8>(),
        one_of(&["Open", "InProgress", "Resolved"]),
        instant(),
        instant(),
    )
        .prop_map(|(id, title, severity, state, opened, updated)| {
            json!({"id": id, "title": title, "platform": "FE", "region": "r", "severity": severity,
                   "state": state, "openedAt": opened, "updatedAt": updated})
        })
}

fn dashboard() -> impl Strategy<Value = Dashboard> {
    let contract = (
        text(),
        text(),
        text(),
        prop::collection::vec((text(), text(), text()), 0..260),
        any::<u32>(),
    );
    let status = (
        one_of(&["Sunny", "Cloudy", "Rainy", "Stormy"]),
        text(),
        prop::collection::vec(incident(), 0..40),
        instant(),
    );
    let consumption = prop::option::of((
        amount(),
        instant(),
        prop::collection::vec((date(), amount()), 0..40),
    ));
    let bills = prop::option::of(prop::collection::vec(
        (text(), amount(), one_of(&["Issued", "Paid", "Overdue"]), date()),
        0..20,
    ));
    (contract, status, consumption, bills).prop_map(|(c, s, consumption, bills)| {
        let (name, customer, url, subscriptions, users) = c;
        let (weather, summary, incidents, checked) = s;
        let value = json!({
            "contract": {"id": "FE-1", "name": name, "offer": "FE", "customer": customer,
                "referent": {"accountId": "a", "email": "ref@acme.example"}, "consoleUrl": url,
                "invoiceContact": "x", "currency": "EUR", "regions": [],
                "subscriptions": subscriptions.into_iter().map(|(id, service, state)|
                    json!({"id": id, "service": service, "region": "r", "state": state})).collect::<Vec<_>>(),
                "userCount": users},
            "platformStatus": {"contractId": "FE-1", "weather": weather, "summary": summary, "regions": [],
                "incidents": incidents, "checkedAt": checked},
            "consumption": consumption.map(|(total, as_of, daily)| json!({
                "contractId": "FE-1", "currency": "EUR", "periodStart": "2026-11-01", "periodEnd": "2026-11-30",
                "amountToDate": total, "dataAsOf": as_of,
                "daily": daily.into_iter().map(|(d, a)| json!({"date": d, "amount": a})).collect::<Vec<_>>()})),
            "latestBills": bills.map(|bills| bills.into_iter().map(|(period, amount, status, day)| json!({
                "id": "B", "period": period, "issuedAt": day, "dueAt": day, "amount": amount,
                "currency": "EUR", "status": status})).collect::<Vec<_>>()),
        });
        serde_json::from_value(value).expect("the generated dashboard decodes")
    })
}

fn contract_spec() -> CloudContractSpec {
    serde_json::from_value(json!({
        "contractId": "FE-1", "offer": "FlexibleEngine", "credentialsSecretRef": {"name": "creds"},
        "notifications": {"recipients": ["ops@acme.example"], "minSeverity": 4}
    }))
    .expect("spec")
}

fn contract_validator() -> &'static SchemaValidator {
    static VALIDATOR: OnceLock<SchemaValidator> = OnceLock::new();
    VALIDATOR.get_or_init(|| SchemaValidator::for_crd(&CloudContract::crd()).expect("schema"))
}

/// The status as the API server would see it in a status write.
fn admitted(status: &CloudContractStatus) -> Result<(), String> {
    let object = json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
        "metadata": {"name": "c", "namespace": "n"},
        "spec": contract_spec(), "status": status,
    });
    let size = serde_json::to_vec(&object).map_or(0, |v| v.len());
    if size > 1024 * 1024 {
        return Err(format!("status of {size} bytes"));
    }
    contract_validator()
        .admit(&object, None)
        .map(drop)
        .map_err(|errors| format!("{errors:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_contract_plan_never_panics_and_its_status_is_admitted(d in dashboard()) {
        let p = plan(&contract_spec(), &CloudContractStatus::default(), &d);
        let mut status = p.observed.clone();
        let mut memory = p.incidents.memory.clone();
        status.notified_incidents = memory.clone();
        prop_assert_eq!(admitted(&status), Ok(()), "the memory with emails due");
        for incident in &p.incidents.due {
            mark_sent(&mut memory, incident);
        }
        status.notified_incidents = memory;
        prop_assert_eq!(admitted(&status), Ok(()));
    }

    #[test]
    fn the_budget_plan_never_panics(d in dashboard(), budget in "[1-9][0-9]{0,14}", now in instant()) {
        let spec: BudgetAlertSpec = serde_json::from_value(json!({
            "contract": "c", "amount": budget, "recipients": ["a@b.example"],
            "thresholds": [{"name": "p", "percent": 1000}, {"name": "f", "percent": 50, "basis": "Forecasted"},
                           {"name": "a", "amount": "999999999999999.9999"}]
        })).expect("spec");
        if let Some(observation) = spend_observation(&d) {
            let _ = evaluate(&spec, &[], &observation, now, Duration::from_secs(86_400 * 2));
        }
    }

    #[test]
    fn following_a_request_never_panics(
        id in text(), state in one_of(&["Transmitted", "InProgress", "Completed", "Rejected", "Cancelled"]),
        history in prop::collection::vec((one_of(&["InProgress", "Completed"]), instant(), text()), 0..60),
        at in instant(),
    ) {
        let request: ServiceRequest = serde_json::from_value(json!({
            "id": id, "contractId": "c", "customerReference": "r", "type": "Order", "catalogItem": "X",
            "quantity": 1, "parameters": {}, "state": state, "submittedAt": at, "updatedAt": at,
            "history": history.into_iter().map(|(s, t, m)| json!({"state": s, "at": t, "message": m})).collect::<Vec<_>>(),
        })).expect("request");
        let mut status = ServiceOrderStatus::default();
        follow(&mut status, &request);
        prop_assert!(status.history.len() <= 20);
        prop_assert!(status.history.iter().all(|h| h.message.as_ref().is_none_or(|m| m.chars().count() <= 2048)));
    }
}
