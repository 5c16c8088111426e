//! End to end: a tenant cannot make the operator send a Secret elsewhere. Endpoints come from the
//! operator's allowlist, redirects are never followed, and a refused object names the reason and
//! the fix while a capture server on loopback receives nothing.

mod support;

use ccs_operator::api::CloudContract;
use kube::Api;
use serde_json::json;
use support::capture::{Capture, Redirector};
use support::e2e::{Env, condition, wait_for};
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
