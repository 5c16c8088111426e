//! End to end: what the operator binary does with bad input (wrong credentials, a missing Secret,
//! an unknown contract), with `ObserveOnly` and paused objects, and that its logs never hold a
//! secret. "No hot loop" is measured: portal calls and reconciles over several poll intervals.

use crate::support;

use ccs_operator::api::CloudContract;
use ccs_simulator::CallRecord;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use std::collections::BTreeMap;
use std::time::Duration;
use support::e2e::{Env, Operator, condition, has_condition, wait_for, wait_until};
use support::manifests::{CONTRACT, contract};

/// The operator's poll interval in the harness (`--poll-interval 2s`).
const POLL: Duration = Duration::from_secs(2);
/// Poll intervals a measurement window lasts.
const WINDOW_POLLS: u32 = 5;
/// Reconciles allowed in a window: one per interval (jittered by 10%), plus slack for one in flight.
const MAX_RUNS: usize = WINDOW_POLLS as usize + 2;

fn contracts(env: &Env) -> Api<CloudContract> {
    Api::namespaced(env.client.clone(), "default")
}

/// What happened during a window of [`WINDOW_POLLS`] poll intervals: the simulator's calls and the
/// operator's CloudContract reconciles. A measurement of the rate, not a wait for a state.
struct Window {
    calls: Vec<CallRecord>,
    runs: usize,
}

async fn reconcile_runs(op: &Operator) -> usize {
    op.metric("ccs_reconcile_runs_total{kind=\"CloudContract\"}")
        .await
        .unwrap_or(0.0) as usize
}

async fn measure(env: &Env, op: &Operator) -> Window {
    let seq = env.last_call();
    let runs = reconcile_runs(op).await;
    tokio::time::sleep(POLL * WINDOW_POLLS).await;
    let window = Window {
        calls: env.calls_since(seq + 1),
        runs: reconcile_runs(op).await - runs,
    };
    eprintln!(
        "{WINDOW_POLLS} poll intervals: {} reconciles, {} portal calls",
        window.runs,
        window.calls.len()
    );
    window
}

/// Asserts the window shows at most one attempt per poll interval, each of at most `per_attempt`
/// portal calls.
fn assert_no_hot_loop(window: &Window, per_attempt: usize) {
    assert!(
        window.runs <= MAX_RUNS,
        "{} reconciles in {WINDOW_POLLS} poll intervals",
        window.runs
    );
    assert!(
        window.calls.len() <= per_attempt * MAX_RUNS,
        "{} portal calls in {WINDOW_POLLS} poll intervals: {:?}",
        window.calls.len(),
        window.calls
    );
}

/// Asserts the operator's log holds none of `secrets` (and is not empty, so the check means something).
fn assert_no_secret_in_logs(op: &Operator, secrets: &[&str]) {
    let logs = op.logs();
    assert!(!logs.trim().is_empty(), "no log captured");
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret value is in the operator's log");
    }
}

/// Asserts no CloudContract (status included) and no Event holds one of `secrets`.
async fn assert_no_secret_in_cluster(env: &Env, secrets: &[&str]) {
    let events: Api<Event> = Api::namespaced(env.client.clone(), "default");
    let events = events.list(&ListParams::default()).await.expect("events");
    assert!(!events.items.is_empty(), "the operator records Events");
    let objects = contracts(env)
        .list(&ListParams::default())
        .await
        .expect("contracts");
    let text = format!(
        "{}{}",
        serde_json::to_string(&events.items).expect("json"),
        serde_json::to_string(&objects.items).expect("json")
    );
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "a secret value is in a status or an Event"
        );
    }
}

