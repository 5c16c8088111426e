//! Shortcuts of the PortalUser and ServiceOrder end-to-end tests, over [`super::e2e`].

use super::e2e::{DEADLINE, Env, Operator, condition, wait_for, wait_until};
use ccs_operator::api::CloudContract;
use ccs_operator::portal::Offer;
use ccs_simulator::CallRecord;
use kube::Resource;
use kube::api::Api;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The typed API of a kind in `default`.
pub fn api<K>(env: &Env) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    Api::namespaced(env.client.clone(), "default")
}

/// Creates the credentials Secret and the CloudContract `name` for the `index`-th simulated
/// Flexible Engine contract (its catalog has the `FE-` items) with the seeded credential
/// `label`; returns the contract id.
pub async fn contract(env: &Env, name: &str, index: usize, label: &str) -> String {
    offer_contract(env, name, Offer::FE, index, label).await
}

/// Like [`contract`], for the `index`-th contract of `offer` (`Offer::FCA`: an FCA contract).
pub async fn offer_contract(env: &Env, name: &str, offer: Offer, index: usize, label: &str) -> String {
    let id = env.sim.with_world(|w| {
        let mut of = w.contracts.values().filter(|c| c.offer == offer);
        of.nth(index).expect("enough contracts of the offer").id.clone()
    });
    let secret = format!("{name}-creds");
    env.credentials_secret(&secret, &id, label).await;
    let kind = if offer == Offer::FE {
        "FlexibleEngine"
    } else {
        "FlexibleComputingAdvanced"
    };
    env.apply::<CloudContract>(json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract", "metadata": {"name": name},
        "spec": {"contractId": id, "offer": kind, "credentialsSecretRef": {"name": secret}}
    }))
    .await;
    id
}

/// An environment with one Ready CloudContract `acme` (a seeded FE contract, the `operator`
/// credential: Manager everywhere, not referent) and the operator running with `extra` flags.
pub async fn with_contract(extra: &[&str]) -> (Env, Operator, String) {
    let env = Env::start().await;
    let id = contract(&env, "acme", 0, "operator").await;
    let operator = env.operator(extra);
    wait_condition(&api::<CloudContract>(&env), "acme", "Ready", |s, _| s == "True").await;
    (env, operator, id)
}

/// Waits until condition `type_` of the object satisfies `pred(status, reason)`.
pub async fn wait_condition<K>(api: &Api<K>, name: &str, type_: &str, pred: impl Fn(&str, &str) -> bool) -> K
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    wait_for(api, name, &format!("condition {type_}"), |o| {
        condition(o, type_).is_some_and(|(s, r, _)| pred(&s, &r))
    })
    .await
}

/// Waits until the object is gone (its finalizer released).
pub async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    wait_until(DEADLINE, &format!("{name} deleted"), || async {
        matches!(api.get_opt(name).await, Ok(None)).then_some(())
    })
    .await
}

/// Portal writes (anything but GET and the token) since `seq`.
pub fn writes_since(env: &Env, seq: u64) -> Vec<CallRecord> {
    env.calls_since(seq)
        .into_iter()
        .filter(|c| c.method != "GET" && !c.route.contains("oauth"))
        .collect()
}

/// A PortalUser manifest with access to `acme`, merged with `spec`.
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

/// The email and login of a seeded user of the contract, neither its referent nor the operator.
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

/// Events about an object in `default`, as (reason, note).
pub async fn events(env: &Env, name: &str) -> Vec<(String, String)> {
    let api: Api<k8s_openapi::api::events::v1::Event> = api(env);
    api.list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}
