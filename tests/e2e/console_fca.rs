//! ConsoleAccess for FCA end to end: the `ccs-operator` binary, the dev cluster, and the
//! simulator, which serves both the CloudContract (portal) and the contract's Cloud Director
//! organization (CloudAPI). Checks the organization's users, not only the object's status.

use crate::support;

use ccs_operator::api::ConsoleAccess;
use ccs_operator::api::console_access::MemberState;
use ccs_operator::console::clouddirector::VcdUser;
use ccs_operator::console::{CloudDirector, ConsoleShared, VcdCredentials};
use ccs_operator::portal::{Offer, Secret};
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::access::*;
use support::e2e::*;

struct World {
    env: Env,
    operator: Operator,
    org: String,
    vcd: CloudDirector,
}

/// An FCA CloudContract `fca`, Secrets `vcd` (the organization administrator), `vcd-auditor`
/// and `vcd-wrong`, and the operator allowing the simulator as a Cloud Director endpoint.
async fn world() -> World {
    world_with("").await
}

/// The operator's configuration allowing the simulator, plus `extra` console settings.
fn config(env: &Env, extra: &str) -> String {
    let file = env.config_file(&format!(
        "console:\n  cloudDirectorEndpoints:\n    - {{url: \"{}\", allowInsecure: true}}\n{extra}",
        env.sim.base_url()
    ));
    file.display().to_string()
}

/// [`world`] with `extra` lines in the operator's `console` configuration.
async fn world_with(extra: &str) -> World {
    let env = Env::start().await;
    let id = offer_contract(&env, "fca", Offer::FCA, 0, "operator").await;
    let org = env.sim.vcd_org(&id).expect("an organization per FCA contract");
    for (secret, user, password) in [
        ("vcd", org.admin_user.as_str(), org.admin_password.as_str()),
        ("vcd-auditor", &org.auditor_user, &org.auditor_password),
        ("vcd-wrong", &org.admin_user, "Wrong-pw-123"),
    ] {
        let data = [
            ("domainName", org.org.as_str()),
            ("userName", user),
            ("password", password),
        ];
        env.secret(
            secret,
            data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        )
        .await;
    }
    let operator = env.operator(&["--config", &config(&env, extra)]);
    wait_condition(
        &api::<ccs_operator::api::CloudContract>(&env),
        "fca",
        "Ready",
        |s, _| s == "True",
    )
    .await;
    let client_config = ccs_operator::portal::ClientConfig {
        allow_http: true,
        ..Default::default()
    };
    let shared = ConsoleShared::new(client_config, &prometheus::Registry::new()).unwrap();
    let vcd = CloudDirector::new(
        shared,
        url::Url::parse(&env.sim.base_url()).unwrap(),
        VcdCredentials {
            org: org.org.clone(),
            user: org.admin_user.clone(),
            password: Secret::new(org.admin_password.clone()),
        },
    );
    World {
        env,
        operator,
        org: org.org,
        vcd,
    }
}

