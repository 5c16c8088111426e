//! ConsoleAccess end to end: the `ccs-operator` binary, the dev cluster, the portal simulator (for
//! the CloudContract) and a real OpenStack Keystone (the Flexible Engine IAM). Each test works in
//! its own Keystone domain and checks Keystone's state, not only the object's status.

use crate::support;

use ccs_operator::api::ConsoleAccess;
use ccs_operator::api::common::{ANNOTATION_POLL_INTERVAL, ANNOTATION_RECONCILE_REQUESTED_AT};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::access::*;
use support::e2e::*;
use support::keystone::Keystone;

/// A test's world: the environment, the operator, Keystone, and the test's domain.
struct World {
    env: Env,
    operator: Operator,
    ks: &'static Keystone,
    domain: String,
    domain_id: String,
}

/// Starts everything; the operator allows the Keystone endpoint (plain http, loopback). The
/// Secret `iam` holds the domain's IAM admin, `iam-reader` a user without admin rights.
async fn world(test: &str) -> World {
    let (ks, env) = tokio::join!(Keystone::shared(), Env::start());
    let domain = format!("{test}-{}", fastrand::u32(..));
    let domain_id = ks.domain(&domain, &["eu-west-0_acme", "eu-west-0_dev"]).await;
    contract(&env, "acme", 0, "operator").await;
    for (secret, user) in [("iam", "iam-admin"), ("iam-reader", "iam-reader")] {
        let data = [
            ("domainName", domain.as_str()),
            ("userName", user),
            ("password", "Secret-pw-1"),
        ];
        env.secret(
            secret,
            data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        )
        .await;
    }
    let config = env.config_file(&format!(
        "console:\n  identityEndpoints:\n    - {{url: \"{}\", allowInsecure: true}}\n",
        ks.url
    ));
    let operator = env.operator(&["--config", &config.display().to_string()]);
    wait_condition(
        &api::<ccs_operator::api::CloudContract>(&env),
        "acme",
        "Ready",
        |s, _| s == "True",
    )
    .await;
    World {
        env,
        operator,
        ks,
        domain,
        domain_id,
    }
}

fn access(name: &str, fe: Value, extra: Value) -> Value {
    let mut spec = json!({"contract": "acme", "flexibleEngine": fe});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "ConsoleAccess",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn fe(w: &World, group: &str, members: &[&str], roles: Value) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"name": m, "email": format!("{m}@acme.example")}))
        .collect();
    json!({"identityEndpoint": w.ks.url, "credentialsSecretRef": {"name": "iam"}, "group": group,
           "roleAssignments": roles, "members": members})
}

