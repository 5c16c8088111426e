//! Contract ids claimed by proof: a CloudContract holds its `contractId` only after its own
//! credentials read that contract from the portal. Among the proven claims of one id, the oldest
//! object wins; an object that never proved access claims nothing, so it cannot block the rightful
//! owner. Entries leave with their CloudContract (and when its credentials stop working).

use super::stores::claim_order;
use crate::api::CloudContract;
use kube::ResourceExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Claim order (creation time, namespace, name) of a CloudContract.
type Order = (Option<String>, String, String);

/// Contract ids held before [`Claims::holder`] prunes every id (not only the one asked about).
const PRUNE_ABOVE: usize = 1024;

/// Proven claims per contract id.
///
/// Entries leave with their CloudContract's delete event; one deleted while the watch was down
/// sends none, so [`Claims::holder`] also drops the claims of objects that no longer exist: those
/// of the id asked about every time, all of them once the map has doubled since the last sweep.
#[derive(Default)]
pub struct Claims {
    by_id: Mutex<HashMap<String, BTreeMap<Order, String>>>,
    /// Ids held after the last full sweep.
    swept_len: std::sync::atomic::AtomicUsize,
}

/// Who holds a contract id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its uid.
    pub uid: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl Claims {
    fn locked(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<Order, String>>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `contract`'s credentials read its contract id.
    pub fn prove(&self, contract: &CloudContract) {
        let uid = contract.uid().unwrap_or_default();
        let mut by_id = self.locked();
        // One claim per object: drop an older claim of this uid (a changed id cannot happen, the
        // field is immutable, but a recreated object gets a new uid anyway).
        for claims in by_id.values_mut() {
            claims.retain(|_, u| *u != uid);
        }
        by_id
            .entry(contract.spec.contract_id.clone())
            .or_default()
            .insert(claim_order(contract), uid);
    }

    /// Withdraws `contract`'s claim (deleted, or its credentials no longer read the contract).
    pub fn forget(&self, contract: &CloudContract) {
        let uid = contract.uid().unwrap_or_default();
        let mut by_id = self.locked();
        if let Some(claims) = by_id.get_mut(&contract.spec.contract_id) {
            claims.retain(|_, u| *u != uid);
            if claims.is_empty() {
                by_id.remove(&contract.spec.contract_id);
            }
        }
    }

    /// The oldest proven claim of `contract_id` among objects that still exist (`exists(uid)`);
    /// the claims of objects that do not are dropped.
    pub fn holder(&self, contract_id: &str, exists: impl Fn(&str) -> bool) -> Option<Holder> {
        use std::sync::atomic::Ordering;
        let mut by_id = self.locked();
        let swept = self.swept_len.load(Ordering::Relaxed);
        if by_id.len() > PRUNE_ABOVE.max(swept.saturating_mul(2)) {
            by_id.retain(|_, claims| {
                claims.retain(|_, uid| exists(uid));
                !claims.is_empty()
            });
            self.swept_len.store(by_id.len(), Ordering::Relaxed);
        }
        let claims = by_id.get_mut(contract_id)?;
        claims.retain(|_, uid| exists(uid));
        if claims.is_empty() {
            by_id.remove(contract_id);
            return None;
        }
        by_id
            .get(contract_id)?
            .iter()
            .next()
            .map(|((_, namespace, name), uid)| Holder {
                uid: uid.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contract(ns: &str, created: &str, uid: &str) -> CloudContract {
        serde_json::from_value(json!({
            "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
            "metadata": {"name": "c", "namespace": ns, "uid": uid, "creationTimestamp": created},
            "spec": {"contractId": "OCB1", "offer": "FlexibleEngine", "credentialsSecretRef": {"name": "s"}}
        }))
        .expect("a CloudContract")
    }

    #[test]
    fn the_oldest_proven_claim_holds_the_id_whatever_the_order() {
        let claims = Claims::default();
        let old = contract("a", "2026-01-01T00:00:00Z", "u-old");
        let new = contract("b", "2026-02-01T00:00:00Z", "u-new");
        claims.prove(&new);
        assert_eq!(claims.holder("OCB1", |_| true).expect("held").uid, "u-new");
        claims.prove(&old);
        assert_eq!(claims.holder("OCB1", |_| true).expect("held").uid, "u-old");
        assert_eq!(
            claims.holder("OCB1", |u| u != "u-old").expect("held").uid,
            "u-new"
        );
        claims.forget(&old);
        assert_eq!(claims.holder("OCB1", |_| true).expect("held").namespace, "b");
        claims.forget(&new);
        assert!(claims.holder("OCB1", |_| true).is_none());
    }

    #[test]
    fn claims_of_objects_gone_without_a_delete_event_are_dropped() {
        let claims = Claims::default();
        for i in 0..5000 {
            let mut c = contract("a", "2026-01-01T00:00:00Z", &format!("u-{i}"));
            c.spec.contract_id = format!("OCB{i}");
            claims.prove(&c);
        }
        let live = |uid: &str| uid == "u-1";
        assert!(claims.holder("OCB0", live).is_none(), "u-0 is gone");
        assert_eq!(claims.holder("OCB1", live).expect("held").uid, "u-1");
        assert_eq!(claims.locked().len(), 1, "every id of a gone object swept");
    }
}
