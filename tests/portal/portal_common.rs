//! Helpers shared by the portal test binaries.
#![allow(dead_code)]

use ccs_operator::portal::{ClientConfig, Credentials, PortalShared, ReqwestPortal, RetryPolicy};
use ccs_simulator::{SimConfig, Simulator};
use std::sync::Arc;
use std::time::Duration;

/// A simulator with a stopped clock (tests move it explicitly).
pub async fn simulator() -> Simulator {
    ccs_operator::install_crypto_provider();
    Simulator::start(SimConfig {
        clock_speed: 0.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Client settings for tests: short backoff, no rate limit, short timeouts.
pub fn fast_config() -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
        },
        rate_limit: None,
        // The simulator speaks plain http on loopback.
        allow_http: true,
        ..ClientConfig::default()
    }
}

/// [`fast_config`] with a global rate limit.
pub fn limited(per_second: f64, burst: u32) -> ClientConfig {
    ClientConfig {
        rate_limit: Some(ccs_operator::portal::RateLimit { per_second, burst }),
        ..fast_config()
    }
}

/// A client with its own metrics registry.
pub fn client_with(
    sim: &Simulator,
    credentials: Credentials,
    config: ClientConfig,
) -> (ReqwestPortal, prometheus::Registry) {
    let registry = prometheus::Registry::new();
    let shared: Arc<PortalShared> = PortalShared::new(config, &registry).expect("client builds");
    (ReqwestPortal::new(shared, sim.base_url(), credentials), registry)
}

/// The first contract of an offer prefix (`OCB` for FE, `FCA`).
pub fn contract(sim: &Simulator, prefix: &str) -> String {
    sim.contract_ids()
        .into_iter()
        .find(|c| c.starts_with(prefix))
        .expect("seeded contract")
}

/// A client acting as the contract's referent (Manager everywhere).
pub fn manager(sim: &Simulator, contract: &str) -> ReqwestPortal {
    client_with(
        sim,
        sim.credentials(contract, "manager").expect("manager credential"),
        fast_config(),
    )
    .0
}

/// Sum of a counter or histogram count over the label values matching `labels`.
pub fn metric(registry: &prometheus::Registry, name: &str, labels: &[(&str, &str)]) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .filter(|m| {
            labels
                .iter()
                .all(|(k, v)| m.get_label().iter().any(|l| l.name() == *k && l.value() == *v))
        })
        .map(|m| {
            if m.get_counter().get_value() > 0.0 {
                m.get_counter().get_value()
            } else {
                m.get_histogram().get_sample_count() as f64
            }
        })
        .sum()
}

/// Calls the simulator logged on a route (method + template).
pub fn calls_on(sim: &Simulator, method: &str, route_suffix: &str) -> usize {
    sim.calls(0)
        .iter()
        .filter(|c| c.method == method && c.route.ends_with(route_suffix))
        .count()
}

/// A valid order of an Elastic Cloud Server on the contract's first region.
pub fn ecs_order(sim: &Simulator, id: &str, reference: &str) -> ccs_operator::portal::NewRequest {
    let region = sim.with_world(|w| w.contracts[id].regions[0].clone());
    let parameters: std::collections::BTreeMap<String, String> = [
        ("region", region.as_str()),
        ("name", "vm"),
        ("flavor", "s3.medium.2"),
    ]
    .map(|(k, v)| (k.into(), v.into()))
    .into();
    ccs_operator::portal::NewRequest {
        customer_reference: reference.into(),
        request_type: ccs_operator::portal::RequestType::Order,
        catalog_item: "FE-ECS".into(),
        quantity: 1,
        parameters,
    }
}
