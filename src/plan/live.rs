//! The live objects: read from the cluster with list calls only (GET), or nothing offline.

use crate::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use anyhow::Context as _;
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;

/// The live objects of our kinds in the namespaces the manifests use.
#[derive(Default)]
pub struct Live {
    /// CloudContracts (every namespace when readable, for duplicate contract ids).
    pub contracts: Vec<CloudContract>,
    /// PortalUsers.
    pub users: Vec<PortalUser>,
    /// BudgetAlerts.
    pub budgets: Vec<BudgetAlert>,
    /// ServiceOrders.
    pub orders: Vec<ServiceOrder>,
    /// With `--refresh`: the portal read per CloudContract.
    pub portal: Option<super::refresh::Refreshed>,
    index: HashMap<(&'static str, String, String), usize>,
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_string(), name.to_string())
}

impl Live {
    /// Indexes the objects by kind, namespace and name.
    pub fn new(
        contracts: Vec<CloudContract>,
        users: Vec<PortalUser>,
        budgets: Vec<BudgetAlert>,
        orders: Vec<ServiceOrder>,
    ) -> Self {
        let mut index = HashMap::new();
        fn add<K: ResourceExt>(
            index: &mut HashMap<(&'static str, String, String), usize>,
            kind: &'static str,
            items: &[K],
        ) {
            for (i, o) in items.iter().enumerate() {
                let (ns, name) = key(&o.namespace().unwrap_or_default(), &o.name_any());
                index.insert((kind, ns, name), i);
            }
        }
        add(&mut index, "CloudContract", &contracts);
        add(&mut index, "PortalUser", &users);
        add(&mut index, "BudgetAlert", &budgets);
        add(&mut index, "ServiceOrder", &orders);
        Self {
            contracts,
            users,
            budgets,
            orders,
            portal: None,
            index,
        }
    }

    fn at(&self, kind: &'static str, namespace: &str, name: &str) -> Option<usize> {
        let (ns, n) = key(namespace, name);
        self.index.get(&(kind, ns, n)).copied()
    }

    /// A live CloudContract.
    pub fn contract(&self, namespace: &str, name: &str) -> Option<&CloudContract> {
        self.at("CloudContract", namespace, name)
            .map(|i| &self.contracts[i])
    }

    /// A live PortalUser.
    pub fn user(&self, namespace: &str, name: &str) -> Option<&PortalUser> {
        self.at("PortalUser", namespace, name).map(|i| &self.users[i])
    }

    /// A live BudgetAlert.
    pub fn budget(&self, namespace: &str, name: &str) -> Option<&BudgetAlert> {
        self.at("BudgetAlert", namespace, name).map(|i| &self.budgets[i])
    }

    /// A live ServiceOrder.
    pub fn order(&self, namespace: &str, name: &str) -> Option<&ServiceOrder> {
        self.at("ServiceOrder", namespace, name).map(|i| &self.orders[i])
    }

    /// The live object of a manifest, as JSON, for admission's transition rules and the diff.
    pub fn value(&self, kind: &str, namespace: &str, name: &str) -> Option<serde_json::Value> {
        let json = |v: Result<serde_json::Value, _>| v.ok();
        match kind {
            "CloudContract" => self
                .contract(namespace, name)
                .and_then(|o| json(serde_json::to_value(o))),
            "PortalUser" => self
                .user(namespace, name)
                .and_then(|o| json(serde_json::to_value(o))),
            "BudgetAlert" => self
                .budget(namespace, name)
                .and_then(|o| json(serde_json::to_value(o))),
            "ServiceOrder" => self
                .order(namespace, name)
                .and_then(|o| json(serde_json::to_value(o))),
            _ => None,
        }
    }
}

async fn list<K>(client: &kube::Client, namespace: Option<&str>) -> anyhow::Result<Vec<K>>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.with_context(|| {
            format!(
                "listing {} in {}",
                K::plural(&()),
                namespace.map_or("every namespace".to_string(), |n| format!("namespace {n}"))
            )
        })?;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    Ok(items)
}

/// Reads the four kinds in `namespaces` (lists only). CloudContracts are listed in every namespace
/// when the credentials allow it (a duplicate contract id may live elsewhere), else per namespace.
pub async fn read(client: &kube::Client, namespaces: &BTreeSet<String>) -> anyhow::Result<Live> {
    // Forbidden cluster-wide (a namespaced CI role): per namespace below.
    let mut contracts: Vec<CloudContract> = list::<CloudContract>(client, None).await.unwrap_or_default();
    let all_contracts = !contracts.is_empty();
    let mut users = Vec::new();
    let mut budgets = Vec::new();
    let mut orders = Vec::new();
    for ns in namespaces {
        let ns = Some(ns.as_str());
        let (c, u, b, o) = tokio::try_join!(
            async {
                if all_contracts {
                    Ok(Vec::new())
                } else {
                    list::<CloudContract>(client, ns).await
                }
            },
            list::<PortalUser>(client, ns),
            list::<BudgetAlert>(client, ns),
            list::<ServiceOrder>(client, ns),
        )?;
        contracts.extend(c);
        users.extend(u);
        budgets.extend(b);
        orders.extend(o);
    }
    Ok(Live::new(contracts, users, budgets, orders))
}
