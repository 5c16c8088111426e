//! ServiceOrder end to end: dev cluster + simulator + a real SMTP sink + the `ccs-operator run`
//! binary, killed and restarted while orders are in flight.

use crate::support;

use ccs_operator::api::{CloudContract, PortalUser, ServiceOrder};
use ccs_simulator::{FaultKind, FaultRule};
use kube::ResourceExt;
use kube::api::DeleteParams;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::access::*;
use support::e2e::*;

fn order(name: &str, spec: Value) -> Value {
    let mut obj = json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "ServiceOrder", "metadata": {"name": name},
        "spec": {"contract": "acme", "catalogItem": "FE-OBS", "parameters": {"region": "eu-west-0", "name": name},
                 "notify": ["ops@acme.example"]}
    });
    json_patch::merge(&mut obj["spec"], &spec);
    obj
}

async fn state_of(env: &Env, name: &str) -> Option<String> {
    let o = api::<ServiceOrder>(env).get(name).await.ok()?;
    Some(format!("{:?}", o.status?.state?))
}

/// Order emails per ServiceOrder uid (from the Message-ID).
fn order_emails(env: &Env) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in env.smtp.messages() {
        let Some(id) = m.lines().find_map(|l| {
            l.strip_prefix("Message-ID: <order/")
                .or_else(|| l.strip_prefix("Message-Id: <order/"))
        }) else {
            continue;
        };
        let uid = id.split('/').next().unwrap_or_default().to_string();
        *out.entry(uid).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_samples_converge() {
    let env = Env::start().await;
    let id = contract(&env, "acme-prod", 0, "operator").await;
    let _operator = env.operator(&[]);
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/samples");
    let sample = |file: &str| -> Value {
        let text = std::fs::read_to_string(samples.join(file)).expect("sample");
        serde_saphyr::from_str(&text).expect("sample YAML")
    };
    env.apply::<PortalUser>(sample("20-portaluser.yaml")).await;
    env.apply::<ccs_operator::api::BudgetAlert>(sample("30-budgetalert.yaml"))
        .await;
    env.apply::<ServiceOrder>(sample("40-serviceorder.yaml")).await;
    wait_condition(&api::<CloudContract>(&env), "acme-prod", "Ready", |s, _| {
        s == "True"
    })
    .await;
    wait_condition(&api::<PortalUser>(&env), "jane-doe", "Ready", |s, _| s == "True").await;
    assert!(access(&env, &id, "jane.doe@acme.example").is_some());
    let orders = api::<ServiceOrder>(&env);
    wait_until(DEADLINE, "order submitted", || async {
        (state_of(&env, "acme-prod-extra-storage").await? == "Submitted").then_some(())
    })
    .await;
    env.sim.advance_clock(600.0);
    let done = wait_condition(&orders, "acme-prod-extra-storage", "Ready", |s, _| s == "True").await;
    let status = done.status.expect("status");
    assert_eq!(env.sim.requests(&id).len(), 1);
    assert!(
        status
            .customer_reference
            .expect("reference")
            .contains(&done.metadata.uid.clone().unwrap_or_default())
    );
    let uid = done.metadata.uid.expect("uid");
    let emails = wait_until(DEADLINE, "order email", || async {
        order_emails(&env).get(&uid).copied()
    })
    .await;
    assert_eq!(emails, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_errors_and_a_contract_typo_touch_nothing() {
    let (env, _operator, id) = with_contract(&[]).await;
    let seq = env.last_call();
    env.apply::<ServiceOrder>(order("typo", json!({"contract": "acme-prd"})))
        .await;
    env.apply::<ServiceOrder>(order("unknown", json!({"catalogItem": "FE-OBX"})))
        .await;
    env.apply::<ServiceOrder>(order(
        "params",
        json!({"parameters": {"region": "mars-1", "colour": "red", "name": null}}),
    ))
    .await;
    let orders = api::<ServiceOrder>(&env);
    let typo = wait_condition(&orders, "typo", "Ready", |s, r| {
        s == "False" && r == "ReferenceNotFound"
    })
    .await;
    assert!(condition(&typo, "Ready").expect("c").2.contains("acme-prd"));
    assert!(typo.finalizers().is_empty(), "nothing added to the object either");
    let unknown = wait_condition(&orders, "unknown", "Ready", |_, r| r == "UnknownCatalogItem").await;
    assert!(
        condition(&unknown, "Ready").expect("c").2.contains("FE-OBS"),
        "closest code listed"
    );
    let params = wait_condition(&orders, "params", "Ready", |_, r| r == "InvalidParameters").await;
    let message = condition(&params, "Ready").expect("c").2;
    for field in [
        "spec.parameters.region",
        "spec.parameters.name",
        "spec.parameters.colour",
    ] {
        assert!(message.contains(field), "{field}: {message}");
    }
    assert_eq!(writes_since(&env, seq), vec![]);
    assert!(env.sim.requests(&id).is_empty());
    assert!(
        env.sim
            .calls(seq)
            .iter()
            .all(|c| c.contract_id.as_deref() != Some("acme-prd"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_on_delete_cancels_and_the_default_keeps_the_request() {
    let (env, _operator, id) = with_contract(&[]).await;
    env.apply::<ServiceOrder>(order("cancelled", json!({"cancelOnDelete": true})))
        .await;
    env.apply::<ServiceOrder>(order("kept", json!({}))).await;
    for name in ["cancelled", "kept"] {
        wait_until(DEADLINE, "submitted", || async {
            (state_of(&env, name).await? == "Submitted").then_some(())
        })
        .await;
        api::<ServiceOrder>(&env)
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
        wait_gone(&api::<ServiceOrder>(&env), name).await;
    }
    let mut states: Vec<String> = env
        .sim
        .requests(&id)
        .iter()
        .map(|r| format!("{:?}", r.state))
        .collect();
    states.sort();
    assert_eq!(states, ["Cancelled", "Transmitted"]);
}

/// Prints the last observation when a wait fails.
struct PrintOnPanic(std::sync::Arc<std::sync::Mutex<String>>, std::path::PathBuf);

impl Drop for PrintOnPanic {
    fn drop(&mut self) {
        eprintln!(
            "last unfinished order: {}",
            self.0.lock().map(|s| s.clone()).unwrap_or_default()
        );
        let name = self
            .0
            .lock()
            .map(|s| s.split(':').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        let logs = format!("grep -h '/{name}' {}/*.log | tail -n 30", self.1.display());
        let _ = std::process::Command::new("sh").arg("-c").arg(logs).status();
    }
}

const ORDERS: usize = 100;
const CRASHES: usize = 6;
/// `controllers.serviceOrder.concurrency` of the test configuration.
const CONCURRENCY: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_orders_survive_faults_and_crashes_exactly_once() {
    // More concurrent reconciles than the default, so crashes catch orders in flight.
    let config = tempfile::NamedTempFile::new().expect("config file");
    std::fs::write(
        config.path(),
        // The default 20 calls/s would be spent on following 100 orders every 2 s.
        format!(
            "portal:\n  rateLimit: {{requestsPerSecond: 1000, burst: 1000}}\ncontrollers:\n  serviceOrder: {{concurrency: {CONCURRENCY}, pollInterval: 1s}}\n"
        ),
    )
    .expect("config written");
    let config = config.path().display().to_string();
    let flags = ["--config", config.as_str()];
    let (env, mut operator, id) = with_contract(&flags).await;
    env.sim.set_faults(vec![
        FaultRule {
            method: Some("POST".into()),
            route: "/customer-space/b2b/v1/contracts/{contractId}/requests".into(),
            fault: FaultKind::CommitThenFail {
                timeout: false,
                seconds: 0,
            },
            rate: 0.3,
            count: None,
        },
        FaultRule {
            method: None,
            route: "/customer-space/*".into(),
            fault: FaultKind::Error { status: 503 },
            rate: 0.2,
            count: None,
        },
    ]);
    for i in 0..ORDERS {
        env.apply::<ServiceOrder>(order(&format!("o{i:03}"), json!({})))
            .await;
    }
    let orders = api::<ServiceOrder>(&env);
    let last = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let dir = env.dir.path().to_path_buf();
    let progress = |want: usize, what: &'static str, done: fn(&ServiceOrder) -> bool| {
        let orders = orders.clone();
        let last = last.clone();
        let dir = dir.clone();
        async move {
            let guard = PrintOnPanic(last.clone(), dir.clone());
            wait_until(Duration::from_secs(120), what, || async {
                let list = orders.list(&Default::default()).await.ok()?;
                let stuck: Vec<_> = list.items.iter().filter(|o| !done(o)).collect();
                if let Some(o) = stuck.first() {
                    // Shown only when the wait fails: what the first unfinished order says.
                    last.lock()
                        .expect("lock")
                        .clone_from(&format!("{}: {:?}", o.name_any(), o.status));
                }
                (list.items.len() - stuck.len() >= want).then_some(())
            })
            .await;
            std::mem::forget(guard);
        }
    };
    // Crash while submitting: after every few more submissions, kill and restart.
    for step in 1..=CRASHES / 2 {
        progress(step * ORDERS / 4, "submissions", |o| {
            o.status.as_ref().is_some_and(|s| s.request_id.is_some())
        })
        .await;
        operator.kill();
        operator = env.operator(&flags);
    }
    progress(ORDERS, "every order submitted", |o| {
        o.status.as_ref().is_some_and(|s| s.request_id.is_some())
    })
    .await;
    env.sim.advance_clock(600.0);
    // Crash while completing and emailing.
    for step in 1..=CRASHES / 2 {
        progress(step * ORDERS / 4, "notifications", |o| {
            o.status.as_ref().is_some_and(|s| s.notified_at.is_some())
        })
        .await;
        operator.kill();
        operator = env.operator(&flags);
    }
    progress(ORDERS, "every order notified", |o| {
        o.status.as_ref().is_some_and(|s| s.notified_at.is_some())
    })
    .await;

    let requests = env.sim.requests(&id);
    assert_eq!(requests.len(), ORDERS, "exactly one request per order");
    let list = orders.list(&Default::default()).await.expect("orders").items;
    let emails = order_emails(&env);
    let mut duplicates = 0;
    for o in &list {
        let status = o.status.as_ref().expect("status");
        assert!(
            matches!(
                format!("{:?}", status.state.expect("state")).as_str(),
                "Completed" | "Rejected"
            ),
            "{}",
            o.name_any()
        );
        let reference = status.customer_reference.as_deref().expect("reference");
        assert_eq!(
            requests
                .iter()
                .filter(|r| r.customer_reference == reference)
                .count(),
            1
        );
        let sent = emails
            .get(o.metadata.uid.as_deref().expect("uid"))
            .copied()
            .unwrap_or(0);
        assert!(sent >= 1, "{}: email lost", o.name_any());
        // A crash between sending and recording `notifiedAt` repeats that order's email once.
        assert!(sent <= 1 + CRASHES / 2, "{}: {sent} emails", o.name_any());
        duplicates += sent - 1;
        if sent > 1 {
            eprintln!(
                "{} sent {sent} times, notified at {:?}",
                o.name_any(),
                status.notified_at
            );
        }
    }
    // Only the orders in flight at a crash may repeat: at most the operator's concurrency per crash.
    let bound = CRASHES / 2 * CONCURRENCY;
    assert!(
        duplicates <= bound,
        "{duplicates} duplicates for {} crashes while emailing",
        CRASHES / 2
    );
    eprintln!(
        "{duplicates} duplicate emails over {} crashes while emailing",
        CRASHES / 2
    );
}

use std::time::Duration;