fn access(w: &World, name: &str, role: &str, members: &[&str], extra: Value) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"name": m, "email": format!("{m}@acme.example")}))
        .collect();
    let mut spec = json!({"contract": "fca", "fca": {"endpoint": w.env.sim.base_url(),
        "credentialsSecretRef": {"name": "vcd"}, "organization": w.org, "role": role, "members": members}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "ConsoleAccess",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

async fn user(w: &World, name: &str) -> Option<VcdUser> {
    w.vcd
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == name)
}

/// Waits until the organization shows `check` true for the user `name`.
async fn org_shows(w: &World, name: &str, what: &str, check: impl Fn(Option<&VcdUser>) -> bool) {
    wait_until(DEADLINE, what, || async {
        check(user(w, name).await.as_ref()).then_some(())
    })
    .await;
}

async fn members_ready(w: &World, name: &str, count: usize) -> ConsoleAccess {
    wait_for(
        &api::<ConsoleAccess>(&w.env),
        name,
        "members in the organization",
        |o| {
            o.status.as_ref().is_some_and(|s| {
                s.members.len() == count
                    && s.members
                        .iter()
                        .all(|m| m.state == MemberState::Member && m.user_id.is_some())
            }) && has_condition(o, "Ready", "True")
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fca_members_created_role_changed_drift_reverted_and_deleted() {
    let w = world().await;
    // A pre-existing user of the organization is adopted.
    let existing = VcdUser {
        username: "old.timer".into(),
        role_entity_ref: w
            .vcd
            .list_roles()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.name == "vApp User")
            .unwrap(),
        provider_type: "SAML".into(),
        ..VcdUser::default()
    };
    w.vcd.create_user(&existing, None).await.unwrap();
    w.env
        .apply::<ConsoleAccess>(access(
            &w,
            "team",
            "Console Access Only",
            &["jane.doe", "john.roe", "old.timer"],
            json!({"passwords": "GeneratedSecret", "deletionPolicy": "Delete"}),
        ))
        .await;
    let obj = members_ready(&w, "team", 3).await;
    let status = obj.status.unwrap();
    let jane = user(&w, "jane.doe").await.expect("created");
    assert_eq!(jane.role_entity_ref.name, "Console Access Only");
    assert_eq!(jane.provider_type, "LOCAL");
    assert_eq!(status.members[0].user_id.as_deref(), Some(jane.id.as_str()));
    assert!(
        status
            .members
            .iter()
            .find(|m| m.name == "old.timer")
            .is_some_and(|m| !m.created)
    );
    // The generated password is in the owned Secret, not in status, and opens a session.
    let secret_name = status.password_secret.expect("password secret named in status");
    let secret: k8s_openapi::api::core::v1::Secret = api(&w.env).get(&secret_name).await.unwrap();
    let password = String::from_utf8(secret.data.unwrap()["jane.doe"].0.clone()).unwrap();
    let jane_client = CloudDirector::new(
        ConsoleShared::new(
            ccs_operator::portal::ClientConfig {
                allow_http: true,
                ..Default::default()
            },
            &prometheus::Registry::new(),
        )
        .unwrap(),
        url::Url::parse(&w.env.sim.base_url()).unwrap(),
        VcdCredentials {
            org: w.org.clone(),
            user: "jane.doe".into(),
            password: Secret::new(password.clone()),
        },
    );
    jane_client.login().await.expect("the generated password works");
    let shown = serde_json::to_string(&api::<ConsoleAccess>(&w.env).get("team").await.unwrap()).unwrap();
    assert!(!shown.contains(&password), "no password in the object");

    // Role changed in the spec: every member follows.
    w.env
        .apply::<ConsoleAccess>(access(
            &w,
            "team",
            "vApp User",
            &["jane.doe", "john.roe", "old.timer"],
            json!({"passwords": "GeneratedSecret", "deletionPolicy": "Delete"}),
        ))
        .await;
    org_shows(&w, "john.roe", "john.roe has the new role", |u| {
        u.is_some_and(|u| u.role_entity_ref.name == "vApp User")
    })
    .await;

    // Drift: an administrator changes jane's role in the console; it comes back (Full).
    let mut drifted = user(&w, "jane.doe").await.unwrap();
    drifted.role_entity_ref = w
        .vcd
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Organization Administrator")
        .unwrap();
    w.vcd.update_user(&drifted).await.unwrap();
    let patch = json!({"metadata": {"annotations": {ccs_operator::api::common::ANNOTATION_RECONCILE_REQUESTED_AT: "drift-1"}}});
    api::<ConsoleAccess>(&w.env)
        .patch("team", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    org_shows(&w, "jane.doe", "jane's role reverted", |u| {
        u.is_some_and(|u| u.role_entity_ref.name == "vApp User")
    })
    .await;

    // A member removed from the spec is disabled.
    w.env
        .apply::<ConsoleAccess>(access(
            &w,
            "team",
            "vApp User",
            &["jane.doe", "old.timer"],
            json!({"passwords": "GeneratedSecret", "deletionPolicy": "Delete"}),
        ))
        .await;
    org_shows(&w, "john.roe", "john.roe disabled", |u| {
        u.is_some_and(|u| !u.enabled)
    })
    .await;

    // Delete: created users are deleted, the adopted one is disabled and released.
    api::<ConsoleAccess>(&w.env)
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    wait_gone(&api::<ConsoleAccess>(&w.env), "team").await;
    assert!(user(&w, "jane.doe").await.is_none());
    assert!(
        user(&w, "john.roe").await.is_none(),
        "created by the object: deleted"
    );
    let old = user(&w, "old.timer").await.expect("adopted users stay");
    assert!(!old.enabled && old.description.is_empty());
    assert!(!w.operator.logs().contains(&password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fca_remove_access_and_orphan_and_federated_users() {
    let w = world().await;
    w.env
        .apply::<ConsoleAccess>(access(
            &w,
            "keep",
            "Catalog Author",
            &["ann"],
            json!({"deletionPolicy": "RemoveAccess"}),
        ))
        .await;
    w.env
        .apply::<ConsoleAccess>(access(
            &w,
            "orphan",
            "Catalog Author",
            &["bob"],
            json!({"deletionPolicy": "Orphan"}),
        ))
        .await;
    members_ready(&w, "keep", 1).await;
    members_ready(&w, "orphan", 1).await;
    assert_eq!(
        user(&w, "ann").await.unwrap().provider_type,
        "SAML",
        "Federated: no local password"
    );
    for name in ["keep", "orphan"] {
        api::<ConsoleAccess>(&w.env)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        wait_gone(&api::<ConsoleAccess>(&w.env), name).await;
    }
    let ann = user(&w, "ann").await.expect("RemoveAccess keeps the user");
    assert!(!ann.enabled && ann.description.is_empty(), "{ann:?}");
    let bob = user(&w, "bob").await.expect("Orphan keeps the user");
    assert!(bob.enabled && bob.role_entity_ref.name == "Catalog Author");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fca_wrong_credentials_missing_right_and_endpoint_not_allowlisted() {
    let w = world().await;
    let with = |name: &str, secret: &str, endpoint: Option<&str>| {
        let mut m = access(&w, name, "vApp User", &[&format!("{name}.user")], json!({}));
        m["spec"]["fca"]["credentialsSecretRef"]["name"] = json!(secret);
        if let Some(e) = endpoint {
            m["spec"]["fca"]["endpoint"] = json!(e);
        }
        m
    };
    w.env
        .apply::<ConsoleAccess>(with("wrong", "vcd-wrong", None))
        .await;
    w.env
        .apply::<ConsoleAccess>(with("auditor", "vcd-auditor", None))
        .await;
    w.env
        .apply::<ConsoleAccess>(with("elsewhere", "vcd", Some("https://vcd.elsewhere.example")))
        .await;
    let reason = |name: &'static str, reason: &'static str| {
        let w = &w;
        async move {
            wait_condition(&api::<ConsoleAccess>(&w.env), name, "Ready", move |s, r| {
                s == "False" && r == reason
            })
            .await;
            let o = api::<ConsoleAccess>(&w.env).get(name).await.unwrap();
            condition(&o, "Ready").expect("ready").2
        }
    };
    let m = reason("wrong", "Unauthorized").await;
    assert!(m.contains("password") && !m.contains("Wrong-pw-123"), "{m}");
    let m = reason("auditor", "Forbidden").await;
    assert!(
        m.contains("Organization Administrator"),
        "names the role to give: {m}"
    );
    let m = reason("elsewhere", "EndpointNotAllowed").await;
    assert!(m.contains("console.cloudDirectorEndpoints"), "{m}");
    for name in ["wrong.user", "auditor.user", "elsewhere.user"] {
        assert!(user(&w, name).await.is_none(), "nothing created");
    }
    assert!(!w.operator.logs().contains("Wrong-pw-123"));
}

async fn count_members(w: &World) -> usize {
    let users = w.vcd.list_users().await.unwrap();
    users.iter().filter(|u| u.username.starts_with("member.")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fca_killed_five_times_while_adding_twenty_members_each_user_exists_once() {
    // A slow token bucket (10 calls/s, no burst) so the kills land mid-way through the writes.
    let slow = "  rateLimit: {requestsPerSecond: 10, burst: 1}\n";
    let mut w = world_with(slow).await;
    let names: Vec<String> = (0..20).map(|i| format!("member.{i:02}")).collect();
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    w.env
        .apply::<ConsoleAccess>(access(
            &w,
            "crowd",
            "vApp User",
            &members,
            json!({"passwords": "GeneratedSecret"}),
        ))
        .await;
    for round in 0..5 {
        let at_least = 1 + round * 3;
        wait_until(DEADLINE, "users being created", || async {
            (count_members(&w).await >= at_least).then_some(())
        })
        .await;
        w.operator.kill();
        w.operator = w.env.operator(&["--config", &config(&w.env, slow)]);
    }
    let status = members_ready(&w, "crowd", 20).await.status.expect("status");
    let mut users: Vec<String> = w
        .vcd
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.username.starts_with("member."))
        .map(|u| u.username)
        .collect();
    users.sort();
    assert_eq!(users, names, "each user exists once, no orphan");
    let secret: k8s_openapi::api::core::v1::Secret = api(&w.env)
        .get(&status.password_secret.expect("secret"))
        .await
        .unwrap();
    let data = secret.data.expect("data");
    assert!(
        names.iter().all(|n| data.contains_key(n)),
        "every created user's password is kept"
    );
}
