//! Deletion: finalizers, namespace and CRD cleanup, ownerReference garbage collection.
//!
//! Garbage collection runs synchronously inside the deleting write, so dependents disappear in
//! the same instant as their last owner (a real cluster does it moments later). Foreground
//! propagation holds the owner with the `foregroundDeletion` finalizer until its dependents are
//! gone; orphan strips the owner reference from dependents at once.

use super::builtin::CRD_CLEANUP_FINALIZER;
use super::meta::{self, meta_mut};
use super::resource::{Builtin, GroupResource, ResourceInfo};
use super::store::{Inner, ObjKey, crd_storage, key_of};
use serde_json::{Value, json};
use std::sync::Arc;

/// Storage key of namespaces.
pub fn namespaces() -> GroupResource {
    GroupResource::new("", "namespaces")
}

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are collected after the owner is gone (the default).
    #[default]
    Background,
    /// The owner stays (finalizer `foregroundDeletion`) until its dependents are gone.
    Foreground,
    /// Dependents lose the owner reference and stay.
    Orphan,
}

/// Finalizer holding an owner during foreground deletion.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// What a delete did.
#[derive(Debug)]
pub enum Deletion {
    /// The object is gone; its last state.
    Removed(Arc<Value>),
    /// Finalizers (or contents) keep it; it now has a deletionTimestamp.
    Pending(Arc<Value>),
    /// Nothing was changed (dryRun).
    DryRun(Arc<Value>),
}

