//! `--refresh`: "current" read from the portal itself, read-only, with each CloudContract's
//! credentials, under the operator's rules: the endpoint must be allowed by the operator's
//! configuration, the Secret must carry the credentials label and the fixed keys (the operator's
//! own [`PortalAccess`] builds the client). Only the `CustomerSpace` read methods are called: the
//! dashboard, the contract's users and its catalog. A contract that cannot be read is an error
//! line in the plan, not a failure of the plan.

use super::input::Manifest;
use super::live::Live;
use crate::api::CloudContract;
use crate::config::OperatorConfig;
use crate::controllers::portal_access::{PortalAccess, portal_error};
use crate::portal::{CatalogItem, ContractUser, Dashboard};
use futures::StreamExt as _;
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Contracts read at once.
const CONCURRENCY: usize = 4;

/// What the portal answered for one contract.
#[derive(Debug)]
pub struct Fresh {
    /// The contract id read.
    pub contract_id: String,
    /// Contract, weather, consumption, bills.
    pub dashboard: Dashboard,
    /// The contract's users.
    pub users: Vec<ContractUser>,
    /// The contract's catalog.
    pub catalog: Vec<CatalogItem>,
}

/// Per CloudContract (namespace, name): the portal's answer, or why it could not be read.
pub type Refreshed = HashMap<(String, String), Result<Fresh, String>>;

fn namespace_of(object: &serde_json::Value, default_namespace: &str) -> String {
    object["metadata"]["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or(default_namespace)
        .to_string()
}

/// The CloudContracts the manifests declare or name (`spec.access[].contract`, `spec.contract`),
/// as they will be once applied: the manifest's when it declares one, else the live object's.
fn contracts_to_read(manifests: &[Manifest], live: &Live, default_namespace: &str) -> Vec<CloudContract> {
    let mut declared: BTreeMap<(String, String), CloudContract> = BTreeMap::new();
    let mut named: BTreeSet<(String, String)> = BTreeSet::new();
    for m in manifests {
        let namespace = namespace_of(&m.object, default_namespace);
        let spec = &m.object["spec"];
        match m.kind() {
            "CloudContract" => {
                let mut object = m.object.clone();
                object["metadata"]["namespace"] = serde_json::Value::String(namespace.clone());
                // A manifest that does not parse is refused by admission; nothing to read for it.
                if let Ok(c) = serde_json::from_value::<CloudContract>(object) {
                    declared.insert((namespace, m.name().to_string()), c);
                }
            }
            "PortalUser" => {
                for a in spec["access"].as_array().into_iter().flatten() {
                    if let Some(name) = a["contract"].as_str() {
                        named.insert((namespace.clone(), name.to_string()));
                    }
                }
            }
            _ => {
                if let Some(name) = spec["contract"].as_str() {
                    named.insert((namespace, name.to_string()));
                }
            }
        }
    }
    for (namespace, name) in named {
        if declared.contains_key(&(namespace.clone(), name.clone())) {
            continue;
        }
        if let Some(c) = live.contract(&namespace, &name) {
            declared.insert((namespace, name), c.clone());
        }
    }
    declared.into_values().collect()
}

async fn read_one(
    access: &PortalAccess,
    kube: &kube::Client,
    contract: &CloudContract,
) -> Result<Fresh, String> {
    let id = contract.spec.contract_id.as_str();
    let client = access
        .client_for(kube, contract)
        .await
        .map_err(|e| e.to_string())?;
    let (dashboard, users, catalog) = tokio::try_join!(
        async {
            client
                .dashboard(id)
                .await
                .map_err(|e| portal_error(e, "reading the dashboard"))
        },
        async {
            client
                .list_users(id)
                .await
                .map_err(|e| portal_error(e, "listing the contract's users"))
        },
        async {
            client
                .list_catalog(id)
                .await
                .map_err(|e| portal_error(e, "reading the catalog"))
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(Fresh {
        contract_id: id.to_string(),
        dashboard,
        users,
        catalog,
    })
}

/// Reads the portal for every CloudContract the manifests declare or name (see the module doc).
pub async fn read(
    kube: &kube::Client,
    config: &OperatorConfig,
    manifests: &[Manifest],
    live: &Live,
    default_namespace: &str,
) -> anyhow::Result<Refreshed> {
    // A registry of its own: the client's metrics are not served by `plan`.
    let access = PortalAccess::new(config, &prometheus::Registry::new())?;
    let contracts = contracts_to_read(manifests, live, default_namespace);
    let access = &access;
    let results: Vec<((String, String), Result<Fresh, String>)> = futures::stream::iter(contracts)
        .map(|c| async move {
            let key = (c.namespace().unwrap_or_default(), c.name_any());
            (key, read_one(access, kube, &c).await)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    Ok(results.into_iter().collect())
}
