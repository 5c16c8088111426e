//! The reflector caches of every watched namespace, for lookups across objects: duplicate claims,
//! references between kinds, and the state metrics.

use super::key_index::ScopedIndexes;
use crate::api::{BudgetAlert, CloudContract, ConsoleAccess, PortalUser, ServiceOrder};
use kube::runtime::reflector::{ObjectRef, Store};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often [`KindStores::wait_ready`] looks at a store's readiness again.
const READY_RECHECK: Duration = Duration::from_millis(10);

/// Caches of one kind: one store per watched scope (all namespaces, or each listed namespace).
/// Clones share the same stores.
pub struct KindStores<K: kube::Resource<DynamicType = ()> + Clone + 'static> {
    stores: Arc<RwLock<Vec<Store<K>>>>,
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> Default for KindStores<K> {
    fn default() -> Self {
        Self {
            stores: Arc::default(),
        }
    }
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> Clone for KindStores<K> {
    fn clone(&self) -> Self {
        Self {
            stores: self.stores.clone(),
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

    /// The cached object `at`, whichever scope holds it.
    pub fn get(&self, at: &ObjectRef<K>) -> Option<Arc<K>> {
        self.stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find_map(|s| s.get(at))
    }

    /// Waits until every scope has listed once.
    ///
    /// kube's readiness signal (a oneshot behind `Store::wait_until_ready`) keeps the waker of the
    /// last task that polled it only. The controller waits on the same store, so a single wait here
    /// may never be woken: look again every 10 ms instead.
    pub async fn wait_ready(&self) {
        let stores: Vec<Store<K>> = self.stores.read().unwrap_or_else(|p| p.into_inner()).clone();
        for store in stores {
            while tokio::time::timeout(READY_RECHECK, store.wait_until_ready())
                .await
                .is_err()
            {}
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
    /// ConsoleAccesses.
    pub consoles: KindStores<ConsoleAccess>,
    /// PortalUsers by lowercased email (conflicts and shared accounts are per email).
    pub user_emails: ScopedIndexes<PortalUser>,
}

impl Stores {
    /// Finds the namespace of the object an email is about, from the uid in its Message-ID
    /// (a CloudContract, BudgetAlert or ServiceOrder): the key of the per-namespace email limit.
    pub fn namespace_of_email(&self) -> crate::email::guard::NamespaceOf {
        use kube::ResourceExt;
        let (contracts, budgets, orders) =
            (self.contracts.clone(), self.budgets.clone(), self.orders.clone());
        Box::new(move |email| {
            let uid = crate::email::guard::uid_in_message_id(&email.message_id)?;
            let mine = |u: Option<String>| u.as_deref() == Some(uid);
            budgets
                .all()
                .iter()
                .find(|o| mine(o.uid()))
                .and_then(|o| o.namespace())
                .or_else(|| {
                    contracts
                        .all()
                        .iter()
                        .find(|o| mine(o.uid()))
                        .and_then(|o| o.namespace())
                })
                .or_else(|| {
                    orders
                        .all()
                        .iter()
                        .find(|o| mine(o.uid()))
                        .and_then(|o| o.namespace())
                })
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::{reflector, watcher};

    #[tokio::test]
    async fn wait_ready_returns_although_another_task_waits_on_the_same_store() {
        let (reader, mut writer) = reflector::store::<CloudContract>();
        let stores = Arc::new(KindStores::default());
        stores.add(reader.clone());
        let ours = tokio::spawn({
            let stores = stores.clone();
            async move { stores.wait_ready().await }
        });
        tokio::task::yield_now().await;
        // The controller waits too, after us: its waker replaces ours.
        let controller = tokio::spawn(async move { reader.wait_until_ready().await });
        tokio::task::yield_now().await;
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let deadline = Duration::from_secs(10);
        tokio::time::timeout(deadline, controller)
            .await
            .expect("the controller sees the store ready")
            .expect("task")
            .expect("ready");
        tokio::time::timeout(deadline, ours)
            .await
            .expect("wait_ready returns once the store is ready")
            .expect("task");
    }
}
