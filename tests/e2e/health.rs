//! Health end to end (issue 14): `Reconciling` and `Stalled` beside `Ready` in each state of each
//! kind, `kubectl wait` on them, and the objects the Argo CD Lua and Flux kstatus tests run on.
//!
//! Every object reached here is compared with its committed fixture under
//! `tests/argocd/<Kind>/testdata/` (condition types, statuses and reasons), so the fixtures stay
//! those of a real run. `CCS_CAPTURE_HEALTH=1` rewrites the fixtures from this run instead.

use crate::support;

use ccs_operator::api::common::{ANNOTATION_PAUSED, ANNOTATION_RECONCILE_REQUESTED_AT};
use ccs_operator::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use ccs_simulator::{FaultKind, FaultRule};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::path::PathBuf;
use support::access::*;
use support::e2e::*;
use support::manifests;

/// Set to `1` to rewrite the fixtures from this run.
const CAPTURE: &str = "CCS_CAPTURE_HEALTH";

fn fixture(kind: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/argocd")
        .join(format!("{kind}/testdata/{name}.yaml"))
}

/// The object as `kubectl get -o yaml` shows it (no managedFields).
fn shown<K: serde::Serialize>(obj: &K) -> Value {
    let mut v = serde_json::to_value(obj).expect("json");
    if let Some(meta) = v["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    v
}

/// (type, status, reason) of every condition, sorted: what the health checks read.
fn summary(obj: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = obj["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                    (s("type"), s("status"), s("reason"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Writes the fixture (capture mode) or checks the committed one against this run.
fn capture<K: serde::Serialize>(obj: &K, kind: &str, name: &str) {
    let live = shown(obj);
    let path = fixture(kind, name);
    if std::env::var(CAPTURE).as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("fixture dir");
        let yaml = serde_saphyr::to_string(&live).expect("yaml");
        std::fs::write(&path, yaml).expect("fixture written");
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (capture with {CAPTURE}=1)", path.display()));
    let committed: Value = serde_saphyr::from_str(&text).expect("fixture YAML");
    assert_eq!(
        summary(&committed),
        summary(&live),
        "{}: the committed fixture no longer matches a real run (recapture with {CAPTURE}=1)",
        path.display()
    );
}

/// `(Reconciling, Stalled)` statuses.
fn health<K: serde::Serialize>(obj: &K) -> (String, String) {
    let status = |t: &str| condition(obj, t).map(|(s, _, _)| s).unwrap_or_default();
    (status("Reconciling"), status("Stalled"))
}

fn done<K: serde::Serialize>(obj: &K) {
    assert_eq!(health(obj), ("False".into(), "False".into()));
}

fn paused(mut manifest: Value, name: &str) -> Value {
    manifest["metadata"]["name"] = json!(name);
    manifest["metadata"]["annotations"] = json!({ANNOTATION_PAUSED: "true"});
    manifest
}

fn order(name: &str, item: &str) -> Value {
    json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "ServiceOrder", "metadata": {"name": name},
        "spec": {"contract": "acme", "catalogItem": item, "parameters": {"region": "eu-west-0", "name": name}}
    })
}

/// Runs the real kubectl against the environment; returns whether it succeeded, and its output.
async fn kubectl(env: &Env, args: &[&str]) -> (bool, String) {
    let cache = tempfile::tempdir().expect("cache dir");
    let mut c = tokio::process::Command::new("kubectl");
    c.arg("--kubeconfig").arg(env.kubeconfig());
    c.arg("--cache-dir").arg(cache.path());
    c.args(args);
    for v in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "KUBECONFIG",
    ] {
        c.env_remove(v);
    }
    c.kill_on_drop(true);
    let out = c.output().await.expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_kind_reports_reconciling_and_stalled_in_each_state() {
    let env = Env::start().await;
    // A fresh sync: the budget arrives with its contract, whose first portal calls are slow, so
    // the budget first waits for it (ReferencePending: Reconciling=True, no Ready yet).
    env.sim.set_faults(vec![FaultRule {
        method: None,
        route: "*".into(),
        fault: FaultKind::Latency {
            ms: 2500,
            jitter_ms: 0,
        },
        rate: 1.0,
        count: Some(2),
    }]);
    let id = contract(&env, "acme", 0, "operator").await;
    let (existing, _) = seeded_user(&env, &id);
    env.apply::<BudgetAlert>(manifests::budget("budget", "acme", "100000000"))
        .await;
    let _operator = env.operator(&[]);
    let budgets = api::<BudgetAlert>(&env);
    let waiting = wait_condition(&budgets, "budget", "Reconciling", |s, r| {
        s == "True" && r == "ReferencePending"
    })
    .await;
    assert!(
        condition(&waiting, "Ready").is_none(),
        "a quiet wait sets no Ready"
    );
    capture(&waiting, "BudgetAlert", "progressing");
    let contracts = api::<CloudContract>(&env);
    let acme = wait_condition(&contracts, "acme", "Ready", |s, _| s == "True").await;
    done(&acme);
    capture(&acme, "CloudContract", "healthy");
    let budget = wait_condition(&budgets, "budget", "Ready", |s, _| s == "True").await;
    done(&budget);
    capture(&budget, "BudgetAlert", "healthy");
    env.sim.set_faults(vec![]);

    // Terminal errors stall, naming the category.
    env.apply::<CloudContract>(manifests::contract("nosecret", "OCB000001", "missing-creds"))
        .await;
    let nosecret = wait_condition(&contracts, "nosecret", "Stalled", |s, r| {
        s == "True" && r == "SecretNotFound"
    })
    .await;
    assert_eq!(condition(&nosecret, "Ready").expect("Ready").1, "SecretNotFound");
    capture(&nosecret, "CloudContract", "degraded");
    env.apply::<BudgetAlert>(manifests::budget("orphan", "nowhere", "100"))
        .await;
    let orphan = wait_condition(&budgets, "orphan", "Stalled", |s, r| {
        s == "True" && r == "ReferenceNotFound"
    })
    .await;
    capture(&orphan, "BudgetAlert", "degraded");

    // Orders: unknown item (stalled), then one submitted (reconciling) and completed (done).
    let orders = api::<ServiceOrder>(&env);
    env.apply::<ServiceOrder>(order("unknown", "FE-OBX")).await;
    let unknown = wait_condition(&orders, "unknown", "Stalled", |s, r| {
        s == "True" && r == "UnknownCatalogItem"
    })
    .await;
    capture(&unknown, "ServiceOrder", "degraded");
    env.apply::<ServiceOrder>(order("storage", "FE-OBS")).await;
    let submitted = wait_condition(&orders, "storage", "Reconciling", |s, r| {
        s == "True" && r == "Submitted"
    })
    .await;
    assert_eq!(health(&submitted).1, "False");
    capture(&submitted, "ServiceOrder", "progressing");
    env.sim.advance_clock(600.0);
    let completed = wait_condition(&orders, "storage", "Ready", |s, _| s == "True").await;
    done(&completed);
    capture(&completed, "ServiceOrder", "healthy");

    // Users: an invitation pending (reconciling), an adopted active account (done), missing
    // rights (stalled).
    let users = api::<PortalUser>(&env);
    env.apply::<PortalUser>(user("new", "new.person@acme.example", json!({})))
        .await;
    let invited = wait_condition(&users, "new", "Reconciling", |s, r| {
        s == "True" && r == "InvitationPending"
    })
    .await;
    assert_eq!(condition(&invited, "Ready").expect("Ready").0, "True");
    capture(&invited, "PortalUser", "progressing");
    env.apply::<PortalUser>(user("old", &existing, json!({}))).await;
    let old = wait_for(&users, "old", "Stalled set", |u| {
        condition(u, "Stalled").is_some()
    })
    .await;
    assert_eq!(
        condition(&old, "Ready").map(|c| c.0).as_deref(),
        Some("True"),
        "{:?}",
        old.status
    );
    done(&old);
    capture(&old, "PortalUser", "healthy");
    contract(&env, "limited", 1, "visitor").await;
    let mut nope = user("nope", "nope@acme.example", json!({}));
    nope["spec"]["access"][0]["contract"] = json!("limited");
    env.apply::<PortalUser>(nope).await;
    let nope = wait_condition(&users, "nope", "Stalled", |s, r| s == "True" && r == "Forbidden").await;
    capture(&nope, "PortalUser", "degraded");

    // Paused objects: never reconciled, shown as Suspended by Argo CD.
    let contract_paused = env
        .apply::<CloudContract>(paused(manifests::contract("x", "OCB000002", "x-creds"), "paused"))
        .await;
    capture(&contract_paused, "CloudContract", "suspended");
    let order_paused = env
        .apply::<ServiceOrder>(paused(order("x", "FE-OBS"), "paused"))
        .await;
    capture(&order_paused, "ServiceOrder", "suspended");
    let user_paused = env
        .apply::<PortalUser>(paused(user("x", "paused@acme.example", json!({})), "paused"))
        .await;
    capture(&user_paused, "PortalUser", "suspended");
    let budget_paused = env
        .apply::<BudgetAlert>(paused(manifests::budget("x", "acme", "100"), "paused"))
        .await;
    capture(&budget_paused, "BudgetAlert", "suspended");

    // kubectl wait works on both polarities, and does not return for a stalled object.
    for args in [
        [
            "wait",
            "--for=condition=Ready",
            "cloudcontract/acme",
            "--timeout=30s",
        ],
        [
            "wait",
            "--for=condition=Stalled=false",
            "cloudcontract/acme",
            "--timeout=30s",
        ],
        [
            "wait",
            "--for=condition=Stalled=false",
            "serviceorder/storage",
            "--timeout=30s",
        ],
        [
            "wait",
            "--for=condition=Reconciling=false",
            "serviceorder/storage",
            "--timeout=30s",
        ],
        [
            "wait",
            "--for=condition=Stalled",
            "serviceorder/unknown",
            "--timeout=30s",
        ],
    ] {
        let (ok, out) = kubectl(&env, &args).await;
        assert!(ok, "kubectl {args:?}: {out}");
    }
    let (ok, out) = kubectl(
        &env,
        &[
            "wait",
            "--for=condition=Stalled=false",
            "serviceorder/unknown",
            "--timeout=2s",
        ],
    )
    .await;
    assert!(!ok, "a stalled order never satisfies Stalled=false: {out}");

    // A retryable error: the portal answers 503; the contract retries with backoff.
    env.sim.set_faults(vec![FaultRule {
        method: None,
        route: "*".into(),
        fault: FaultKind::Error { status: 503 },
        rate: 1.0,
        count: None,
    }]);
    let patch = json!({"metadata": {"annotations": {ANNOTATION_RECONCILE_REQUESTED_AT: "retry"}}});
    contracts
        .patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotated");
    let retrying = wait_condition(&contracts, "acme", "Reconciling", |s, r| {
        s == "True" && r == "Unavailable"
    })
    .await;
    assert_eq!(health(&retrying).1, "False", "a retryable error does not stall");
    assert_eq!(condition(&retrying, "Ready").expect("Ready").0, "False");
    capture(&retrying, "CloudContract", "progressing");
    env.sim.set_faults(vec![]);
}