/// Waits for `Ready=False` with `reason` and returns the object.
async fn not_ready(env: &Env, name: &str, reason: &str) -> CloudContract {
    wait_for(&contracts(env), name, &format!("Ready=False {reason}"), |c| {
        condition(c, "Ready").is_some_and(|(s, r, _)| s == "False" && r == reason)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_credentials_say_unauthorized_without_a_hot_loop_or_a_secret_in_json_logs() {
    let env = Env::start().await;
    let op = env.operator(&["--log-format", "json"]);
    let good = env.credential(CONTRACT, "operator");
    let wrong_secret = "wrong-client-secret-5f1b7e";
    let data: BTreeMap<String, String> = [
        ("clientId".to_string(), good.client_id.clone()),
        ("clientSecret".to_string(), wrong_secret.to_string()),
        ("apiKey".to_string(), good.api_key.clone()),
    ]
    .into();
    env.secret("acme-creds", data).await;
    env.apply::<CloudContract>(contract("acme", CONTRACT, "acme-creds"))
        .await;

    let failed = not_ready(&env, "acme", "Unauthorized").await;
    let (status, reason, message) = condition(&failed, "CredentialsValid").expect("CredentialsValid");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Unauthorized"));
    assert!(
        message.contains("client id, client secret and API key in the credentials Secret"),
        "{message}"
    );
    assert_no_hot_loop(&measure(&env, &op).await, 2);

    // Fixed, the Secret requeues the contract: a success, logged too.
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    wait_for(&contracts(&env), "acme", "Ready", |c| {
        has_condition(c, "Ready", "True")
    })
    .await;
    let secrets = [wrong_secret, &good.client_secret, &good.api_key];
    assert_no_secret_in_logs(&op, &secrets);
    assert_no_secret_in_cluster(&env, &secrets).await;
    for line in op.logs().lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).expect("each log line is one JSON object");
    }
    assert!(
        op.logs().contains("\"category\":\"Unauthorized\""),
        "the failure is logged as JSON"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_secret_says_so_and_calls_no_portal() {
    let env = Env::start().await;
    let op = env.operator(&[]);
    env.apply::<CloudContract>(contract("acme", CONTRACT, "absent-creds"))
        .await;
    let failed = not_ready(&env, "acme", "SecretNotFound").await;
    let (_, _, message) = condition(&failed, "Ready").expect("Ready");
    assert!(
        message.contains("spec.credentialsSecretRef.name") && message.contains("default/absent-creds"),
        "{message}"
    );
    assert!(has_condition(&failed, "CredentialsValid", "False"));
    assert!(
        env.calls_since(1).is_empty(),
        "no portal call without credentials"
    );
    let window = measure(&env, &op).await;
    assert!(window.calls.is_empty(), "{:?}", window.calls);
    assert_no_hot_loop(&window, 0);

    // Creating the Secret requeues the contract at once.
    env.credentials_secret("absent-creds", CONTRACT, "operator").await;
    wait_for(&contracts(&env), "acme", "Ready", |c| {
        has_condition(c, "Ready", "True")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_contract_id_names_spec_contract_id_without_a_hot_loop() {
    let env = Env::start().await;
    let op = env.operator(&[]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    env.apply::<CloudContract>(contract("ghost", "OCB000001", "acme-creds"))
        .await;
    let failed = not_ready(&env, "ghost", "NotFound").await;
    let (_, _, message) = condition(&failed, "Ready").expect("Ready");
    assert!(
        message.contains("spec.contractId") && message.contains("OCB000001"),
        "{message}"
    );
    assert_no_hot_loop(&measure(&env, &op).await, 2);
    let cred = env.credential(CONTRACT, "operator");
    assert_no_secret_in_logs(&op, &[&cred.client_secret, &cred.api_key]);
}

/// A user with enabled access on the contract who is not its referent, from the simulator's world.
fn another_user(env: &Env) -> String {
    env.sim.with_world(|w| {
        let c = &w.contracts[CONTRACT];
        c.users
            .iter()
            .filter(|(id, access)| access.enabled && **id != c.referent)
            .find_map(|(id, _)| w.accounts.get(id).map(|a| a.account.email.clone()))
            .expect("a non-referent user on the contract")
    })
}

fn with_referent(email: &str, policy: &str) -> serde_json::Value {
    let mut manifest = contract("acme", CONTRACT, "referent-creds");
    manifest["spec"]["referent"] = serde_json::json!({"email": email});
    manifest["spec"]["managementPolicy"] = policy.into();
    manifest
}

fn referent_writes(env: &Env) -> Vec<CallRecord> {
    env.calls_since(1)
        .into_iter()
        .filter(|c| c.method == "PUT" && c.route.ends_with("/referent"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn observe_only_reports_drift_and_full_changes_the_referent() {
    let env = Env::start().await;
    let op = env.operator(&[]);
    // The referent's own credential: only the current referent may hand over.
    env.credentials_secret("referent-creds", CONTRACT, "manager")
        .await;
    let new_referent = another_user(&env);

    env.apply::<CloudContract>(with_referent(&new_referent, "ObserveOnly"))
        .await;
    let drifted = wait_for(&contracts(&env), "acme", "Synced=False", |c| {
        has_condition(c, "Synced", "False")
    })
    .await;
    let (_, reason, message) = condition(&drifted, "Synced").expect("Synced");
    assert_eq!(reason, "ObserveOnlyDrift");
    assert!(message.contains("spec.referent.email"), "{message}");
    assert!(has_condition(&drifted, "Ready", "True"));
    // Another poll goes by: still no write.
    let seq = env.last_call();
    wait_until(support::e2e::DEADLINE, "another dashboard read", || async {
        env.calls_since(seq + 1)
            .iter()
            .any(|c| c.route.ends_with("/dashboard"))
            .then_some(())
    })
    .await;
    assert!(
        referent_writes(&env).is_empty(),
        "ObserveOnly wrote to the portal"
    );

    env.apply::<CloudContract>(with_referent(&new_referent, "Full"))
        .await;
    let changed = wait_for(&contracts(&env), "acme", "referent changed", |c| {
        has_condition(c, "Synced", "True")
            && c.status.as_ref().and_then(|s| s.referent.as_deref()) == Some(new_referent.as_str())
    })
    .await;
    assert!(has_condition(&changed, "Ready", "True"));
    assert_eq!(referent_writes(&env).len(), 1, "one referent change");
    let portal_referent = env.sim.with_world(|w| {
        let id = &w.contracts[CONTRACT].referent;
        w.accounts[id].account.email.clone()
    });
    assert_eq!(portal_referent, new_referent);
    let events: Api<Event> = Api::namespaced(env.client.clone(), "default");
    wait_until(support::e2e::DEADLINE, "Event ReferentChanged", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("ReferentChanged")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("acme")
            })
            .then_some(())
    })
    .await;

    let manager = env.credential(CONTRACT, "manager");
    assert_no_secret_in_logs(&op, &[&manager.client_secret, &manager.api_key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_contract_causes_no_portal_calls() {
    let env = Env::start().await;
    let op = env.operator(&[]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    let mut manifest = contract("acme", CONTRACT, "acme-creds");
    manifest["metadata"]["annotations"] = serde_json::json!({"customerspace.io/paused": "true"});
    env.apply::<CloudContract>(manifest).await;
    // The operator has seen it...
    wait_until(support::e2e::DEADLINE, "a CloudContract reconcile", || async {
        (reconcile_runs(&op).await >= 1).then_some(())
    })
    .await;
    // ...and over several poll intervals asks the portal nothing.
    let window = measure(&env, &op).await;
    assert!(env.calls_since(1).is_empty(), "paused: {:?}", env.calls_since(1));
    assert_no_hot_loop(&window, 0);
    let paused = contracts(&env).get("acme").await.expect("contract");
    assert!(
        condition(&paused, "Ready").is_none(),
        "a paused object is left as it is"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dependent_names_its_failing_contract_and_recovers_with_it() {
    use ccs_operator::api::PortalUser;
    let env = Env::start().await;
    let _op = env.operator(&[]);
    let good = env.credential(CONTRACT, "operator");
    let data: BTreeMap<String, String> = [
        ("clientId".to_string(), good.client_id.clone()),
        ("clientSecret".to_string(), "not-the-secret".to_string()),
        ("apiKey".to_string(), good.api_key.clone()),
    ]
    .into();
    env.secret("acme-creds", data).await;
    env.apply::<CloudContract>(contract("acme", CONTRACT, "acme-creds"))
        .await;
    env.apply::<PortalUser>(support::access::user(
        "dana",
        "dana@acme.example",
        serde_json::json!({}),
    ))
    .await;
    let users: Api<PortalUser> = Api::namespaced(env.client.clone(), "default");
    // The contract fails: the user says which contract and why, and touches nothing.
    let waiting = wait_for(&users, "dana", "Ready=False ReferenceNotFound", |u| {
        condition(u, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "ReferenceNotFound")
    })
    .await;
    let (_, _, message) = condition(&waiting, "Ready").expect("Ready");
    assert!(
        message.contains("spec.access[].contract")
            && message.contains("default/acme")
            && message.contains("client id"),
        "{message}"
    );
    assert!(support::access::access(&env, CONTRACT, "dana@acme.example").is_none());

    // Fixing the Secret makes the contract Ready, which wakes the user: no poll interval to wait.
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    wait_for(&users, "dana", "Ready", |u| has_condition(u, "Ready", "True")).await;
    assert!(support::access::access(&env, CONTRACT, "dana@acme.example").is_some());
}
