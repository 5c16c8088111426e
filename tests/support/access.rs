//! Shortcuts of the PortalUser and ServiceOrder tests over [`super::operator_env::Env`].

use super::operator_env::{Env, wait_condition};
use ccs_operator::api::CloudContract;
use ccs_operator::simulator::CallRecord;
use serde_json::{Value, json};

/// An environment with one Ready CloudContract `acme` (seeded contract 0, `operator` credential,
/// Manager everywhere but not referent) and the operator running; returns the contract id.
pub async fn with_contract(sim: ccs_operator::simulator::SimConfig) -> (Env, String) {
    let mut env = Env::start(sim).await;
    let id = env.contract("acme", 0, "operator").await;
    env.start_operator();
    wait_condition(&env.api::<CloudContract>(), "acme", "Ready", |s, _| s == "True").await;
    (env, id)
}

/// The last call's sequence number, to look at what follows.
pub fn mark(env: &Env) -> u64 {
    env.sim.calls(0).last().map_or(0, |c| c.seq)
}

/// Portal writes (anything but GET and the token) since `seq`.
pub fn writes_since(env: &Env, seq: u64) -> Vec<CallRecord> {
    env.sim
        .calls(seq)
        .into_iter()
        .filter(|c| c.method != "GET" && !c.route.contains("oauth"))
        .collect()
}

/// A PortalUser manifest with Visitor on the dashboard of `acme`, merged with `spec`.
pub fn user(name: &str, email: &str, spec: Value) -> Value {
    let mut obj = json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "PortalUser", "metadata": {"name": name},
        "spec": {"email": email, "firstName": "Test", "lastName": "Person",
                 "access": [{"contract": "acme", "profiles": {"dashboard": "Visitor", "requests": "Manager"}}]}
    });
    json_patch::merge(&mut obj["spec"], &spec);
    obj
}

/// The access of `email` on a contract in the simulator: (profiles as JSON, enabled).
pub fn access(env: &Env, contract_id: &str, email: &str) -> Option<(Value, bool)> {
    env.sim.with_world(|w| {
        let account = w.accounts.values().find(|a| a.account.email == email)?;
        let a = w.contracts[contract_id].users.get(&account.account.id)?;
        Some((serde_json::to_value(&a.profiles).ok()?, a.enabled))
    })
}

/// Whether an account with `email` exists in the simulator.
pub fn account_exists(env: &Env, email: &str) -> bool {
    env.sim
        .with_world(|w| w.accounts.values().any(|a| a.account.email == email))
}

/// The email of a seeded, non-referent user of the contract and its login.
pub fn seeded_user(env: &Env, contract_id: &str) -> (String, String) {
    env.sim.with_world(|w| {
        let c = &w.contracts[contract_id];
        let id = c
            .users
            .keys()
            .find(|id| **id != c.referent && !w.accounts[*id].account.email.contains("ops.example"))
            .expect("a seeded user");
        let a = &w.accounts[id].account;
        (a.email.clone(), a.login.clone())
    })
}

/// The email of the contract's referent.
pub fn referent(env: &Env, contract_id: &str) -> String {
    env.sim.with_world(|w| {
        w.accounts[&w.contracts[contract_id].referent]
            .account
            .email
            .clone()
    })
}

/// Events of an object in `default`, as (reason, note).
pub async fn events(env: &Env, name: &str) -> Vec<(String, String)> {
    let api: kube::Api<k8s_openapi::api::events::v1::Event> = env.api();
    api.list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}
