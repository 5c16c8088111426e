//! The reflector caches of every watched namespace, for lookups across objects: duplicate claims,
//! references between kinds, and the state metrics.

use crate::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use kube::runtime::reflector::Store;
use std::sync::{Arc, RwLock};

/// Caches of one kind: one store per watched scope (all namespaces, or each listed namespace).
pub struct KindStores<K: kube::Resource<DynamicType = ()> + Clone + 'static> {
    stores: RwLock<Vec<Store<K>>>,
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> Default for KindStores<K> {
    fn default() -> Self {
        Self {
            stores: RwLock::new(Vec::new()),
        }
    }
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> KindStores<K> {
    /// Adds the store of one scope.
    pub fn add(&self, store: Store<K>) {
        self.stores.write().unwrap_or_else(|p| p.into_inner()).push(store);
    }

    /// Every cached object of every scope.
    pub fn all(&self) -> Vec<Arc<K>> {
        self.stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flat_map(|s| s.state())
            .collect()
    }

    /// Waits until every scope has listed once.
    pub async fn wait_ready(&self) {
        let stores: Vec<Store<K>> = self.stores.read().unwrap_or_else(|p| p.into_inner()).clone();
        for store in stores {
            let _ = store.wait_until_ready().await;
        }
    }
}

/// The caches of the four kinds.
#[derive(Default)]
pub struct Stores {
    /// CloudContracts.
    pub contracts: KindStores<CloudContract>,
    /// PortalUsers.
    pub users: KindStores<PortalUser>,
    /// BudgetAlerts.
    pub budgets: KindStores<BudgetAlert>,
    /// ServiceOrders.
    pub orders: KindStores<ServiceOrder>,
}

/// Orders objects by age: the earliest created first, then by namespace and name. The first of a
/// group claiming one portal resource owns it; the later ones get a conflict.
pub fn claim_order<K: kube::Resource>(obj: &K) -> (Option<String>, String, String) {
    use kube::ResourceExt;
    (
        obj.meta().creation_timestamp.as_ref().map(|t| t.0.to_string()),
        obj.namespace().unwrap_or_default(),
        obj.name_any(),
    )
}
