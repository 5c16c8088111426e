use super::*;
use crate::portal::CatalogParameter;
use serde_json::json;

fn catalog() -> Vec<CatalogItem> {
    let param = |key: &str, required: bool, allowed: &[&str]| CatalogParameter {
        key: key.into(),
        description: key.into(),
        required,
        allowed_values: allowed.iter().map(|s| s.to_string()).collect(),
    };
    let item = |code: &str, parameters| CatalogItem {
        code: code.into(),
        name: code.into(),
        offer: crate::portal::Offer::FE,
        parameters,
        max_quantity: 100,
        price: None,
    };
    vec![
        item(
            "FE-EVS",
            vec![
                param("region", true, &["eu-west-0"]),
                param("sizeGb", true, &[]),
                param("type", false, &["SSD", "SAS"]),
            ],
        ),
        item("FE-ECS", vec![]),
        item("FE-OBS", vec![]),
        item("FCA-VM", vec![]),
    ]
}

fn spec(item: &str, params: &[(&str, &str)]) -> ServiceOrderSpec {
    ServiceOrderSpec {
        contract: "acme-prod".into(),
        catalog_item: item.into(),
        quantity: 2,
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        notify: vec!["ops@acme.example".into()],
        cancel_on_delete: false,
    }
}

#[test]
fn a_valid_order_passes_and_becomes_a_request_keyed_by_the_uid() {
    let s = spec(
        "FE-EVS",
        &[("region", "eu-west-0"), ("sizeGb", "500"), ("type", "SSD")],
    );
    assert!(validate(&s, &catalog()).is_ok());
    let body = new_request(&s, &customer_reference("uid-1"));
    assert_eq!(
        (body.customer_reference.as_str(), body.quantity),
        ("ccs-uid-1", 2)
    );
    assert_ne!(customer_reference("uid-1"), customer_reference("uid-2"));
}

#[test]
fn an_unknown_item_lists_the_closest_codes() {
    let err = validate(&spec("FE-EVX", &[]), &catalog()).unwrap_err();
    assert_eq!(err.category, Category::UnknownCatalogItem);
    assert!(err.message.contains("FE-EVS, FE-ECS"), "{}", err.message);
    assert!(!err.message.contains("FCA-VM"), "{}", err.message);
}

#[test]
fn each_bad_parameter_is_named() {
    let err = validate(
        &spec("FE-EVS", &[("region", "mars-1"), ("colour", "red")]),
        &catalog(),
    )
    .unwrap_err();
    assert_eq!(err.category, Category::InvalidParameters);
    for field in [
        "spec.parameters.region",
        "spec.parameters.sizeGb",
        "spec.parameters.colour",
    ] {
        assert!(err.message.contains(field), "{field} in {}", err.message);
    }
    assert!(
        !err.message.contains("spec.parameters.type"),
        "optional and absent is fine"
    );
}

fn request(states: &[(&str, &str)]) -> ServiceRequest {
    let history: Vec<_> = states
        .iter()
        .map(|(s, at)| json!({"state": s, "at": at, "message": format!("now {s}")}))
        .collect();
    let last = states.last().expect("a state");
    serde_json::from_value(json!({
        "id": "REQ-1", "contractId": "FE-0001", "customerReference": "ccs-uid", "type": "Order",
        "catalogItem": "FE-EVS", "quantity": 2, "parameters": {}, "state": last.0,
        "submittedAt": states[0].1, "updatedAt": last.1, "history": history
    }))
    .expect("request fixture")
}

#[test]
fn following_a_request_records_states_once_and_finishes() {
    let mut status = ServiceOrderStatus::default();
    follow(&mut status, &request(&[("Transmitted", "2026-11-25T10:00:00Z")]));
    assert_eq!(status.state, Some(OrderState::Submitted));
    assert!(!readiness(&status).0);
    let done = request(&[
        ("Transmitted", "2026-11-25T10:00:00Z"),
        ("InProgress", "2026-11-25T10:00:30Z"),
        ("Completed", "2026-11-25T10:05:00Z"),
    ]);
    follow(&mut status, &done);
    follow(&mut status, &done);
    let states: Vec<_> = status.history.iter().map(|h| h.state).collect();
    assert_eq!(
        states,
        [
            OrderState::Submitted,
            OrderState::InProgress,
            OrderState::Completed
        ]
    );
    assert_eq!(status.completed_at.as_deref(), Some("2026-11-25T10:05:00Z"));
    assert_eq!(
        readiness(&status),
        (true, "Completed", "request REQ-1 completed".into())
    );
    let s = spec("FE-EVS", &[]);
    assert!(notification_due(&s, &status));
    status.notified_at = Some("2026-11-25T10:05:01Z".into());
    assert!(!notification_due(&s, &status), "once");
}

#[test]
fn rejected_and_cancelled_are_final_and_only_rejected_is_notified() {
    let s = spec("FE-EVS", &[]);
    for (state, notify) in [("Rejected", true), ("Cancelled", false)] {
        let mut status = ServiceOrderStatus::default();
        follow(
            &mut status,
            &request(&[
                ("Transmitted", "2026-11-25T10:00:00Z"),
                (state, "2026-11-25T10:01:00Z"),
            ]),
        );
        assert!(is_final(status.state));
        assert_eq!(readiness(&status).1, state);
        assert_eq!(notification_due(&s, &status), notify, "{state}");
    }
}

#[test]
fn history_is_bounded() {
    let mut history = Vec::new();
    for i in 0..50 {
        let state = if i % 2 == 0 {
            OrderState::Submitted
        } else {
            OrderState::InProgress
        };
        record(
            &mut history,
            OrderHistoryEntry {
                time: format!("t{i}"),
                state,
                message: None,
            },
        );
    }
    assert_eq!(history.len(), HISTORY_LIMIT);
    assert_eq!(history.last().map(|h| h.time.as_str()), Some("t49"));
}
