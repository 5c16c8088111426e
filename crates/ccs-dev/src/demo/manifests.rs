//! Loads the demo manifests and applies them, giving each CloudContract's credentials Secret the
//! simulator's seeded credentials for its contract.

use anyhow::Context;
use ccs_simulator::Simulator;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Discovery;
use serde_json::Value;
use std::path::Path;

/// The samples of `config/samples`, compiled in so that the demo runs from any directory (a test
/// checks they are the files of `config/samples`, which stay the source), in file-name order.
pub const SAMPLES: &[(&str, &str)] = &[
    (
        "00-credentials-secret.yaml",
        include_str!("../../../../config/samples/00-credentials-secret.yaml"),
    ),
    (
        "10-cloudcontract.yaml",
        include_str!("../../../../config/samples/10-cloudcontract.yaml"),
    ),
    (
        "20-portaluser.yaml",
        include_str!("../../../../config/samples/20-portaluser.yaml"),
    ),
    (
        "30-budgetalert.yaml",
        include_str!("../../../../config/samples/30-budgetalert.yaml"),
    ),
    (
        "40-serviceorder.yaml",
        include_str!("../../../../config/samples/40-serviceorder.yaml"),
    ),
];

/// Every YAML document of the built-in samples.
pub fn samples() -> anyhow::Result<Vec<Value>> {
    parse(
        SAMPLES
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string())),
    )
}

/// Every YAML document of the `.yaml`/`.yml` files of `dir`, in file-name order.
pub fn load(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("--manifests {}: cannot read the directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        texts.push((file.display().to_string(), text));
    }
    parse(texts)
}

fn parse(files: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    for (name, text) in files {
        let parsed: Vec<Value> =
            serde_saphyr::from_multiple(&text).with_context(|| format!("parsing {name}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn the_built_in_samples_are_the_files_of_config_samples() {
        let dir = config_dir().join("samples");
        let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("config/samples")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .map(|p| {
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).expect("read"))
            })
            .collect();
        on_disk.sort();
        let built_in: Vec<(String, String)> = SAMPLES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&built_in),
            names(&on_disk),
            "add or remove the sample in SAMPLES (crates/ccs-dev/src/demo/manifests.rs)"
        );
        assert!(
            built_in == on_disk,
            "a built-in sample differs from config/samples: rebuild"
        );
        assert_eq!(samples().expect("parse"), load(&dir).expect("load"));
    }

    #[test]
    fn the_built_in_simulator_settings_are_config_simulator_demo_yaml() {
        let on_disk = std::fs::read_to_string(config_dir().join("simulator-demo.yaml")).expect("read");
        assert_eq!(super::super::SIMULATOR_CONFIG, on_disk);
        ccs_simulator::SimConfig::from_yaml(super::super::SIMULATOR_CONFIG).expect("valid settings");
    }
}