fn owner_uids(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["uid"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Inner {
    /// Deletes one object with the server's rules: finalizers and namespace/CRD contents delay it.
    pub fn delete_object(&mut self, info: &ResourceInfo, key: &ObjKey, propagation: Propagation) -> Deletion {
        let Some(old) = self.get(&info.storage, key) else {
            return Deletion::Removed(Arc::new(Value::Null));
        };
        if meta::is_terminating(&old) {
            return Deletion::Pending(old);
        }
        let uid = old["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        if propagation == Propagation::Orphan {
            self.orphan_dependents(&uid);
        }
        let foreground = propagation == Propagation::Foreground && !self.dependents_of(&uid).is_empty();
        let is_namespace = info.builtin == Some(Builtin::Namespace);
        if meta::finalizers(&old).is_empty() && !is_namespace && !foreground {
            let last = self.remove(&info.storage, key).expect("checked above");
            self.after_removal(&info.storage, &last);
            return Deletion::Removed(last);
        }
        let mut new = (*old).clone();
        let generation = new["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        let m = meta_mut(&mut new);
        m.insert("deletionTimestamp".into(), json!(meta::now()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        m.insert("generation".into(), json!(generation));
        if is_namespace {
            new["status"] = json!({"phase": "Terminating"});
        }
        if foreground
            && let Some(list) = meta_mut(&mut new)
                .entry("finalizers")
                .or_insert_with(|| json!([]))
                .as_array_mut()
        {
            list.push(json!(FOREGROUND_FINALIZER));
        }
        let pending = self.put(&info.storage, new);
        if foreground {
            let dependents = self.dependents_of(&uid);
            self.delete_all(dependents);
            self.finish_foreground(&uid);
        }
        if is_namespace {
            self.empty_namespace(key.1.as_str());
        } else if info.builtin == Some(Builtin::Crd) {
            self.empty_crd(&pending);
        }
        // The cleanup above may have finished the deletion already.
        match self.get(&info.storage, key) {
            Some(still) => Deletion::Pending(still),
            None => Deletion::Removed(pending),
        }
    }

    /// Hooks run after an object is gone: GC of dependents, namespace and CRD finalisation.
    pub fn after_removal(&mut self, storage: &GroupResource, last: &Value) {
        if let Some(uid) = last["metadata"]["uid"].as_str() {
            self.collect_dependents(uid);
        }
        for owner in owner_uids(last) {
            self.finish_foreground(&owner);
        }
        let (ns, _) = key_of(last);
        if !ns.is_empty() {
            self.finish_namespace(&ns);
        }
        if !storage.group.is_empty() && *storage != crd_storage() {
            let crd_name = format!("{}.{}", storage.resource, storage.group);
            self.finish_crd(&crd_name);
        }
    }

    fn collect_dependents(&mut self, owner_uid: &str) {
        let mut victims = vec![];
        for (storage, bucket) in &self.objects {
            for (key, object) in bucket {
                let owners = owner_uids(object);
                if owners.iter().any(|u| u == owner_uid) && owners.iter().all(|u| !self.uid_exists(u)) {
                    victims.push((storage.clone(), key.clone()));
                }
            }
        }
        self.delete_all(victims);
    }

    /// Objects with an owner reference to `uid`.
    fn dependents_of(&self, uid: &str) -> Vec<(GroupResource, ObjKey)> {
        let mut found = vec![];
        for (storage, bucket) in &self.objects {
            for (key, object) in bucket {
                if owner_uids(object).iter().any(|u| u == uid) {
                    found.push((storage.clone(), key.clone()));
                }
            }
        }
        found
    }

    /// Releases an owner held by `foregroundDeletion` once it has no dependents left.
    fn finish_foreground(&mut self, uid: &str) {
        if !self.dependents_of(uid).is_empty() {
            return;
        }
        let held = self.objects.iter().find_map(|(storage, bucket)| {
            bucket
                .iter()
                .find(|(_, o)| o["metadata"]["uid"].as_str() == Some(uid))
                .filter(|(_, o)| meta::finalizers(o).iter().any(|f| f == FOREGROUND_FINALIZER))
                .map(|(k, o)| (storage.clone(), k.clone(), (**o).clone()))
        });
        let Some((storage, key, mut owner)) = held else {
            return;
        };
        if let Some(list) = owner["metadata"]["finalizers"].as_array_mut() {
            list.retain(|f| f != FOREGROUND_FINALIZER);
        }
        if meta::finalizers(&owner).is_empty() {
            if let Some(last) = self.remove(&storage, &key) {
                self.after_removal(&storage, &last);
            }
        } else {
            self.put(&storage, owner);
        }
    }

    fn delete_all(&mut self, victims: Vec<(GroupResource, ObjKey)>) {
        for (storage, key) in victims {
            let info = match self.registry.by_storage(&storage) {
                Some(info) => info,
                None => Arc::new(ResourceInfo::bare(storage)),
            };
            self.delete_object(&info, &key, Propagation::Background);
        }
    }

    fn uid_exists(&self, uid: &str) -> bool {
        self.objects
            .values()
            .flat_map(|b| b.values())
            .any(|o| o["metadata"]["uid"].as_str() == Some(uid))
    }

    fn orphan_dependents(&mut self, owner_uid: &str) {
        let mut updates = vec![];
        for (storage, bucket) in &self.objects {
            for object in bucket.values() {
                if owner_uids(object).iter().any(|u| u == owner_uid) {
                    let mut o = (**object).clone();
                    if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|r| r["uid"].as_str() != Some(owner_uid));
                    }
                    updates.push((storage.clone(), o));
                }
            }
        }
        for (storage, o) in updates {
            self.put(&storage, o);
        }
    }

    /// Deletes everything in a terminating namespace, then the namespace once empty.
    fn empty_namespace(&mut self, ns: &str) {
        let mut victims = vec![];
        for (storage, bucket) in &self.objects {
            let keys = bucket
                .range((ns.to_string(), String::new())..)
                .take_while(|(k, _)| k.0 == ns);
            victims.extend(keys.map(|(k, _)| (storage.clone(), k.clone())));
        }
        self.delete_all(victims);
        self.finish_namespace(ns);
    }

    fn finish_namespace(&mut self, ns: &str) {
        let key = (String::new(), ns.to_string());
        let Some(namespace) = self.get(&namespaces(), &key) else {
            return;
        };
        let empty = self
            .objects
            .iter()
            .filter(|(s, _)| **s != namespaces())
            .all(|(_, b)| {
                b.range((ns.to_string(), String::new())..)
                    .next()
                    .is_none_or(|(k, _)| k.0 != ns)
            });
        if meta::is_terminating(&namespace) && empty && meta::finalizers(&namespace).is_empty() {
            self.remove(&namespaces(), &key);
        }
    }

    /// Deletes every custom resource of a terminating CRD.
    fn empty_crd(&mut self, crd: &Value) {
        let storage = GroupResource::new(
            crd["spec"]["group"].as_str().unwrap_or_default(),
            crd["spec"]["names"]["plural"].as_str().unwrap_or_default(),
        );
        let keys: Vec<ObjKey> = self
            .objects
            .get(&storage)
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        self.delete_all(keys.into_iter().map(|k| (storage.clone(), k)).collect());
        self.finish_crd(crd["metadata"]["name"].as_str().unwrap_or_default());
    }

    fn finish_crd(&mut self, crd_name: &str) {
        let key = (String::new(), crd_name.to_string());
        let Some(crd) = self.get(&crd_storage(), &key) else {
            return;
        };
        let storage = GroupResource::new(
            crd["spec"]["group"].as_str().unwrap_or_default(),
            crd["spec"]["names"]["plural"].as_str().unwrap_or_default(),
        );
        let has_finalizer = meta::finalizers(&crd).iter().any(|f| f == CRD_CLEANUP_FINALIZER);
        if !meta::is_terminating(&crd)
            || !has_finalizer
            || self.objects.get(&storage).is_some_and(|b| !b.is_empty())
        {
            return;
        }
        let mut done = (*crd).clone();
        if let Some(list) = done["metadata"]["finalizers"].as_array_mut() {
            list.retain(|f| f != CRD_CLEANUP_FINALIZER);
        }
        if meta::finalizers(&done).is_empty() {
            self.remove(&crd_storage(), &key);
        } else {
            self.put(&crd_storage(), done);
        }
    }
}