/// Waits until the object is Ready; on timeout, fails showing its status and the operator's log.
async fn ready(w: &World, name: &str) -> ConsoleAccess {
    let start = std::time::Instant::now();
    loop {
        let obj = api::<ConsoleAccess>(&w.env).get(name).await.ok();
        if let Some(o) = obj.as_ref().filter(|o| has_condition(*o, "Ready", "True")) {
            return o.clone();
        }
        if start.elapsed() > DEADLINE {
            let logs = w.operator.logs();
            let tail: Vec<&str> = logs.lines().rev().take(30).collect();
            panic!(
                "{name} not Ready: {:?}\noperator log (last lines, newest first):\n{}",
                obj.and_then(|o| o.status),
                tail.join("\n")
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits until the object handled reconcile request `value` and is Ready.
async fn reconciled(w: &World, name: &str, value: &str) -> ConsoleAccess {
    let patch = json!({"metadata": {"annotations": {ANNOTATION_RECONCILE_REQUESTED_AT: value}}});
    api::<ConsoleAccess>(&w.env)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotated");
    wait_for(
        &api::<ConsoleAccess>(&w.env),
        name,
        "reconcile request handled",
        |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some(value)
                && has_condition(o, "Ready", "True")
        },
    )
    .await
}

/// Waits until Keystone shows `check` true.
async fn keystone_shows<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_until(DEADLINE, what, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_change_members_and_roles_and_revert_a_removed_role() {
    let w = world("life").await;
    let roles =
        json!([{"role": "te_admin", "project": "eu-west-0_acme"}, {"role": "readonly", "domain": true}]);
    w.env
        .apply::<ConsoleAccess>(access(
            "team",
            fe(&w, "platform-team", &["jane.doe", "john.roe"], roles),
            json!({"passwords": "GeneratedSecret"}),
        ))
        .await;
    let obj = ready(&w, "team").await;
    let status = obj.status.expect("status");
    let group =
        w.ks.group(&w.domain_id, "platform-team")
            .await
            .expect("group created");
    let group_id = group["id"].as_str().expect("id").to_string();
    assert_eq!(status.group_id.as_deref(), Some(group_id.as_str()));
    assert_eq!(status.domain_id.as_deref(), Some(w.domain_id.as_str()));
    assert_eq!(status.adopted, Some(false));
    assert_eq!(w.ks.members(&group_id).await, ["jane.doe", "john.roe"]);
    assert_eq!(
        w.ks.assignments(&group_id).await,
        ["readonly@domain", "te_admin@eu-west-0_acme"]
    );
    assert!(
        status.members.iter().all(|m| m.user_id.is_some() && m.created),
        "{:?}",
        status.members
    );
    assert_eq!(status.role_assignments.len(), 2);
    assert!(
        status
            .role_assignments
            .iter()
            .all(|a| a.declared && !a.role_id.is_empty())
    );
    let effective = status.effective_after.clone().expect("effectiveAfter");
    let changed = status
        .permissions_changed_at
        .clone()
        .expect("permissionsChangedAt");
    let minutes = (chrono::DateTime::parse_from_rfc3339(&effective).expect("time")
        - chrono::DateTime::parse_from_rfc3339(&changed).expect("time"))
    .num_minutes();
    assert_eq!(
        minutes, 30,
        "Flexible Engine applies IAM changes within 30 minutes"
    );

    // GeneratedSecret: one initial password per created member, in a Secret owned by the object;
    // it is the member's real password (the person logs in with it).
    let secret_name = status
        .password_secret
        .clone()
        .expect("password secret named in status");
    let secret: Secret = api::<Secret>(&w.env).get(&secret_name).await.expect("secret");
    let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ConsoleAccess", "team")
    );
    let data = secret.data.expect("data");
    let jane = String::from_utf8(data["jane.doe"].0.clone()).expect("utf8");
    assert!(jane.len() >= 16);
    assert!(
        w.ks.token(&w.domain, "jane.doe", &jane).await.is_some(),
        "the generated password logs in"
    );
    let stored =
        serde_json::to_string(&api::<ConsoleAccess>(&w.env).get("team").await.expect("get")).expect("json");
    assert!(!stored.contains(&jane), "no password in the object");
    assert!(!w.operator.logs().contains(&jane), "no password in the logs");
    assert!(
        !w.operator.logs().contains("Secret-pw-1"),
        "no IAM password in the logs"
    );

    // Members and roles change: one added, one removed (and deleted: this object created it).
    let roles = json!([{"role": "readonly", "project": "eu-west-0_dev"}]);
    w.env
        .apply::<ConsoleAccess>(access(
            "team",
            fe(&w, "platform-team", &["jane.doe", "ann.lee"], roles),
            json!({"passwords": "GeneratedSecret"}),
        ))
        .await;
    let gid = group_id.clone();
    keystone_shows("members and roles changed", || async {
        w.ks.members(&gid).await == ["ann.lee", "jane.doe"]
            && w.ks.assignments(&gid).await == ["readonly@eu-west-0_dev"]
    })
    .await;
    let users = w.ks.users(&w.domain_id).await;
    assert!(
        !users.contains(&"john.roe".to_string()),
        "a removed member the object created is deleted: {users:?}"
    );

    // Drift: a role removed with the openstack CLI comes back under Full. A long poll interval
    // first, so that only the requested reconcile below can revert it (and the test sees it gone).
    let patch = json!({"metadata": {"annotations": {ANNOTATION_POLL_INTERVAL: "1h"}}});
    api::<ConsoleAccess>(&w.env)
        .patch("team", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotated");
    reconciled(&w, "team", "slow-poll").await;
    w.ks.openstack(&[
        "role",
        "remove",
        "--group",
        &group_id,
        "--project",
        "eu-west-0_dev",
        "--project-domain",
        &w.domain,
        "readonly",
    ]);
    assert_eq!(w.ks.assignments(&group_id).await, Vec::<String>::new());
    reconciled(&w, "team", "drift-1").await;
    assert_eq!(
        w.ks.assignments(&group_id).await,
        ["readonly@eu-west-0_dev"],
        "drift reverted"
    );

    // Steady state: another reconcile changes nothing and keeps effectiveAfter.
    let before = api::<ConsoleAccess>(&w.env)
        .get("team")
        .await
        .expect("get")
        .status
        .expect("status");
    let after = reconciled(&w, "team", "steady").await.status.expect("status");
    assert_eq!(before.permissions_changed_at, after.permissions_changed_at);
    let metrics = w.operator.scrape().await;
    assert!(
        metrics.contains(
            "ccs_console_requests_total{api=\"keystone\",code_class=\"2xx\",operation=\"grant_role\"}"
        ),
        "metrics with the api label"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adopts_an_existing_group_reports_conflict_and_observe_only_drift() {
    let w = world("adopt").await;
    w.ks.openstack(&["group", "create", "--domain", &w.domain, "ops"]);
    w.ks.openstack(&["user", "create", "--domain", &w.domain, "legacy.user"]);
    let d = w.domain.as_str();
    w.ks.openstack(&[
        "group",
        "add",
        "user",
        "--group-domain",
        d,
        "--user-domain",
        d,
        "ops",
        "legacy.user",
    ]);
    let group_id = w.ks.group(&w.domain_id, "ops").await.expect("group")["id"]
        .as_str()
        .expect("id")
        .to_string();

    // ObserveOnly first: reports, writes nothing.
    w.env
        .apply::<ConsoleAccess>(access(
            "watch",
            fe(
                &w,
                "ops",
                &["jane.doe"],
                json!([{"role": "readonly", "domain": true}]),
            ),
            json!({"managementPolicy": "ObserveOnly"}),
        ))
        .await;
    let watched = wait_condition(&api::<ConsoleAccess>(&w.env), "watch", "Synced", |s, r| {
        s == "False" && r == "ObserveOnlyDrift"
    })
    .await;
    let (_, _, message) = condition(&watched, "Synced").expect("synced");
    assert!(
        message.contains("jane.doe") && message.contains("legacy.user"),
        "{message}"
    );
    assert_eq!(w.ks.members(&group_id).await, ["legacy.user"]);
    assert!(w.ks.assignments(&group_id).await.is_empty());
    api::<ConsoleAccess>(&w.env)
        .delete("watch", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_gone(&api::<ConsoleAccess>(&w.env), "watch").await;

    // Full adopts it: the undeclared member goes (not deleted: the object did not create it).
    w.env
        .apply::<ConsoleAccess>(access(
            "owner",
            fe(&w, "ops", &["jane.doe"], json!([])),
            json!({}),
        ))
        .await;
    let owner = ready(&w, "owner").await.status.expect("status");
    assert_eq!(owner.adopted, Some(true));
    assert_eq!(owner.group_id.as_deref(), Some(group_id.as_str()));
    assert_eq!(w.ks.members(&group_id).await, ["jane.doe"]);
    assert!(
        w.ks.users(&w.domain_id)
            .await
            .contains(&"legacy.user".to_string())
    );

    // A second claim on the same group: Conflict, nothing changes.
    w.env
        .apply::<ConsoleAccess>(access("second", fe(&w, "ops", &["eve"], json!([])), json!({})))
        .await;
    let second = wait_condition(&api::<ConsoleAccess>(&w.env), "second", "Ready", |s, r| {
        s == "False" && r == "Conflict"
    })
    .await;
    let (_, _, message) = condition(&second, "Ready").expect("ready");
    assert!(message.contains("default/owner"), "{message}");
    assert_eq!(w.ks.members(&group_id).await, ["jane.doe"]);
    api::<ConsoleAccess>(&w.env)
        .delete("second", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_gone(&api::<ConsoleAccess>(&w.env), "second").await;
    assert_eq!(
        w.ks.members(&group_id).await,
        ["jane.doe"],
        "the loser's deletion touches nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_deletion_policy() {
    let w = world("delete").await;
    let roles = json!([{"role": "readonly", "project": "eu-west-0_acme"}]);
    for (name, policy) in [
        ("remove", "RemoveAccess"),
        ("delete", "Delete"),
        ("orphan", "Orphan"),
    ] {
        let members = [format!("{name}.a"), format!("{name}.b")];
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        w.env
            .apply::<ConsoleAccess>(access(
                name,
                fe(&w, &format!("g-{name}"), &members, roles.clone()),
                json!({"deletionPolicy": policy}),
            ))
            .await;
    }
    let mut ids = std::collections::BTreeMap::new();
    for name in ["remove", "delete", "orphan"] {
        let status = ready(&w, name).await.status.expect("status");
        ids.insert(name, status.group_id.expect("group id"));
        api::<ConsoleAccess>(&w.env)
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
    }
    for name in ["remove", "delete", "orphan"] {
        wait_gone(&api::<ConsoleAccess>(&w.env), name).await;
    }
    let users = w.ks.users(&w.domain_id).await;
    // RemoveAccess: the group stays, empty and without roles; the users stay.
    assert!(w.ks.group(&w.domain_id, "g-remove").await.is_some());
    assert!(w.ks.members(&ids["remove"]).await.is_empty());
    assert!(w.ks.assignments(&ids["remove"]).await.is_empty());
    assert!(users.contains(&"remove.a".to_string()));
    // Delete: the group and the users it created are gone.
    assert!(w.ks.group(&w.domain_id, "g-delete").await.is_none());
    assert!(!users.iter().any(|u| u.starts_with("delete.")), "{users:?}");
    // Orphan: everything stays.
    assert_eq!(w.ks.members(&ids["orphan"]).await, ["orphan.a", "orphan.b"]);
    assert_eq!(
        w.ks.assignments(&ids["orphan"]).await,
        ["readonly@eu-west-0_acme"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_name_the_cause_and_the_fix() {
    let w = world("refuse").await;
    let with_secret = |name: &str, secret: &str, endpoint: &str| {
        let mut f = fe(&w, &format!("g-{name}"), &["x.y"], json!([]));
        f["credentialsSecretRef"]["name"] = json!(secret);
        f["identityEndpoint"] = json!(endpoint);
        access(name, f, json!({}))
    };
    // Wrong password.
    let data = [
        ("domainName", w.domain.as_str()),
        ("userName", "iam-admin"),
        ("password", "wrong"),
    ];
    w.env
        .secret(
            "iam-wrong",
            data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        )
        .await;
    // An unmarked Secret with the right values.
    let data = [
        ("domainName", w.domain.as_str()),
        ("userName", "iam-admin"),
        ("password", "Secret-pw-1"),
    ];
    w.env
        .secret_in(
            "default",
            "iam-unmarked",
            data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            false,
        )
        .await;
    let url = w.ks.url.clone();
    for (name, secret, endpoint) in [
        ("wrong", "iam-wrong", url.as_str()),
        ("reader", "iam-reader", url.as_str()),
        ("unmarked", "iam-unmarked", url.as_str()),
        ("elsewhere", "iam", "https://attacker.example/v3"),
    ] {
        w.env
            .apply::<ConsoleAccess>(with_secret(name, secret, endpoint))
            .await;
    }
    let reason = |name: &'static str, want: &'static str| {
        let env = &w.env;
        async move {
            let o = wait_condition(&api::<ConsoleAccess>(env), name, "Ready", |s, r| {
                s == "False" && r == want
            })
            .await;
            assert!(has_condition(&o, "Stalled", "True"), "{name}: Stalled");
            condition(&o, "Ready").expect("ready").2
        }
    };
    let m = reason("wrong", "Unauthorized").await;
    assert!(m.contains("password") && !m.contains("wrong\""), "{m}");
    let m = reason("reader", "Forbidden").await;
    assert!(
        m.contains("lacks the permission identity:"),
        "names the missing permission: {m}"
    );
    let m = reason("unmarked", "SecretNotMarked").await;
    assert!(m.contains("customerspace.io/credentials=true"), "{m}");
    let m = reason("elsewhere", "EndpointNotAllowed").await;
    assert!(m.contains("console.identityEndpoints"), "{m}");
    assert!(
        w.ks.group(&w.domain_id, "g-reader").await.is_none(),
        "nothing created"
    );
    assert!(!w.operator.logs().contains("Secret-pw-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_five_times_while_adding_twenty_members_each_user_exists_once() {
    let mut w = world("kill").await;
    let names: Vec<String> = (0..20).map(|i| format!("member.{i:02}")).collect();
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    w.env
        .apply::<ConsoleAccess>(access(
            "crowd",
            fe(
                &w,
                "crowd",
                &members,
                json!([{"role": "readonly", "domain": true}]),
            ),
            json!({"passwords": "GeneratedSecret"}),
        ))
        .await;
    let config = w.env.config_file(&format!(
        "console:\n  identityEndpoints:\n    - {{url: \"{}\", allowInsecure: true}}\n",
        w.ks.url
    ));
    let config = config.display().to_string();
    for round in 0..5 {
        // Kill as soon as some users exist, mid-way through the writes.
        let at_least = 1 + round * 3;
        wait_until(DEADLINE, "users being created", || async {
            (w.ks
                .users(&w.domain_id)
                .await
                .iter()
                .filter(|u| u.starts_with("member."))
                .count()
                >= at_least)
                .then_some(())
        })
        .await;
        w.operator.kill();
        w.operator = w.env.operator(&["--config", &config]);
    }
    let status = ready(&w, "crowd").await.status.expect("status");
    let group_id = status.group_id.expect("group id");
    wait_until(DEADLINE, "every member in the group", || async {
        (w.ks.members(&group_id).await.len() == 20).then_some(())
    })
    .await;
    let users: Vec<String> =
        w.ks.users(&w.domain_id)
            .await
            .into_iter()
            .filter(|u| u.starts_with("member."))
            .collect();
    assert_eq!(users, names, "each user exists once, no orphan");
    assert_eq!(w.ks.members(&group_id).await, names);
    // Every created user's password is in the Secret (written before the user was created).
    let secret: Secret = api::<Secret>(&w.env)
        .get(&status.password_secret.expect("secret"))
        .await
        .expect("secret");
    let data = secret.data.expect("data");
    assert!(
        names.iter().all(|n| data.contains_key(n)),
        "{:?}",
        data.keys().collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_schema_refuses_bad_specs_at_apply() {
    let env = Env::start().await;
    let fe = json!({"identityEndpoint": "https://iam.example/v3", "credentialsSecretRef": {"name": "iam"},
                    "group": "g", "members": [{"name": "jane.doe"}]});
    let fca = json!({"endpoint": "https://vcd.example", "credentialsSecretRef": {"name": "vcd"},
                     "organization": "acme", "role": "Organization Administrator"});
    let cases = [
        (
            json!({"contract": "acme", "flexibleEngine": fe, "fca": fca}),
            "exactly one of flexibleEngine",
        ),
        (json!({"contract": "acme"}), "exactly one of flexibleEngine"),
        (
            json!({"contract": "acme", "flexibleEngine": {
                "identityEndpoint": "https://iam.example/v3", "credentialsSecretRef": {"name": "iam"}, "group": "g",
                "roleAssignments": [{"role": "readonly", "project": "p", "domain": true}]}}),
            "either project",
        ),
        (
            json!({"contract": "acme", "flexibleEngine": {
                "identityEndpoint": "https://iam.example/v3", "credentialsSecretRef": {"name": "iam"}, "group": "g",
                "roleAssignments": [{"role": "readonly"}]}}),
            "either project",
        ),
        (
            json!({"contract": "acme", "flexibleEngine": fe, "passwords": "Plain"}),
            "passwords",
        ),
    ];
    let api = api::<ConsoleAccess>(&env);
    for (i, (spec, expected)) in cases.into_iter().enumerate() {
        let name = format!("bad-{i}");
        let manifest = json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "ConsoleAccess",
                              "metadata": {"name": name}, "spec": spec});
        let err = api
            .patch(&name, &PatchParams::apply("e2e"), &Patch::Apply(&manifest))
            .await
            .expect_err("refused at apply");
        assert!(err.to_string().contains(expected), "case {i}: {err}");
    }
    // The group is immutable.
    let good = json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "ConsoleAccess",
                      "metadata": {"name": "good"}, "spec": {"contract": "acme", "flexibleEngine": fe}});
    api.patch("good", &PatchParams::apply("e2e"), &Patch::Apply(&good))
        .await
        .expect("valid");
    let mut changed = good.clone();
    changed["spec"]["flexibleEngine"]["group"] = json!("other");
    let err = api
        .patch("good", &PatchParams::apply("e2e"), &Patch::Apply(&changed))
        .await
        .expect_err("group is immutable");
    assert!(err.to_string().contains("group is immutable"), "{err}");
}
