//! Loads the demo manifests and applies them, giving each CloudContract's credentials Secret the
//! simulator's seeded credentials for its contract.

use anyhow::Context;
use ccs_simulator::Simulator;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Discovery;
use serde_json::Value;
use std::path::Path;

/// Every YAML document of the `.yaml`/`.yml` files of `dir`, in file-name order.
pub fn load(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading manifests from {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let parsed: Vec<Value> =
            serde_saphyr::from_multiple(&text).with_context(|| format!("parsing {}", file.display()))?;
        docs.extend(parsed.into_iter().filter(|d| d.is_object()));
    }
    Ok(docs)
}

/// Replaces the data of the Secrets the CloudContracts reference with the simulator's `operator`
/// credentials of their contract, so the samples work against the simulator as written.
pub fn wire_credentials(docs: &mut [Value], sim: &Simulator) {
    let pairs: Vec<(String, String, String)> = docs
        .iter()
        .filter(|d| d["kind"] == "CloudContract")
        .filter_map(|d| {
            Some((
                d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
                d["spec"]["credentialsSecretRef"]["name"].as_str()?.to_string(),
                d["spec"]["contractId"].as_str()?.to_string(),
            ))
        })
        .collect();
    for (namespace, secret, contract_id) in pairs {
        let Some(credential) = sim.credentials(&contract_id, "operator") else {
            continue;
        };
        for doc in docs.iter_mut().filter(|d| {
            d["kind"] == "Secret"
                && d["metadata"]["name"] == secret.as_str()
                && d["metadata"]["namespace"].as_str().unwrap_or("default") == namespace
        }) {
            doc["stringData"] = serde_json::json!({
                "clientId": credential.client_id,
                "clientSecret": credential.client_secret.expose(),
                "apiKey": credential.api_key.expose(),
            });
            if let Some(obj) = doc.as_object_mut() {
                obj.remove("data");
            }
        }
    }
}

/// Server-side applies every document (namespace `default` unless set).
pub async fn apply(client: &kube::Client, docs: &[Value]) -> anyhow::Result<usize> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .context("API discovery")?;
    let params = PatchParams::apply("ccs-operator-demo").force();
    for doc in docs {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        let name = doc["metadata"]["name"]
            .as_str()
            .context("a manifest has no metadata.name")?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = discovery
            .resolve_gvk(&gvk)
            .with_context(|| format!("unknown kind {api_version} {kind}"))?;
        let api: Api<DynamicObject> = if caps.scope == kube::discovery::Scope::Namespaced {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
            Api::namespaced_with(client.clone(), ns, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        api.patch(name, &params, &Patch::Apply(doc))
            .await
            .with_context(|| format!("applying {kind} {name}"))?;
    }
    Ok(docs.len())
}
