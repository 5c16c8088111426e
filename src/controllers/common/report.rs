//! Writes back to Kubernetes: status through server-side apply under one field manager, and
//! Events through the one shared recorder.

use super::FIELD_MANAGER;
use super::error::ReconcileError;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Applies `status` to the object's status subresource (server-side apply, forced).
pub async fn apply_status<K, S>(api: &Api<K>, obj: &K, status: &S) -> Result<(), ReconcileError>
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
    api.patch_status(&obj.name_any(), &params, &Patch::Apply(&body))
        .await?;
    Ok(())
}

/// The object's status as stored (`None` once the object is gone). A reconcile triggered by a
/// related object may run before the cache sees our last write; acting on the cached status
/// would repeat a side effect, and a server-side apply of it would drop the newer fields.
pub async fn stored_status<K>(api: &Api<K>, obj: &K) -> Result<Option<K::Status>, ReconcileError>
where
    K: Resource<DynamicType = ()>
        + kube::core::object::HasStatus
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::Status: Default + Clone,
{
    match api.get_status(&obj.name_any()).await {
        Ok(latest) => Ok(Some(latest.status().cloned().unwrap_or_default())),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Publishes an Event on the object; failures are logged, never fatal (events are best effort).
pub async fn event<K>(
    recorder: &Recorder,
    obj: &K,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) where
    K: Resource<DynamicType = ()>,
{
    let ev = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(err) = recorder.publish(&ev, &obj.object_ref(&())).await {
        tracing::warn!(%err, reason, "could not publish event");
    }
}

/// Publishes a Warning Event for a reconcile error, with the category as the reason.
pub async fn error_event<K>(recorder: &Recorder, obj: &K, err: &ReconcileError)
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
    )
    .await;
}
