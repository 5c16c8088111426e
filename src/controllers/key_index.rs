//! A secondary index over a watched kind (kube's reflector stores have none): the objects sharing a
//! key, such as the PortalUsers of one email, without scanning every cached object.
//!
//! Fed by the same watch events as the reflector, relists included: objects absent from a relist
//! are dropped from the index when it completes.

use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Objects of kind `K` per key, as their watch last reported them.
pub struct KeyIndex<K: Resource<DynamicType = ()>> {
    key_of: fn(&K) -> String,
    state: Mutex<IndexState<K>>,
}

struct IndexState<K: Resource<DynamicType = ()>> {
    /// Key -> objects.
    by_key: HashMap<String, HashSet<ObjectRef<K>>>,
    /// Object -> its key (to move or drop it without knowing its old key).
    keys: HashMap<ObjectRef<K>, String>,
    /// Objects seen by the relist in progress, if any.
    relisted: Option<HashSet<ObjectRef<K>>>,
}

impl<K: Resource<DynamicType = ()>> KeyIndex<K> {
    /// An empty index keyed by `key_of`.
    pub fn new(key_of: fn(&K) -> String) -> Self {
        Self {
            key_of,
            state: Mutex::new(IndexState {
                by_key: HashMap::new(),
                keys: HashMap::new(),
                relisted: None,
            }),
        }
    }

    /// Applies one watch event.
    pub fn apply(&self, event: &Event<K>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Init => state.relisted = Some(HashSet::new()),
            Event::InitApply(obj) => {
                let at = ObjectRef::from_obj(obj);
                if let Some(seen) = state.relisted.as_mut() {
                    seen.insert(at.clone());
                }
                state.insert(at, (self.key_of)(obj));
            }
            Event::InitDone => {
                if let Some(seen) = state.relisted.take() {
                    let gone: Vec<ObjectRef<K>> = state
                        .keys
                        .keys()
                        .filter(|r| !seen.contains(*r))
                        .cloned()
                        .collect();
                    gone.iter().for_each(|r| state.remove(r));
                }
            }
            Event::Apply(obj) => state.insert(ObjectRef::from_obj(obj), (self.key_of)(obj)),
            Event::Delete(obj) => state.remove(&ObjectRef::from_obj(obj)),
        }
    }

    /// The objects indexed under `key`.
    pub fn get(&self, key: &str) -> Vec<ObjectRef<K>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .by_key
            .get(key)
            .map(|refs| refs.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl<K: Resource<DynamicType = ()>> IndexState<K> {
    fn insert(&mut self, at: ObjectRef<K>, key: String) {
        if self.keys.get(&at) == Some(&key) {
            return;
        }
        self.remove(&at);
        self.by_key.entry(key.clone()).or_default().insert(at.clone());
        self.keys.insert(at, key);
    }

    fn remove(&mut self, at: &ObjectRef<K>) {
        let Some(key) = self.keys.remove(at) else { return };
        if let Some(refs) = self.by_key.get_mut(&key) {
            refs.remove(at);
            if refs.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }
}

/// The indexes of one kind, one per watched scope (each relists on its own).
pub struct ScopedIndexes<K: Resource<DynamicType = ()>> {
    scopes: std::sync::RwLock<Vec<std::sync::Arc<KeyIndex<K>>>>,
}

impl<K: Resource<DynamicType = ()>> Default for ScopedIndexes<K> {
    fn default() -> Self {
        Self {
            scopes: std::sync::RwLock::default(),
        }
    }
}

impl<K: Resource<DynamicType = ()>> ScopedIndexes<K> {
    /// Adds the index of one scope.
    pub fn add(&self, index: std::sync::Arc<KeyIndex<K>>) {
        self.scopes.write().unwrap_or_else(|p| p.into_inner()).push(index);
    }

    /// The objects indexed under `key` in every scope.
    pub fn get(&self, key: &str) -> Vec<ObjectRef<K>> {
        let scopes = self.scopes.read().unwrap_or_else(|p| p.into_inner());
        scopes.iter().flat_map(|index| index.get(key)).collect()
    }
}

/// The index key of a PortalUser: its email, lowercased (the portal compares emails that way).
pub fn email_key(user: &crate::api::PortalUser) -> String {
    user.spec.email.to_lowercase()
}

/// Whether two emails are the same for the portal (case-insensitive), without allocating for
/// ASCII ones.
pub fn same_email(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PortalUser;
    use serde_json::json;

    fn user(name: &str, email: &str) -> PortalUser {
        serde_json::from_value(json!({
            "apiVersion": "customerspace.io/v1alpha1", "kind": "PortalUser",
            "metadata": {"name": name, "namespace": "team"},
            "spec": {"email": email, "firstName": "A", "lastName": "B",
                     "access": [{"contract": "c", "profiles": {"dashboard": "Visitor"}}]}
        }))
        .expect("a PortalUser")
    }

    fn names(index: &KeyIndex<PortalUser>, key: &str) -> Vec<String> {
        let mut names: Vec<String> = index.get(key).into_iter().map(|r| r.name).collect();
        names.sort();
        names
    }

    #[test]
    fn objects_are_found_by_key_moved_and_dropped() {
        let index = KeyIndex::new(email_key);
        index.apply(&Event::Apply(user("a", "Ann@Example.com")));
        index.apply(&Event::Apply(user("b", "ann@example.com")));
        index.apply(&Event::Apply(user("c", "bob@example.com")));
        assert_eq!(names(&index, "ann@example.com"), ["a", "b"]);
        index.apply(&Event::Apply(user("b", "carl@example.com")));
        assert_eq!(names(&index, "ann@example.com"), ["a"]);
        assert_eq!(names(&index, "carl@example.com"), ["b"]);
        index.apply(&Event::Delete(user("a", "ann@example.com")));
        assert!(names(&index, "ann@example.com").is_empty());
        assert!(same_email("Ann@Example.com", "ann@example.COM"));
        assert!(same_email("Élise@exemple.fr", "élise@EXEMPLE.fr"));
        assert!(!same_email("ann@example.com", "anne@example.com"));
    }

    #[test]
    fn a_relist_drops_the_objects_it_no_longer_lists() {
        let index = KeyIndex::new(email_key);
        index.apply(&Event::Apply(user("a", "ann@example.com")));
        index.apply(&Event::Apply(user("b", "ann@example.com")));
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(user("b", "ann@example.com")));
        // Until the relist completes, what it has not listed yet stays.
        assert_eq!(names(&index, "ann@example.com"), ["a", "b"]);
        index.apply(&Event::InitDone);
        assert_eq!(names(&index, "ann@example.com"), ["b"]);
    }
}
