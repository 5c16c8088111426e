//! Writes back to Kubernetes: status through server-side apply under one field manager, and
//! Events through the one shared recorder.

use super::FIELD_MANAGER;
use super::driver::StatusHeader;
use super::error::ReconcileError;
use super::events::{Event, EventType, Recorder};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::time::Duration;

/// Bound of [`WrittenVersions`], well above the objects one operator manages.
pub const MAX_WRITTEN_VERSIONS: usize = 100_000;

/// The resourceVersion each object had right after our last status write, by uid. A cached object
/// at that version holds our last status, so [`stored_status`] can skip the API server.
///
/// Bounded: an object found gone drops its entry, and past [`MAX_WRITTEN_VERSIONS`] the least
/// recently written go first (deleted objects are never written again, so they are the first to
/// go). A missing entry only costs one status read.
///
/// Uids and versions are held as 64-bit hashes (16 bytes an entry instead of about 100): a
/// collision could only make one cached status look current, with odds near 1 in 10^14.
pub struct WrittenVersions(Mutex<lru::LruCache<u64, u64>>);

fn fingerprint(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(s, &mut h);
    std::hash::Hasher::finish(&h)
}

impl Default for WrittenVersions {
    fn default() -> Self {
        Self::with_capacity(MAX_WRITTEN_VERSIONS)
    }
}

impl WrittenVersions {
    /// Keeps at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Mutex::new(super::lru_cache(capacity)))
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, lru::LruCache<u64, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, uid: Option<String>, version: Option<String>) {
        let Some(uid) = uid else { return };
        let uid = fingerprint(&uid);
        let mut map = self.locked();
        match version {
            Some(version) => map.put(uid, fingerprint(&version)),
            None => map.pop(&uid),
        };
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.locked().len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `obj` as given is the object our last status write produced.
    fn is_current<K: Resource>(&self, obj: &K) -> bool {
        let (Some(uid), Some(version)) = (obj.meta().uid.as_ref(), obj.meta().resource_version.as_ref())
        else {
            return false;
        };
        self.locked().get(&fingerprint(uid)) == Some(&fingerprint(version))
    }
}

/// Applies `status` to the object's status subresource (server-side apply, forced).
pub async fn apply_status<K, S>(
    written: &WrittenVersions,
    api: &Api<K>,
    obj: &K,
    status: &S,
) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let stored = api
        .patch_status(&obj.name_any(), &params, &Patch::Apply(&body))
        .await?;
    written.record(stored.uid(), stored.resource_version());
    Ok(())
}

/// Whether `next` would change no more than the time of the last sync of `previous`, and that time
/// is younger than `heartbeat`: the write is then skipped. A poll that finds nothing new costs no
/// API write (and no watch event for every client of the API server), while the time of the last
/// sync still moves at least every `heartbeat`.
pub fn only_heartbeat<S>(
    previous: &S,
    next: &S,
    heartbeat: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> bool
where
    S: StatusHeader + Clone + PartialEq,
{
    let Some(last) = previous
        .last_sync()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return false;
    };
    // A negative age (a time in the future) does not convert: written.
    let young = now
        .signed_duration_since(last)
        .to_std()
        .is_ok_and(|age| age < heartbeat);
    if !young {
        return false;
    }
    let mut aligned = next.clone();
    aligned.set_last_sync(previous.last_sync().map(str::to_owned));
    aligned == *previous
}

