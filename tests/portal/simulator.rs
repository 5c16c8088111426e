//! The simulator itself: seeded world, determinism, weather from incidents, persistence,
//! admin switch, and a call log free of secrets.

use crate::portal_common;

use ccs_operator::portal::*;
use ccs_simulator::{ServeOptions, SimConfig, Simulator};
use portal_common::*;

#[tokio::test]
async fn the_world_is_seeded_and_deterministic() {
    let a = simulator().await;
    let b = simulator().await;
    assert_eq!(a.contract_ids(), b.contract_ids());
    assert_eq!(
        serde_json::to_value(a.seeded_credentials()).unwrap(),
        serde_json::to_value(b.seeded_credentials()).unwrap()
    );
    let other = Simulator::start(SimConfig {
        seed: 99,
        clock_speed: 0.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert_ne!(a.contract_ids(), other.contract_ids());

    let ids = a.contract_ids();
    assert!(ids.len() >= 5);
    assert!(ids.iter().any(|c| c.starts_with("OCB")) && ids.iter().any(|c| c.starts_with("FCA")));
    let op = a
        .seeded_credentials()
        .into_iter()
        .find(|c| c.label == "operator")
        .unwrap();
    let (portal, _) = client_with(&a, op.credentials(), fast_config());
    let (pb, _) = client_with(&b, op.credentials(), fast_config());
    let mut items = 0;
    for id in &ids {
        assert_eq!(
            portal.dashboard(id).await.unwrap(),
            pb.dashboard(id).await.unwrap(),
            "same seed, same data"
        );
        assert_eq!(portal.list_bills(id, 50).await.unwrap().len(), 12);
        assert!(portal.list_users(id).await.unwrap().len() >= 4);
        items += portal.list_catalog(id).await.unwrap().len();
    }
    assert!(items >= 5 * 9, "each contract sees its offer's catalog");
}

#[tokio::test]
async fn incidents_open_progress_resolve_and_drive_the_weather() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    // Walk two simulated weeks in 30 minute steps and record what the contract went through.
    let (mut weathers, mut states) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for _ in 0..(14 * 48) {
        let status = portal.platform_status(&id).await.unwrap();
        let worst_open = status
            .incidents
            .iter()
            .filter(|i| i.state != IncidentState::Resolved)
            .map(|i| i.severity)
            .min();
        let expected = match worst_open {
            None => Weather::Sunny,
            Some(1) => Weather::Stormy,
            Some(2) => Weather::Rainy,
            Some(_) => Weather::Cloudy,
        };
        assert_eq!(status.weather, expected, "{status:?}");
        weathers.insert(format!("{:?}", status.weather));
        states.extend(status.incidents.iter().map(|i| format!("{:?}", i.state)));
        sim.advance_clock(1800.0);
    }
    assert!(weathers.len() >= 3, "weather varied: {weathers:?}");
    assert_eq!(
        states.len(),
        3,
        "incidents were seen Open, InProgress and Resolved: {states:?}"
    );
}

#[tokio::test]
async fn budget_thresholds_cross_within_a_minute_at_demo_speed() {
    // At a demo speed of 20000 (about a month in two real minutes), one real minute of spend is
    // about a third of a month: a 30% threshold is crossed. Checked on the simulated clock.
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    sim.set_clock("2026-11-01T00:00:00Z".parse().unwrap());
    let daily_avg = sim.with_world(|w| w.contracts[&id].daily_cents) as f64 / 100.0;
    sim.advance_clock(60.0 * 20_000.0);
    let spent: f64 = portal
        .consumption(&id)
        .await
        .unwrap()
        .amount_to_date
        .parse()
        .unwrap();
    assert!(
        spent > 0.3 * 30.0 * daily_avg * 0.7,
        "spent {spent} of a ~{} month",
        30.0 * daily_avg
    );
}

#[tokio::test]
async fn state_file_keeps_writes_across_restarts() {
    ccs_operator::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        state_file: Some(dir.path().join("state.json")),
        ..ServeOptions::default()
    };
    let config = SimConfig {
        clock_speed: 0.0,
        ..SimConfig::default()
    };
    let first = Simulator::serve(config.clone(), options.clone()).await.unwrap();
    let id = contract(&first, "FCA");
    let portal = manager(&first, &id);
    let order = NewRequest {
        customer_reference: "persist-1".into(),
        request_type: RequestType::Order,
        catalog_item: "FCA-SUPPORT".into(),
        quantity: 1,
        parameters: [("tier".to_string(), "gold".to_string())].into(),
    };
    let request = portal.submit_request(&id, &order).await.unwrap();
    first.advance_clock(7200.0);
    let then = first.now();
    drop(first);

    let second = Simulator::serve(config, options).await.unwrap();
    assert_eq!(second.now(), then, "the clock resumes where it stopped");
    let portal = manager(&second, &id);
    let found = portal.find_request(&id, "persist-1").await.unwrap().unwrap();
    assert_eq!((found.id, found.state), (request.id, RequestState::Completed));
}

