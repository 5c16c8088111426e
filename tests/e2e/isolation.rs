//! End to end: a tenant cannot make the operator send a Secret elsewhere. Endpoints come from the
//! operator's allowlist, redirects are never followed, and a refused object names the reason and
//! the fix while a capture server on loopback receives nothing.

use crate::support;

use ccs_operator::api::{BudgetAlert, CloudContract};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use support::capture::{Capture, Redirector};
use support::e2e::{DEADLINE, Env, condition, wait_for, wait_until};
use support::manifests::{CONTRACT, contract};

fn contracts(env: &Env) -> Api<CloudContract> {
    Api::namespaced(env.client.clone(), "default")
}

/// Waits for `Ready=False` with `reason` and returns the condition's message.
async fn refused(env: &Env, name: &str, reason: &str) -> String {
    let obj = wait_for(&contracts(env), name, &format!("Ready=False {reason}"), |c| {
        condition(c, "Ready").is_some_and(|(s, r, _)| s == "False" && r == reason)
    })
    .await;
    condition(&obj, "Ready").expect("Ready").2
}

/// A CloudContract on [`CONTRACT`] with `spec.endpoint` set.
fn contract_at(name: &str, secret: &str, endpoint: &str) -> serde_json::Value {
    let mut manifest = contract(name, CONTRACT, secret);
    manifest["spec"]["endpoint"] = json!(endpoint);
    manifest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_endpoint_outside_the_allowlist_is_refused_and_receives_nothing() {
    let env = Env::start().await;
    let capture = Capture::start().await;
    let _op = env.operator(&[]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    env.apply::<CloudContract>(contract_at("stolen", "acme-creds", &capture.url))
        .await;

    let message = refused(&env, "stolen", "EndpointNotAllowed").await;
    assert!(message.contains("spec.endpoint"), "{message}");
    assert!(message.contains("portal.allowedEndpoints"), "{message}");
    assert!(message.contains("remove spec.endpoint"), "{message}");
    // The same Secret still works against the operator's own endpoint: the refusal is the
    // endpoint's, and it is decided before anything is read or sent.
    env.apply::<CloudContract>(contract("acme", CONTRACT, "acme-creds"))
        .await;
    wait_for(&contracts(&env), "acme", "Ready", |c| {
        condition(c, "Ready").is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    assert!(capture.received().is_empty(), "the capture server was called");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redirect_is_not_followed() {
    let env = Env::start().await;
    let capture = Capture::start().await;
    let redirector = Redirector::start(&capture.url).await;
    let config = env.config_file(&format!(
        "portal:\n  allowedEndpoints:\n    - {{url: \"{}\", allowInsecure: true}}\n",
        redirector.url
    ));
    let _op = env.operator(&["--config", &config.display().to_string()]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    env.apply::<CloudContract>(contract_at("redirected", "acme-creds", &redirector.url))
        .await;

    let message = refused(&env, "redirected", "InvalidSpec").await;
    assert!(message.contains("redirect"), "{message}");
    assert!(capture.received().is_empty(), "the redirect was followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unmarked_secret_is_never_sent_and_the_condition_says_what_to_add() {
    let env = Env::start().await;
    let capture = Capture::start().await;
    // The capture server is even an allowed endpoint: only the Secret's mark stops the values.
    let config = env.config_file(&format!(
        "portal:\n  allowedEndpoints:\n    - {{url: \"{}\", allowInsecure: true}}\n",
        capture.url
    ));
    let _op = env.operator(&["--config", &config.display().to_string()]);
    let token = "sa-token-value-7c1f0e";
    let data: BTreeMap<String, String> = [
        ("clientId".to_string(), "someone".to_string()),
        ("clientSecret".to_string(), token.to_string()),
        ("apiKey".to_string(), "ca-cert-value".to_string()),
    ]
    .into();
    env.secret_in("default", "some-sa-token", data.clone(), false)
        .await;
    env.apply::<CloudContract>(contract_at("thief", "some-sa-token", &capture.url))
        .await;

    let message = refused(&env, "thief", "SecretNotMarked").await;
    assert!(
        message.contains("kubectl label secret some-sa-token -n default customerspace.io/credentials=true"),
        "{message}"
    );
    let thief = contracts(&env).get("thief").await.expect("thief");
    assert!(
        condition(&thief, "CredentialsValid").is_some_and(|(s, r, _)| s == "False" && r == "SecretNotMarked")
    );
    assert!(capture.received().is_empty(), "an unmarked Secret was sent");

    // Other key names are refused by the API server with the fix.
    let mut other_keys = contract_at("keys", "some-sa-token", &capture.url);
    other_keys["spec"]["credentialsSecretRef"]["clientSecretKey"] = json!("token");
    let api: Api<CloudContract> = contracts(&env);
    let err = api
        .create(
            &kube::api::PostParams::default(),
            &serde_json::from_value(other_keys).expect("object"),
        )
        .await
        .expect_err("other key names are refused");
    assert!(err.to_string().contains("clientSecretKey is deprecated"), "{err}");
    assert!(capture.received().is_empty());

    // The mark is what opts a Secret in: once labelled, the values go to the (allowed) endpoint.
    // This proves the capture server would have seen them.
    env.secret_in("default", "some-sa-token", data, true).await;
    let sent = wait_until(DEADLINE, "the marked Secret is used", || async {
        let received = capture.received();
        (!received.is_empty()).then_some(received)
    })
    .await;
    assert!(!sent.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_contract_evicts_its_caches() {
    let env = Env::start().await;
    let op = env.operator(&[]);
    env.ready_contract().await;
    let entries = |cache: &'static str| {
        let op = &op;
        async move {
            op.metric(&format!("ccs_portal_cache_entries{{cache=\"{cache}\"}}"))
                .await
                .unwrap_or(0.0)
        }
    };
    assert!(entries("snapshots").await >= 1.0);
    assert!(entries("clients").await >= 1.0);
    contracts(&env)
        .delete("acme", &Default::default())
        .await
        .expect("deleted");
    wait_until(DEADLINE, "caches evicted", || async {
        (entries("snapshots").await == 0.0 && entries("clients").await == 0.0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_contract_id_belongs_to_verified_credentials_and_leaks_no_names() {
    let env = Env::start().await;
    let _op = env.operator(&[]);
    // Credentials that are valid, but not for CONTRACT.
    let other = env
        .sim
        .seeded_credentials()
        .into_iter()
        .find(|c| c.label == "manager" && !c.contracts.iter().any(|id| id == CONTRACT))
        .and_then(|c| c.contracts.first().cloned())
        .expect("another customer's credential");
    for ns in ["squat", "late"] {
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(env.client.clone());
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        namespaces
            .create(
                &kube::api::PostParams::default(),
                &serde_json::from_value(namespace).expect("namespace"),
            )
            .await
            .expect("namespace created");
    }
    // The squatter comes first, with credentials of another contract.
    let creds = |id: &str, label: &str| -> BTreeMap<String, String> {
        let c = env.credential(id, label);
        [
            ("clientId".to_string(), c.client_id),
            ("clientSecret".to_string(), c.client_secret),
            ("apiKey".to_string(), c.api_key),
        ]
        .into()
    };
    env.secret_in("squat", "creds", creds(&other, "manager"), true)
        .await;
    env.apply::<CloudContract>(in_namespace(contract("squatter", CONTRACT, "creds"), "squat"))
        .await;
    let squat: Api<CloudContract> = Api::namespaced(env.client.clone(), "squat");
    wait_for(&squat, "squatter", "Ready=False", |c| {
        condition(c, "Ready").is_some_and(|(s, _, _)| s == "False")
    })
    .await;

    // The rightful owner, created later, is not blocked.
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    env.apply::<CloudContract>(contract("acme", CONTRACT, "acme-creds"))
        .await;
    wait_for(&contracts(&env), "acme", "Ready", |c| {
        condition(c, "Ready").is_some_and(|(s, _, _)| s == "True")
    })
    .await;

    // A later claim with valid credentials in a third namespace is the duplicate, and is not told
    // where the owner lives.
    env.secret_in("late", "creds", creds(CONTRACT, "operator"), true)
        .await;
    env.apply::<CloudContract>(in_namespace(contract("second", CONTRACT, "creds"), "late"))
        .await;
    let late: Api<CloudContract> = Api::namespaced(env.client.clone(), "late");
    let dup = wait_for(&late, "second", "DuplicateContract", |c| {
        condition(c, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "DuplicateContract")
    })
    .await;
    let (_, _, message) = condition(&dup, "Ready").expect("Ready");
    assert!(message.contains("another namespace"), "{message}");
    assert!(
        !message.contains("acme") && !message.contains("default"),
        "{message}"
    );
    // The squatter's status holds nothing of the contract's data.
    let squatter = squat.get("squatter").await.expect("squatter");
    assert!(
        squatter
            .status
            .as_ref()
            .is_none_or(|s| s.consumption.is_none() && s.contract_name.is_none())
    );
}

fn in_namespace(mut manifest: serde_json::Value, namespace: &str) -> serde_json::Value {
    manifest["metadata"]["namespace"] = json!(namespace);
    manifest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recipient_outside_the_allowed_domains_is_refused_with_a_condition() {
    let env = Env::start().await;
    let config = env.config_file("smtp:\n  allowedRecipientDomains: [ops.example]\n");
    let _op = env.operator(&["--config", &config.display().to_string()]);
    let spend = env.ready_contract().await;
    // Its recipients are at acme.example.
    env.budget_above_half("monthly", spend).await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    let failed = wait_for(&budgets, "monthly", "NotificationFailed", |b| {
        condition(b, "NotificationFailed").is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    let (_, _, message) = condition(&failed, "NotificationFailed").expect("condition");
    assert!(
        message
            .contains("recipient domain acme.example is not in smtp.allowedRecipientDomains (ops.example)"),
        "{message}"
    );
    assert!(!message.contains("finops@"), "{message}");
    assert_eq!(env.smtp.messages().len(), 0, "an email left");
}

/// Pauses (or resumes) a BudgetAlert with the `customerspace.io/paused` annotation.
async fn pause(budgets: &Api<BudgetAlert>, name: &str, paused: bool) {
    let patch = json!({"metadata": {"annotations": {"customerspace.io/paused": paused.to_string()}}});
    budgets
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotation patched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_over_the_namespace_email_limit_is_held_then_sent_in_order() {
    const PERIOD: Duration = Duration::from_secs(5);
    let env = Env::start().await;
    // One email per 5s and namespace: the first leaves at once, the next ones are held.
    let config = env.config_file("smtp:\n  emailRateLimit: {perNamespace: 1, period: 5s}\n");
    let op = env.operator(&["--config", &config.display().to_string()]);
    let spend = env.ready_contract().await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    let held = |name: &'static str, place: &'static str| {
        let budgets = budgets.clone();
        async move {
            let obj = wait_for(&budgets, name, "NotificationFailed=True EmailHeld", |b| {
                condition(b, "NotificationFailed").is_some_and(|(s, r, _)| s == "True" && r == "EmailHeld")
            })
            .await;
            let (_, _, message) = condition(&obj, "NotificationFailed").expect("condition");
            assert!(
                message.contains("held by the namespace email limit (smtp.emailRateLimit: 1 per 5s)")
                    && message.contains(&format!("place {place} in this namespace's queue")),
                "{name}: {message}"
            );
            assert!(!message.contains("finops@"), "{message}");
        }
    };
    env.budget_above_half("b1", spend).await;
    env.smtp.wait_for(1, DEADLINE);
    let slot_free_at = std::time::Instant::now() + PERIOD;
    env.budget_above_half("b2", spend).await;
    held("b2", "1 of 1").await;
    // b2 stops asking for a while (paused) while the limit frees a slot: an email that comes
    // later must still wait behind it, not take the slot.
    pause(&budgets, "b2", true).await;
    tokio::time::sleep_until(slot_free_at.into()).await;
    env.budget_above_half("b3", spend).await;
    held("b3", "2 of 2").await;
    env.budget_above_half("b4", spend).await;
    held("b4", "3 of 3").await;
    assert_eq!(env.smtp.messages().len(), 1, "the free slot is kept for b2");
    pause(&budgets, "b2", false).await;

    let names = ["b1", "b2", "b3", "b4"];
    let mut uids = Vec::new();
    for name in names {
        uids.push(
            budgets
                .get(name)
                .await
                .expect("budget")
                .metadata
                .uid
                .expect("uid"),
        );
    }
    // One slot every 5s, each taken at its budget's next retry.
    env.smtp.wait_for(names.len(), Duration::from_secs(180));
    for name in names {
        wait_for(&budgets, name, "NotificationFailed=False", |b| {
            condition(b, "NotificationFailed").is_some_and(|(s, _, _)| s == "False")
        })
        .await;
    }
    let order: Vec<&str> = env
        .smtp
        .messages_in_order()
        .iter()
        .map(|m| {
            let i = uids
                .iter()
                .position(|uid| m.contains(uid.as_str()))
                .unwrap_or_else(|| panic!("an email about no budget of the test: {m}"));
            names[i]
        })
        .collect();
    assert_eq!(order, names, "sent in the order they were held");
    assert_eq!(env.smtp.messages().len(), names.len(), "no email twice");
    assert!(!op.logs().contains("finops@"), "no address in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_operators_on_disjoint_namespaces_each_reconcile_only_their_own() {
    use k8s_openapi::api::coordination::v1::Lease;
    let env = Env::start().await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(env.client.clone());
    for ns in ["team-a", "team-b", "team-c"] {
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        namespaces
            .create(
                &kube::api::PostParams::default(),
                &serde_json::from_value(namespace).expect("namespace"),
            )
            .await
            .expect("namespace created");
    }
    // One contract per namespace, each with its own credentials (two shards claiming one contract
    // id is a documented limit, not tested here).
    let other = env
        .sim
        .seeded_credentials()
        .into_iter()
        .find(|c| c.label == "manager" && !c.contracts.iter().any(|id| id == CONTRACT))
        .and_then(|c| c.contracts.first().cloned())
        .expect("another contract");
    let shards = [
        ("team-a", CONTRACT.to_string(), "operator"),
        ("team-b", other.clone(), "manager"),
        ("team-c", other, "manager"),
    ];
    for (ns, id, label) in &shards {
        let c = env.credential(id, label);
        let data: BTreeMap<String, String> = [
            ("clientId".to_string(), c.client_id),
            ("clientSecret".to_string(), c.client_secret),
            ("apiKey".to_string(), c.api_key),
        ]
        .into();
        env.secret_in(ns, "creds", data, true).await;
        env.apply::<CloudContract>(in_namespace(contract("acme", id, "creds"), ns))
            .await;
    }
    // Two releases: leader election on, each with its own Lease, each watching one namespace;
    // nobody watches team-c.
    let start = |ns: &str| {
        let config = env.config_file(&format!(
            "leaderElection:\n  leaseName: ccs-{ns}\n  leaseNamespace: default\n"
        ));
        env.operator(&[
            "--leader-election",
            "true",
            "--namespaces",
            ns,
            "--config",
            &config.display().to_string(),
        ])
    };
    let a = start("team-a");
    let b = start("team-b");
    wait_until(DEADLINE, "both operators lead their own Lease", || async {
        (a.metric("ccs_leader ").await == Some(1.0) && b.metric("ccs_leader ").await == Some(1.0))
            .then_some(())
    })
    .await;
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "default");
    let holder = |lease: Lease| lease.spec.and_then(|s| s.holder_identity).expect("held");
    let (holder_a, holder_b) = (
        holder(leases.get("ccs-team-a").await.expect("lease a")),
        holder(leases.get("ccs-team-b").await.expect("lease b")),
    );
    assert_ne!(holder_a, holder_b, "each Lease has its own holder");

    let in_ns = |ns: &str| -> Api<CloudContract> { Api::namespaced(env.client.clone(), ns) };
    let mut synced = Vec::new();
    for ns in ["team-a", "team-b"] {
        let c = wait_for(&in_ns(ns), "acme", "Ready", |c| {
            condition(c, "Ready").is_some_and(|(s, _, _)| s == "True")
        })
        .await;
        synced.push(c.status.and_then(|s| s.last_sync_time).expect("synced"));
    }
    // Both keep polling theirs (2s): by the time each synced again, team-c was never touched.
    for (ns, first) in ["team-a", "team-b"].iter().zip(&synced) {
        wait_for(&in_ns(ns), "acme", "synced again", |c| {
            c.status.as_ref().and_then(|s| s.last_sync_time.as_ref()) > Some(first)
        })
        .await;
    }
    let unwatched = in_ns("team-c").get("acme").await.expect("team-c contract");
    assert!(
        unwatched.status.is_none(),
        "no operator watches team-c: {:?}",
        unwatched.status
    );
    // Each one's caches (and so its metrics) hold its own namespace only.
    for (op, mine, theirs) in [(&a, "team-a", "team-b"), (&b, "team-b", "team-a")] {
        // The state metrics are rebuilt from the caches every few seconds.
        let scrape = wait_until(DEADLINE, &format!("{mine} in its operator's metrics"), || async {
            let scrape = op.scrape().await;
            scrape
                .contains(&format!("namespace=\"{mine}\""))
                .then_some(scrape)
        })
        .await;
        for other in [theirs, "team-c"] {
            assert!(
                !scrape.contains(&format!("namespace=\"{other}\"")),
                "the {mine} operator has {other} in its metrics"
            );
        }
        assert_eq!(
            op.metric("ccs_resources{kind=\"CloudContract\",ready=\"True\"}")
                .await,
            Some(1.0),
            "the {mine} operator sees one contract"
        );
    }
}
