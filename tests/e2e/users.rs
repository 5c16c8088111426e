//! PortalUser end to end: dev cluster + simulator + the `ccs-operator run` binary. Each test
//! checks the simulator's state and call log, not only the object's status.

use crate::support;

use ccs_operator::api::PortalUser;
use ccs_operator::api::common::ANNOTATION_RECONCILE_REQUESTED_AT;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;
use support::access::*;
use support::e2e::*;

async fn request_reconcile(env: &Env, name: &str, value: &str) {
    let patch = json!({"metadata": {"annotations": {ANNOTATION_RECONCILE_REQUESTED_AT: value}}});
    api::<PortalUser>(env)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotated");
}

/// Waits until the object handled the reconcile request `value`.
async fn handled(env: &Env, name: &str, value: &str) -> PortalUser {
    wait_until(DEADLINE, "reconcile request handled", || async {
        let u = api::<PortalUser>(env).get(name).await.ok()?;
        (u.status.as_ref()?.last_handled_reconcile_at.as_deref() == Some(value)).then_some(u)
    })
    .await
}

async fn ready(env: &Env, name: &str) -> PortalUser {
    wait_condition(&api::<PortalUser>(env), name, "Ready", |s, _| s == "True").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_then_adopt_with_one_invitation_and_no_writes_in_steady_state() {
    let (env, _operator, id) = with_contract(&[]).await;
    env.apply::<PortalUser>(user(
        "new",
        "new.person@acme.example",
        json!({"login": "new.person.acme"}),
    ))
    .await;
    let (existing, existing_login) = seeded_user(&env, &id);
    env.apply::<PortalUser>(user("old", &existing, json!({"login": "wanted.login"})))
        .await;

    let created = ready(&env, "new").await.status.expect("status");
    assert_eq!(created.adopted, Some(false));
    assert_eq!(created.login.as_deref(), Some("new.person.acme"));
    assert!(created.invitation_sent_at.is_some(), "invitation recorded");
    let (profiles, enabled) = access(&env, &id, "new.person@acme.example").expect("access in the portal");
    assert_eq!(profiles, json!({"dashboard": "Visitor", "requests": "Manager"}));
    assert!(enabled);

    let adopted = ready(&env, "old").await.status.expect("status");
    assert_eq!(adopted.adopted, Some(true));
    assert_eq!(
        adopted.login.as_deref(),
        Some(existing_login.as_str()),
        "the portal's login, not the spec's"
    );
    let (profiles, _) = access(&env, &id, &existing).expect("access");
    assert_eq!(
        profiles,
        json!({"dashboard": "Visitor", "requests": "Manager"}),
        "Full reverted the seeded profiles"
    );

    // Steady state: a forced reconcile reads, writes nothing, sends no second invitation.
    let seq = env.last_call();
    request_reconcile(&env, "new", "1").await;
    request_reconcile(&env, "old", "1").await;
    handled(&env, "new", "1").await;
    handled(&env, "old", "1").await;
    assert_eq!(
        writes_since(&env, seq),
        vec![],
        "no portal writes in steady state"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_later_of_two_claims_gets_conflict_and_changes_nothing() {
    let (env, _operator, id) = with_contract(&[]).await;
    env.apply::<PortalUser>(user("first", "twin@acme.example", json!({})))
        .await;
    ready(&env, "first").await;
    let seq = env.last_call();
    env.apply::<PortalUser>(user(
        "second",
        "twin@acme.example",
        json!({"access": [{"contract": "acme", "profiles": {"invoices": "Manager"}}]}),
    ))
    .await;
    let second = wait_condition(&api::<PortalUser>(&env), "second", "Ready", |s, r| {
        s == "False" && r == "Conflict"
    })
    .await;
    let (_, _, message) = condition(&second, "Ready").expect("condition");
    assert!(message.contains("default/first"), "{message}");
    assert_eq!(writes_since(&env, seq), vec![]);
    let (profiles, _) = access(&env, &id, "twin@acme.example").expect("access");
    assert_eq!(
        profiles,
        json!({"dashboard": "Visitor", "requests": "Manager"}),
        "the first one's profiles stay"
    );

    // Deleting the loser touches nothing either.
    api::<PortalUser>(&env)
        .delete("second", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_gone(&api::<PortalUser>(&env), "second").await;
    assert_eq!(writes_since(&env, seq), vec![]);
    assert!(access(&env, &id, "twin@acme.example").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_only_and_observe_only_never_update() {
    let (env, _operator, id) = with_contract(&[]).await;
    let (observed, _) = seeded_user(&env, &id);
    let before = access(&env, &id, &observed).expect("seeded access");
    let seq = env.last_call();
    env.apply::<PortalUser>(user(
        "watch",
        &observed,
        json!({"managementPolicy": "ObserveOnly"}),
    ))
    .await;
    let watched = wait_condition(&api::<PortalUser>(&env), "watch", "Synced", |s, r| {
        s == "False" && r == "ObserveOnlyDrift"
    })
    .await;
    let (_, _, drift) = condition(&watched, "Synced").expect("synced");
    assert!(drift.contains(&id), "{drift}");
    assert_eq!(writes_since(&env, seq), vec![], "ObserveOnly writes nothing");
    assert_eq!(access(&env, &id, &observed), Some(before));

    env.apply::<PortalUser>(user(
        "once",
        "create.only@acme.example",
        json!({"managementPolicy": "CreateOnly"}),
    ))
    .await;
    ready(&env, "once").await;
    assert!(
        access(&env, &id, "create.only@acme.example").is_some(),
        "CreateOnly creates"
    );
    let patch = json!({"spec": {"access": [{"contract": "acme", "profiles": {"invoices": "Manager"}}]}});
    api::<PortalUser>(&env)
        .patch("once", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patched");
    let seq = env.last_call();
    let once = wait_condition(&api::<PortalUser>(&env), "once", "Synced", |_, r| {
        r == "CreateOnly"
    })
    .await;
    assert_eq!(once.status.as_ref().and_then(|s| s.observed_generation), Some(2));
    assert_eq!(writes_since(&env, seq), vec![], "CreateOnly never updates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disabling_and_each_deletion_policy() {
    let (env, _operator, id) = with_contract(&[]).await;
    let referent = referent(&env, &id);
    for (name, email, policy) in [
        ("removed", "removed@acme.example", "RemoveAccess"),
        ("deleted", "deleted@acme.example", "Delete"),
        ("orphaned", "orphaned@acme.example", "Orphan"),
        ("shared", "shared@acme.example", "Delete"),
        ("boss", referent.as_str(), "RemoveAccess"),
    ] {
        env.apply::<PortalUser>(user(name, email, json!({"deletionPolicy": policy, "access": [{"contract": "acme", "profiles": {
            "dashboard": "Manager", "contracts": "Manager", "users": "Manager", "requests": "Manager", "catalog": "Manager",
            "invoices": "Manager", "documents": "Manager", "support": "Manager", "console": "Manager"}}]})))
        .await;
    }
    // Another PortalUser names shared@ (on another contract), so its Delete falls back.
    contract(&env, "other", 1, "operator").await;
    env.apply::<PortalUser>(user(
        "shared-elsewhere",
        "shared@acme.example",
        json!({"access": [{"contract": "other", "profiles": {"support": "Visitor"}}]}),
    ))
    .await;
    for name in [
        "removed",
        "deleted",
        "orphaned",
        "shared",
        "boss",
        "shared-elsewhere",
    ] {
        ready(&env, name).await;
    }

    let patch = json!({"spec": {"enabled": false}});
    api::<PortalUser>(&env)
        .patch("removed", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("disabled");
    let disabled = wait_until(DEADLINE, "access disabled", || async {
        access(&env, &id, "removed@acme.example").filter(|(_, enabled)| !enabled)
    })
    .await;
    assert!(!disabled.1);

    for name in ["removed", "deleted", "orphaned", "shared", "boss"] {
        api::<PortalUser>(&env)
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
    }
    for name in ["removed", "deleted", "orphaned", "shared", "boss"] {
        wait_gone(&api::<PortalUser>(&env), name).await;
    }
    assert!(
        access(&env, &id, "removed@acme.example").is_none() && account_exists(&env, "removed@acme.example")
    );
    assert!(
        !account_exists(&env, "deleted@acme.example"),
        "Delete deletes the account"
    );
    assert!(
        access(&env, &id, "orphaned@acme.example").is_some(),
        "Orphan leaves it"
    );
    assert!(
        access(&env, &id, "shared@acme.example").is_none() && account_exists(&env, "shared@acme.example")
    );
    assert!(
        access(&env, &id, &referent).is_some(),
        "the referent keeps access"
    );
    let shared = events(&env, "shared").await;
    assert!(
        shared.iter().any(|(_, n)| n.contains("another PortalUser")),
        "{shared:?}"
    );
    let boss = events(&env, "boss").await;
    assert!(boss.iter().any(|(_, n)| n.contains("referent")), "{boss:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_rights_name_the_contract_and_the_profile() {
    let env = Env::start().await;
    let id = contract(&env, "acme", 0, "visitor").await;
    let _operator = env.operator(&[]);
    env.apply::<PortalUser>(user("nope", "nope@acme.example", json!({})))
        .await;
    let nope = wait_condition(&api::<PortalUser>(&env), "nope", "Ready", |s, r| {
        s == "False" && r == "Forbidden"
    })
    .await;
    let (_, _, message) = condition(&nope, "Ready").expect("condition");
    assert!(
        message.contains(&id) && message.contains("Manager") && message.contains("Users"),
        "{message}"
    );
    assert!(access(&env, &id, "nope@acme.example").is_none());
}

/// Runs an operator polling PortalUsers every second with `heartbeat`, waits until `new` is Ready
/// and its status settled, then returns the resourceVersion before and after three more polls.
async fn versions_across_polls(heartbeat: &str) -> (String, String) {
    let env = Env::start().await;
    contract(&env, "acme", 0, "operator").await;
    let config = env.config_file(&format!(
        "controllers:\n  portalUser: {{concurrency: 4, pollInterval: 1s}}\n  statusHeartbeat: {heartbeat}\n"
    ));
    let operator = env.operator(&["--config", &config.display().to_string()]);
    env.apply::<PortalUser>(user("new", "new.person@acme.example", json!({})))
        .await;
    ready(&env, "new").await;
    let runs = || async {
        operator
            .metric("ccs_reconcile_runs_total{kind=\"PortalUser\"}")
            .await
            .unwrap_or_default()
    };
    let polls_after = |from: f64| {
        wait_until(DEADLINE, "three more polls", move || async move {
            (runs().await >= from + 3.0).then_some(())
        })
    };
    // The first polls may still record what the creation changed (adoption, login).
    polls_after(runs().await).await;
    let version = || async {
        api::<PortalUser>(&env)
            .get("new")
            .await
            .expect("the user")
            .metadata
            .resource_version
            .expect("a version")
    };
    let before = version().await;
    polls_after(runs().await).await;
    (before, version().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn polls_that_find_nothing_new_write_no_status_until_the_heartbeat() {
    let (before, after) = versions_across_polls("1h").await;
    assert_eq!(
        before, after,
        "three polls that found nothing new wrote the status"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_heartbeat_writes_the_status_on_every_poll() {
    let (before, after) = versions_across_polls("0s").await;
    assert_ne!(
        before, after,
        "with statusHeartbeat 0s every poll writes the time of the sync"
    );
}