#[tokio::test]
async fn admin_routes_can_be_disabled() {
    ccs_operator::install_crypto_provider();
    let options = ServeOptions {
        admin: false,
        ..ServeOptions::default()
    };
    let sim = Simulator::serve(SimConfig::default(), options).await.unwrap();
    let resp = reqwest::get(format!("{}/admin/credentials", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // The business API still works.
    let id = contract(&sim, "OCB");
    manager(&sim, &id).get_contract(&id).await.unwrap();
}

#[tokio::test]
async fn call_log_names_routes_and_clients_but_no_secret() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let cred = sim.credentials(&id, "manager").unwrap();
    manager(&sim, &id).list_users(&id).await.unwrap();
    let calls = sim.calls(0);
    assert!(
        calls
            .iter()
            .all(|c| c.client_id.as_deref() == Some(cred.client_id.as_str()))
    );
    assert!(
        calls
            .iter()
            .any(|c| c.contract_id.as_deref() == Some(id.as_str()))
    );
    let log = serde_json::to_string(&calls).unwrap();
    assert!(
        !log.contains(cred.client_secret.expose())
            && !log.contains(cred.api_key.expose())
            && !log.contains("tok-")
    );
}

#[test]
fn config_file_is_validated() {
    let config = SimConfig::from_yaml("seed: 5\ncontracts: 8\nclockSpeed: 20000\n").unwrap();
    assert_eq!((config.seed, config.contracts), (5, 8));
    assert!(SimConfig::from_yaml("contracts: 2\n").is_err());
    assert!(SimConfig::from_yaml("unknownKey: 1\n").is_err());
}

#[test]
fn the_demo_config_parses() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/simulator-demo.yaml")).unwrap();
    let config = SimConfig::from_yaml(&text).unwrap();
    assert!(config.clock_speed >= 10_000.0);
}

#[tokio::test]
async fn a_wild_clock_never_panics() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    for _ in 0..3 {
        sim.advance_clock(1e12);
    }
    sim.set_clock_speed(f64::INFINITY);
    // Far-future answers are still answers.
    assert!(sim.now().to_rfc3339().as_str() < "9999-12-31");
    portal.dashboard(&id).await.unwrap();
    portal.billing_report(&id, "9999-12").await.unwrap();
}

#[tokio::test]
async fn frozen_consumption_goes_stale() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    sim.freeze_consumption(true);
    let frozen = portal.consumption(&id).await.unwrap();
    sim.advance_clock(6.0 * 3600.0);
    assert_eq!(
        portal.consumption(&id).await.unwrap(),
        frozen,
        "data as of the freeze"
    );
    assert_eq!(
        portal.dashboard(&id).await.unwrap().consumption,
        Some(frozen.clone())
    );
    sim.freeze_consumption(false);
    assert!(portal.consumption(&id).await.unwrap().data_as_of > frozen.data_as_of);
}

#[tokio::test]
async fn submission_without_portal_deduplication_creates_duplicates() {
    // The knob the exactly-once tests rely on really turns the portal's deduplication off.
    ccs_operator::install_crypto_provider();
    let config = SimConfig {
        clock_speed: 0.0,
        idempotent_submission: false,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    let order = ecs_order(&sim, &id, "dup");
    portal.submit_request(&id, &order).await.unwrap();
    portal.submit_request(&id, &order).await.unwrap();
    assert_eq!(sim.requests(&id).len(), 2);
}
