//! A secondary index over a watched kind (kube's reflector stores have none): the objects sharing a
//! key, such as the PortalUsers of one email, without scanning every cached object.
//!
//! Fed by the same watch events as the reflector, relists included: objects absent from a relist
//! are dropped from the index when it completes.

use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Objects of kind `K` per key, as their watch last reported them.
///
/// Each object costs one shared reference (name and namespace only) and one shared key string,
/// about 250 bytes with the maps' overhead: it is held for every cached object.
pub struct KeyIndex<K: Resource<DynamicType = ()>> {
    key_of: fn(&K) -> String,
    state: Mutex<IndexState<K>>,
}

/// An object, by namespace and name only (an `ObjectRef` from an object also carries its uid and
/// resourceVersion: not needed to find it, and twice the size).
type Slim<K> = Arc<ObjectRef<K>>;

struct IndexState<K: Resource<DynamicType = ()>> {
    /// Key -> objects.
    by_key: HashMap<Arc<str>, HashSet<Slim<K>>>,
    /// Object -> its key (to move or drop it without knowing its old key).
    keys: HashMap<Slim<K>, Arc<str>>,
    /// Objects seen by the relist in progress, if any.
    relisted: Option<HashSet<Slim<K>>>,
}

fn slim<K: Resource<DynamicType = ()>>(obj: &K) -> Slim<K> {
    let name = obj.meta().name.as_deref().unwrap_or_default();
    let at = ObjectRef::new(name);
    Arc::new(match obj.meta().namespace.as_deref() {
        Some(ns) => at.within(ns),
        None => at,
    })
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
                let at = slim(obj);
                if let Some(seen) = state.relisted.as_mut() {
                    seen.insert(at.clone());
                }
                state.insert(at, (self.key_of)(obj));
            }
            Event::InitDone => {
                if let Some(seen) = state.relisted.take() {
                    let gone: Vec<Slim<K>> = state
                        .keys
                        .keys()
                        .filter(|r| !seen.contains(*r))
                        .cloned()
                        .collect();
                    gone.iter().for_each(|r| state.remove(r));
                }
            }
            Event::Apply(obj) => state.insert(slim(obj), (self.key_of)(obj)),
            Event::Delete(obj) => state.remove(&slim(obj)),
        }
    }

    /// The objects indexed under `key`.
    pub fn get(&self, key: &str) -> Vec<ObjectRef<K>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .by_key
            .get(key)
            .map(|refs| refs.iter().map(|r| r.as_ref().clone()).collect())
            .unwrap_or_default()
    }
}

impl<K: Resource<DynamicType = ()>> IndexState<K> {
    fn insert(&mut self, at: Slim<K>, key: String) {
        if self.keys.get(&at).is_some_and(|k| **k == *key) {
            return;
        }
        self.remove(&at);
        // Objects sharing a key share its string.
        let key: Arc<str> = match self.by_key.get_key_value(key.as_str()) {
            Some((shared, _)) => shared.clone(),
            None => key.into(),
        };
        self.by_key.entry(key.clone()).or_default().insert(at.clone());
        self.keys.insert(at, key);
    }

    fn remove(&mut self, at: &Slim<K>) {
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

/// Passes on the objects of a watch whose hash changed, and deletions: a filter that remembers
/// one hash per live object. Relists are followed like [`KeyIndex`] does, so an object deleted
/// while the watch was down (no delete event) does not stay behind.
pub struct Changes<K: Resource<DynamicType = ()>> {
    hash: fn(&K) -> u64,
    /// uid (hashed: 16 bytes per object) -> hash last passed on.
    seen: HashMap<u64, u64>,
    /// uids listed by the relist in progress, if any.
    relisted: Option<HashSet<u64>>,
}

/// A 64-bit hash of an object's uid (SipHash with fixed keys: stable within the process).
fn uid_hash<K: Resource>(obj: &K) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().uid.hash(&mut h);
    h.finish()
}

impl<K: Resource<DynamicType = ()>> Changes<K> {
    /// Nothing seen yet.
    pub fn new(hash: fn(&K) -> u64) -> Self {
        Self {
            hash,
            seen: HashMap::new(),
            relisted: None,
        }
    }

    /// The object of `event` if it is new, changed (per the hash) or deleted.
    pub fn changed(&mut self, event: Event<K>) -> Option<K> {
        let uid = uid_hash::<K>;
        match event {
            Event::Init => {
                self.relisted = Some(HashSet::new());
                None
            }
            Event::InitDone => {
                if let Some(listed) = self.relisted.take() {
                    self.seen.retain(|uid, _| listed.contains(uid));
                }
                None
            }
            Event::InitApply(obj) | Event::Apply(obj) => {
                let uid = uid(&obj);
                if let Some(listed) = self.relisted.as_mut() {
                    listed.insert(uid);
                }
                let hash = (self.hash)(&obj);
                (self.seen.insert(uid, hash) != Some(hash)).then_some(obj)
            }
            Event::Delete(obj) => {
                self.seen.remove(&uid(&obj));
                Some(obj)
            }
        }
    }

    /// Objects remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
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

    fn with_uid(name: &str, email: &str) -> PortalUser {
        let mut u = user(name, email);
        u.metadata.uid = Some(format!("uid-{name}"));
        u
    }

    #[test]
    fn changes_pass_new_changed_and_deleted_objects_and_forget_the_unlisted() {
        let mut changes = Changes::new(|u: &PortalUser| u.spec.email.len() as u64);
        assert!(
            changes
                .changed(Event::Apply(with_uid("a", "a@x.example")))
                .is_some()
        );
        assert!(
            changes
                .changed(Event::Apply(with_uid("a", "b@x.example")))
                .is_none(),
            "same hash"
        );
        assert!(
            changes
                .changed(Event::Apply(with_uid("a", "aa@x.example")))
                .is_some()
        );
        assert!(
            changes
                .changed(Event::Apply(with_uid("b", "b@x.example")))
                .is_some()
        );
        assert!(
            changes
                .changed(Event::Delete(with_uid("b", "b@x.example")))
                .is_some()
        );
        assert_eq!(changes.len(), 1);
        // Many objects come and go while the watch is down: the relist lists only "c".
        for i in 0..100 {
            changes.changed(Event::Apply(with_uid(&format!("gone-{i}"), "g@x.example")));
        }
        changes.changed(Event::Init);
        assert!(
            changes
                .changed(Event::InitApply(with_uid("c", "c@x.example")))
                .is_some()
        );
        assert!(changes.changed(Event::InitDone).is_none());
        assert_eq!(changes.len(), 1, "only what the relist listed is remembered");
    }
}
