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

/// Proven claims per contract id.
#[derive(Default)]
pub struct Claims {
    by_id: Mutex<HashMap<String, BTreeMap<Order, String>>>,
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

    /// The oldest proven claim of `contract_id` among objects that still exist (`exists(uid)`).
    pub fn holder(&self, contract_id: &str, exists: impl Fn(&str) -> bool) -> Option<Holder> {
        let by_id = self.locked();
        by_id
            .get(contract_id)?
            .iter()
            .find(|(_, uid)| exists(uid))
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
}
