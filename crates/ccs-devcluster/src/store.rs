//! The object store: an etcd-like revisioned map with a bounded change history and a
//! broadcast channel feeding watches.

use super::resource::{GroupResource, Registry};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::broadcast;

/// (namespace, name); the namespace is "" for cluster-scoped objects.
pub type ObjKey = (String, String);

/// Kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// Watch event type string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct Change {
    /// Revision of this change.
    pub revision: u64,
    /// Where it happened.
    pub storage: GroupResource,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (the last state for deletions), in storage form.
    pub object: Arc<Value>,
    /// The object before the change (for selector transitions).
    pub old: Option<Arc<Value>>,
    /// The watch line of this change as most watches send it (full object, stored version, the
    /// change's own event type), encoded once for all of them.
    pub line: std::sync::OnceLock<axum::body::Bytes>,
}

/// Store contents, guarded by one lock so each write is atomic with its event.
#[derive(Debug)]
pub struct Inner {
    /// Current revision (the last committed write).
    pub revision: u64,
    /// Changes with a revision <= this are no longer in `history`.
    pub compacted: u64,
    /// Retained changes, oldest first.
    pub history: VecDeque<Arc<Change>>,
    /// Maximum length of `history`.
    pub history_limit: usize,
    /// Objects per storage key.
    pub objects: HashMap<GroupResource, BTreeMap<ObjKey, Arc<Value>>>,
    /// Resources derived from built-ins and CRDs.
    pub registry: Arc<Registry>,
    tx: broadcast::Sender<Arc<Change>>,
}

/// Storage key of CRD objects.
pub fn crd_storage() -> GroupResource {
    GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
}

impl Inner {
    /// Objects of one storage key.
    pub fn bucket(&self, storage: &GroupResource) -> Option<&BTreeMap<ObjKey, Arc<Value>>> {
        self.objects.get(storage)
    }

    /// One object.
    pub fn get(&self, storage: &GroupResource, key: &ObjKey) -> Option<Arc<Value>> {
        self.objects.get(storage)?.get(key).cloned()
    }

