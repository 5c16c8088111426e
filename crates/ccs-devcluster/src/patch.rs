//! Patch flavours: JSON merge patch, JSON patch and strategic merge patch (built-ins only).

use super::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use serde_json::Value;

/// The patch type named by the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// Parses a Content-Type (parameters ignored).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/json-patch+json" => Some(Self::Json),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Media types accepted for patches of custom resources (no strategic merge).
pub const CR_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

fn patch_error(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
}

/// Applies an RFC 6902 patch with the evanphx/json-patch quirk that a `test` of a missing path
/// against `null` succeeds (kube-runtime's finalizer helper relies on it).
pub fn json_patch(doc: &Value, patch: &Value) -> ApiResult<Value> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("a JSON patch must be an array of operations"))?;
    let mut doc = doc.clone();
    for op in ops {
        let is_null_test = op["op"] == "test" && op.get("value").is_some_and(Value::is_null);
        if is_null_test
            && op["path"]
                .as_str()
                .is_some_and(|p| doc.pointer(p).is_none_or(Value::is_null))
        {
            continue;
        }
        let parsed: json_patch::PatchOperation = serde_json::from_value(op.clone())
            .map_err(|e| ApiError::bad_request(format!("invalid JSON patch operation: {e}")))?;
        json_patch::patch(&mut doc, std::slice::from_ref(&parsed)).map_err(|e| patch_error(e.to_string()))?;
    }
    Ok(doc)
}

/// Applies an RFC 7386 merge patch.
pub fn merge_patch(doc: &Value, patch: &Value) -> ApiResult<Value> {
    if !patch.is_object() {
        return Err(ApiError::bad_request("a merge patch must be a JSON object"));
    }
    let mut doc = doc.clone();
    json_patch::merge(&mut doc, patch);
    Ok(doc)
}

/// Strategic merge patch for the built-in kinds served here. None of their fields merges lists by
/// key except metadata lists, so this is a merge patch that understands the `$patch: delete|replace`
/// directive, ignores `$setElementOrder`/`$retainKeys`, and merges `finalizers` as a set.
pub fn strategic_merge_patch(doc: &Value, patch: &Value) -> ApiResult<Value> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "a strategic merge patch must be a JSON object",
        ));
    }
    let mut doc = doc.clone();
    smp_into(&mut doc, patch);
    Ok(doc)
}

fn smp_into(doc: &mut Value, patch: &Value) {
    let Some(patch_map) = patch.as_object() else {
        *doc = patch.clone();
        return;
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("delete") => {
            *doc = Value::Null;
            return;
        }
        Some("replace") => {
            let mut replaced = patch.clone();
            strip_directives(&mut replaced);
            *doc = replaced;
            return;
        }
        _ => {}
    }
    if !doc.is_object() {
        *doc = Value::Object(Default::default());
    }
    let target = doc.as_object_mut().expect("made an object above");
    for (k, v) in patch_map {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            target.remove(k);
        } else if k == "finalizers" && v.is_array() {
            let list = target.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
            if let (Some(list), Some(add)) = (list.as_array_mut(), v.as_array()) {
                for f in add {
                    if !list.contains(f) {
                        list.push(f.clone());
                    }
                }
            }
        } else if v.is_object() {
            let slot = target.entry(k.clone()).or_insert(Value::Null);
            smp_into(slot, v);
            if slot.is_null() {
                target.remove(k);
            }
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn strip_directives(v: &mut Value) {
    if let Some(map) = v.as_object_mut() {
        map.retain(|k, _| !k.starts_with('$'));
        map.values_mut().for_each(strip_directives);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_test_on_missing_path_succeeds() {
        let doc = json!({"metadata": {"name": "a"}});
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}
        ]);
        assert_eq!(
            json_patch(&doc, &patch).unwrap()["metadata"]["finalizers"],
            json!(["x"])
        );
    }

    #[test]
    fn failed_test_is_422() {
        let doc = json!({"metadata": {"finalizers": ["x"]}});
        let patch = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "y"}]);
        assert_eq!(
            json_patch(&doc, &patch).unwrap_err().code,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