/// The object's status as stored (`None` once the object is gone). A reconcile triggered by a
/// related object may run before the cache sees our last write; acting on the cached status
/// would repeat a side effect, and a server-side apply of it would drop the newer fields.
/// No read is needed when the cached object is the one our last status write produced.
pub async fn stored_status<K>(
    written: &WrittenVersions,
    api: &Api<K>,
    obj: &K,
) -> Result<Option<K::Status>, ReconcileError>
where
    K: Resource<DynamicType = ()>
        + kube::core::object::HasStatus
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::Status: Default + Clone,
{
    if written.is_current(obj) {
        return Ok(Some(obj.status().cloned().unwrap_or_default()));
    }
    match api.get_status(&obj.name_any()).await {
        Ok(latest) => Ok(Some(latest.status().cloned().unwrap_or_default())),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            written.record(obj.uid(), None);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Publishes an Event on the object in the background: a reconcile does not wait for it (events
/// are best effort; a failure is logged, never fatal).
pub fn event<K>(recorder: &Recorder, obj: &K, type_: EventType, reason: &str, action: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    let ev = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    let recorder = recorder.clone();
    let reference = obj.object_ref(&());
    tokio::spawn(async move {
        if let Err(err) = recorder.publish(&ev, &reference).await {
            tracing::warn!(%err, reason = ev.reason, "could not publish event");
        }
    });
}

/// Publishes a Warning Event for a reconcile error, with the category as the reason.
pub fn error_event<K>(recorder: &Recorder, obj: &K, err: &ReconcileError)
where
    K: Resource<DynamicType = ()>,
{
    event(
        recorder,
        obj,
        EventType::Warning,
        err.category.as_str(),
        "Reconcile",
        err.message.clone(),
    );
}

#[cfg(test)]
mod tests {
    use super::WrittenVersions;
    use crate::api::PortalUser;
    use serde_json::json;

    fn user(uid: &str, version: &str) -> PortalUser {
        serde_json::from_value(json!({
            "apiVersion": "customerspace.io/v1alpha1", "kind": "PortalUser",
            "metadata": {"name": "u", "namespace": "team", "uid": uid, "resourceVersion": version},
            "spec": {"email": "a@b.example", "firstName": "A", "lastName": "B",
                     "access": [{"contract": "c", "profiles": {"dashboard": "Visitor"}}]}
        }))
        .expect("a PortalUser")
    }

    #[test]
    fn only_the_version_our_write_produced_is_current() {
        let written = WrittenVersions::default();
        assert!(
            !written.is_current(&user("u1", "7")),
            "nothing written yet: read it"
        );
        written.record(Some("u1".into()), Some("7".into()));
        assert!(written.is_current(&user("u1", "7")));
        assert!(!written.is_current(&user("u1", "6")), "a cache behind our write");
        assert!(!written.is_current(&user("u1", "8")), "a change after our write");
        assert!(!written.is_current(&user("u2", "7")), "another object");
        written.record(Some("u1".into()), None);
        assert!(!written.is_current(&user("u1", "7")), "forgotten once gone");
    }

    #[test]
    fn deleted_objects_do_not_accumulate() {
        let written = WrittenVersions::with_capacity(100);
        for i in 0..10_000 {
            written.record(Some(format!("gone-{i}")), Some("1".into()));
        }
        assert_eq!(written.len(), 100, "bounded");
        written.record(Some("live".into()), Some("2".into()));
        assert!(written.is_current(&user("live", "2")), "the latest write is kept");
        written.record(Some("live".into()), None);
        assert!(!written.is_current(&user("live", "2")), "dropped once found gone");
        assert_eq!(written.len(), 99);
    }
}

#[cfg(test)]
mod heartbeat_tests {
    use super::only_heartbeat;
    use crate::api::budget_alert::BudgetAlertStatus;
    use std::time::Duration;

    fn status(actual: &str, evaluated: &str) -> BudgetAlertStatus {
        BudgetAlertStatus {
            actual: Some(actual.into()),
            last_evaluation_time: Some(evaluated.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_poll_that_moves_only_the_sync_time_is_skipped_until_the_heartbeat() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:10:00Z")
            .expect("time")
            .to_utc();
        let previous = status("10.00", "2026-11-30T12:00:00Z");
        let next = status("10.00", "2026-11-30T12:10:00Z");
        let half_hour = Duration::from_secs(1800);
        assert!(only_heartbeat(&previous, &next, half_hour, now));
        // The last write is as old as the heartbeat: written again.
        assert!(!only_heartbeat(&previous, &next, Duration::from_secs(600), now));
        // 0 writes every poll.
        assert!(!only_heartbeat(&previous, &next, Duration::ZERO, now));
        // Anything else changed: written.
        assert!(!only_heartbeat(
            &previous,
            &status("10.01", "2026-11-30T12:10:00Z"),
            half_hour,
            now
        ));
        // Never written, unreadable or future time: written.
        assert!(!only_heartbeat(
            &BudgetAlertStatus::default(),
            &next,
            half_hour,
            now
        ));
        assert!(!only_heartbeat(
            &status("10.00", "yesterday"),
            &next,
            half_hour,
            now
        ));
        assert!(!only_heartbeat(
            &status("10.00", "2026-11-30T13:00:00Z"),
            &next,
            half_hour,
            now
        ));
    }
}