    /// Commits a new or updated object: bumps the revision, stamps it, records and broadcasts the change.
    pub fn put(&mut self, storage: &GroupResource, mut object: Value) -> Arc<Value> {
        self.revision += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.revision.to_string());
        let key = key_of(&object);
        let object = Arc::new(object);
        let old = self
            .objects
            .entry(storage.clone())
            .or_default()
            .insert(key, object.clone());
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(storage, kind, object.clone(), old);
        if *storage == crd_storage() {
            self.rebuild_registry();
        }
        object
    }

    /// Removes an object; the DELETED event carries its last state with a new resourceVersion.
    pub fn remove(&mut self, storage: &GroupResource, key: &ObjKey) -> Option<Arc<Value>> {
        let old = self.objects.get_mut(storage)?.remove(key)?;
        self.revision += 1;
        let mut last = (*old).clone();
        last["metadata"]["resourceVersion"] = Value::String(self.revision.to_string());
        let last = Arc::new(last);
        self.record(storage, EventType::Deleted, last.clone(), Some(old));
        if *storage == crd_storage() {
            self.rebuild_registry();
        }
        Some(last)
    }

    fn record(
        &mut self,
        storage: &GroupResource,
        kind: EventType,
        object: Arc<Value>,
        old: Option<Arc<Value>>,
    ) {
        let change = Arc::new(Change {
            revision: self.revision,
            storage: storage.clone(),
            kind,
            object,
            old,
            line: std::sync::OnceLock::new(),
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(dropped) = self.history.pop_front() {
                self.compacted = dropped.revision;
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(change);
    }

    /// Rebuilds discovery after a CRD change.
    pub fn rebuild_registry(&mut self) {
        let generation = self.registry.generation + 1;
        let crds = self.objects.get(&crd_storage());
        self.registry = Arc::new(Registry::build(
            crds.into_iter().flat_map(|b| b.values().map(|v| &**v)),
            generation,
        ));
    }

    /// Subscribes to future changes (call under the lock to get a gap-free stream).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// Drops all history (test hook and `compact`): watches resuming from older versions get 410.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.revision;
    }
}

/// `(namespace, name)` of an object.
pub fn key_of(object: &Value) -> ObjKey {
    let m = &object["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default().to_string(),
        m["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// Thread-safe handle on the store.
#[derive(Debug)]
pub struct Store {
    inner: RwLock<Inner>,
    /// Set on every write; cleared by the persistence task.
    pub dirty: AtomicBool,
    /// Open watches receive this and end with a 410 (test hook).
    pub expire_tx: broadcast::Sender<()>,
    /// Watch streams started so far (tests observe re-watches with it).
    pub watches: std::sync::atomic::AtomicU64,
    /// Set to true at shutdown: open watches end cleanly.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Test hook: status writes to fail, by kind (see [`Store::fail_status_writes`]).
    status_faults: std::sync::Mutex<Option<StatusFault>>,
}

/// Which status writes to fail: of `kind`, those whose body `when` matches, `left` more times.
struct StatusFault {
    kind: String,
    left: u32,
    when: Box<dyn Fn(&serde_json::Value) -> bool + Send + Sync>,
}

impl std::fmt::Debug for StatusFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatusFault({}, {} left)", self.kind, self.left)
    }
}

/// Default number of retained changes.
pub const DEFAULT_HISTORY: usize = 50_000;

impl Store {
    /// An empty store with built-in resources.
    pub fn new(history_limit: usize) -> Self {
        // Capacity bounds how far a slow watcher may lag before it gets a 410.
        let (tx, _) = broadcast::channel(16_384);
        let (expire_tx, _) = broadcast::channel(4);
        let inner = Inner {
            revision: 1,
            compacted: 0,
            history: VecDeque::new(),
            history_limit,
            objects: HashMap::new(),
            registry: Arc::new(Registry::build(std::iter::empty(), 0)),
            tx,
        };
        let (closing, _) = tokio::sync::watch::channel(false);
        Self {
            inner: RwLock::new(inner),
            dirty: AtomicBool::new(false),
            expire_tx,
            closing,
            watches: Default::default(),
            status_faults: Default::default(),
        }
    }

    /// Test hook: the next `n` status writes (PUT or PATCH of `/status`) of `kind` whose body
    /// `when` matches are answered 500, without any change. Replaces the previous hook.
    pub fn fail_status_writes(
        &self,
        kind: &str,
        n: u32,
        when: impl Fn(&serde_json::Value) -> bool + Send + Sync + 'static,
    ) {
        *self.status_faults.lock().unwrap_or_else(|e| e.into_inner()) = Some(StatusFault {
            kind: kind.into(),
            left: n,
            when: Box::new(when),
        });
    }

    /// Whether this status write of `kind` with `body` is to fail (counts it).
    pub(crate) fn status_write_fails(&self, kind: &str, body: &serde_json::Value) -> bool {
        let mut faults = self.status_faults.lock().unwrap_or_else(|e| e.into_inner());
        match faults.as_mut() {
            Some(f) if f.kind == kind && f.left > 0 && (f.when)(body) => {
                f.left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Read access. A poisoned lock cannot leave the map half-written (writes are single
    /// `insert`/`remove` calls), so it is recovered rather than propagated.
    pub fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access; marks the store dirty for persistence.
    pub fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.dirty.store(true, Ordering::Relaxed);
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of watch streams started since the server started.
    pub fn watches_started(&self) -> u64 {
        self.watches.load(Ordering::Relaxed)
    }

    /// Number of open watch streams (disconnected clients are cleaned up).
    pub fn watcher_count(&self) -> usize {
        self.read().tx.receiver_count()
    }

    /// Drops the change history and makes every open watch end with an in-stream 410.
    pub fn expire_watches(&self) {
        self.write().compact();
        let _ = self.expire_tx.send(());
    }
}
