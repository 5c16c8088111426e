//! The operator's finalizer on objects whose deletion must clean up portal state. JSON patches
//! with a `test` of the current list, so a concurrent change to the finalizers fails instead of
//! being overwritten.

use super::FINALIZER;
use super::error::ReconcileError;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

/// Whether the object carries our finalizer.
pub fn has<K: Resource>(obj: &K) -> bool {
    obj.finalizers().iter().any(|f| f == FINALIZER)
}

/// Writes the finalizer list; the object as stored after the write, `None` once it is gone.
async fn set_finalizers<K>(api: &Api<K>, obj: &K, next: Vec<String>) -> Result<Option<K>, ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let current = obj.finalizers().to_vec();
    let ops = if obj.meta().finalizers.is_none() {
        serde_json::json!([{"op": "add", "path": "/metadata/finalizers", "value": next}])
    } else {
        serde_json::json!([
            {"op": "test", "path": "/metadata/finalizers", "value": current},
            {"op": "replace", "path": "/metadata/finalizers", "value": next},
        ])
    };
    let patch: json_patch::Patch = serde_json::from_value(ops)
        .map_err(|e| ReconcileError::new(super::Category::Internal, e.to_string()))?;
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
    {
        Ok(stored) => Ok(Some(stored)),
        // Already gone: nothing left to hold.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Adds our finalizer (before the first portal write) unless present.
pub async fn ensure<K>(api: &Api<K>, obj: &K) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    if has(obj) {
        return Ok(());
    }
    added(api, obj).await.map(drop)
}

/// Adds our finalizer, which must not be present yet. The answer to the write is the object as
/// stored: its status is current, and spares the caller a read (`None` once the object is gone).
pub async fn added<K>(api: &Api<K>, obj: &K) -> Result<Option<K>, ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut next = obj.finalizers().to_vec();
    next.push(FINALIZER.to_string());
    set_finalizers(api, obj, next).await
}

/// Removes our finalizer, letting the deletion complete.
pub async fn release<K>(api: &Api<K>, obj: &K) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    if !has(obj) {
        return Ok(());
    }
    let next = obj
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(api, obj, next).await.map(drop)
}
