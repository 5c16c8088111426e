//! Server-side defaults of the built-in kinds (Secret, Namespace, CRD status).

use super::error::{ApiError, ApiResult, Cause};
use super::meta::{finalizers, meta_mut};
use super::resource::{Builtin, ResourceInfo};
use base64::Engine;
use serde_json::{Value, json};

/// Finalizer the server puts on CRDs so their custom resources are deleted first.
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Applies the built-in kind's defaults and checks to an object being written.
pub fn normalize(info: &ResourceInfo, object: &mut Value, old: Option<&Value>) -> ApiResult<()> {
    match info.builtin {
        Some(Builtin::Secret) => secret(object),
        Some(Builtin::Namespace) => {
            namespace(object);
            Ok(())
        }
        Some(Builtin::Crd) => crd(info, object, old),
        _ => Ok(()),
    }
}

/// `stringData` is write-only: merged into base64 `data`; `type` defaults to Opaque.
fn secret(object: &mut Value) -> ApiResult<()> {
    if let Some(Value::Object(string_data)) = object.as_object_mut().and_then(|m| m.remove("stringData")) {
        if !object["data"].is_object() {
            object["data"] = json!({});
        }
        for (k, v) in string_data {
            let text = v
                .as_str()
                .ok_or_else(|| ApiError::bad_request("stringData values must be strings"))?;
            object["data"][k] = Value::String(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    if object["type"].as_str().is_none_or(str::is_empty) {
        object["type"] = json!("Opaque");
    }
    Ok(())
}

fn namespace(object: &mut Value) {
    if object["spec"]["finalizers"].is_null() {
        object["spec"] = json!({"finalizers": ["kubernetes"]});
    }
    if object["status"]["phase"].is_null() {
        object["status"] = json!({"phase": "Active"});
    }
}

/// Structural-schema rule the apiserver enforces on CRDs: every node of the schema tree has a
/// type, unless it is int-or-string or preserves unknown fields (kube-derive's `items: {}` for
/// `Vec<serde_json::Value>` is the classic offender).
fn structural(node: &Value, at: &str, what: &str, causes: &mut Vec<Cause>) {
    let flag = |k: &str| node[k].as_bool() == Some(true);
    let typed = node["type"].as_str().is_some_and(|t| !t.is_empty());
    if !typed && !flag("x-kubernetes-int-or-string") && !flag("x-kubernetes-preserve-unknown-fields") {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: format!("Required value: must not be empty {what}"),
            field: format!("{at}.type"),
        });
    }
    if let Some(props) = node["properties"].as_object() {
        for (k, child) in props {
            structural(
                child,
                &format!("{at}.properties[{k}]"),
                "for specified object fields",
                causes,
            );
        }
    }
    if node["items"].is_object() {
        structural(
            &node["items"],
            &format!("{at}.items"),
            "for specified array items",
            causes,
        );
    }
    if node["additionalProperties"].is_object() {
        let at = format!("{at}.additionalProperties");
        structural(
            &node["additionalProperties"],
            &at,
            "for specified object fields",
            causes,
        );
    }
}

/// Checks names and sets the status a CRD controller would (Established at once).
fn crd(info: &ResourceInfo, object: &mut Value, old: Option<&Value>) -> ApiResult<()> {
    let spec = object["spec"].clone();
    let (group, plural) = (
        spec["group"].as_str().unwrap_or_default(),
        spec["names"]["plural"].as_str().unwrap_or_default(),
    );
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut causes = vec![];
    if name != format!("{plural}.{group}") {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
            field: "metadata.name".into(),
        });
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value: must have exactly one version marked as storage version".into(),
            field: "spec.versions".into(),
        });
    }
    for (i, v) in versions.iter().enumerate() {
        let schema = &v["schema"]["openAPIV3Schema"];
        if !schema.is_null() {
            structural(
                schema,
                &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "at the root",
                &mut causes,
            );
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(&info.kind_group(), info.subject(&name), causes));
    }
    if old.is_none() && !finalizers(object).iter().any(|f| f == CRD_CLEANUP_FINALIZER) {
        let meta = meta_mut(object);
        let list = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(json!(CRD_CLEANUP_FINALIZER));
        }
    }
    let mut stored: Vec<Value> = old
        .and_then(|o| o["status"]["storedVersions"].as_array().cloned())
        .unwrap_or_default();
    for v in versions.iter().filter(|v| v["storage"].as_bool() == Some(true)) {
        if !stored.contains(&v["name"]) {
            stored.push(v["name"].clone());
        }
    }
    // Keep the transition times of an existing status so that re-applies are no-ops.
    let since = old
        .and_then(|o| {
            o["status"]["conditions"][0]["lastTransitionTime"]
                .as_str()
                .map(String::from)
        })
        .unwrap_or_else(super::meta::now);
    let condition = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "lastTransitionTime": since, "reason": reason, "message": message});
    object["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": spec["names"],
        "storedVersions": stored,
    });
    Ok(())
}
