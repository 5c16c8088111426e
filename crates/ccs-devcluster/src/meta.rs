//! Object metadata rules: identity, names, generation and no-op detection.

use super::error::{ApiError, ApiResult, Cause};
use super::resource::ResourceInfo;
use serde_json::{Map, Value};

/// Current time as RFC 3339 with seconds and `Z`, like the API server.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Current time with microseconds (MicroTime, used by events and leases).
pub fn now_micro() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A fresh UUIDv4.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `generateName` suffix: 5 characters from the server's alphabet.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// A string field of `metadata`.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// Mutable `metadata` map, created when missing.
pub fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = Value::Object(Map::new());
    }
    object["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// Rejects bodies that are not JSON objects or whose metadata is not an object.
pub fn ensure_object(object: &Value) -> ApiResult<()> {
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    }
    let Some(meta) = object.get("metadata") else {
        return Ok(());
    };
    let Some(meta) = meta.as_object() else {
        return Err(ApiError::bad_request("metadata must be an object"));
    };
    let string_map = |v: &Value| v.as_object().is_some_and(|m| m.values().all(Value::is_string));
    let string_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    for (field, ok) in [
        ("name", meta.get("name").is_none_or(Value::is_string)),
        (
            "namespace",
            meta.get("namespace").is_none_or(|v| v.is_string() || v.is_null()),
        ),
        (
            "generateName",
            meta.get("generateName").is_none_or(Value::is_string),
        ),
        (
            "resourceVersion",
            meta.get("resourceVersion")
                .is_none_or(|v| v.is_string() || v.is_null()),
        ),
        (
            "labels",
            meta.get("labels").is_none_or(|v| v.is_null() || string_map(v)),
        ),
        (
            "annotations",
            meta.get("annotations")
                .is_none_or(|v| v.is_null() || string_map(v)),
        ),
        (
            "finalizers",
            meta.get("finalizers")
                .is_none_or(|v| v.is_null() || string_list(v)),
        ),
        (
            "ownerReferences",
            meta.get("ownerReferences")
                .is_none_or(|v| v.is_null() || v.is_array()),
        ),
        (
            "managedFields",
            meta.get("managedFields")
                .is_none_or(|v| v.is_null() || v.is_array()),
        ),
    ] {
        if !ok {
            return Err(ApiError::bad_request(format!(
                "metadata.{field} has the wrong type"
            )));
        }
    }
    Ok(())
}

/// Checks `apiVersion`/`kind` against the resource (when given) and sets them.
pub fn set_type(info: &ResourceInfo, object: &mut Value) -> ApiResult<()> {
    let api_version = info.api_version();
    if let Some(kind) = object.get("kind").and_then(Value::as_str)
        && kind != info.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the provided object ({kind}) does not match the kind of the resource ({})",
            info.kind
        )));
    }
    if let Some(v) = object.get("apiVersion").and_then(Value::as_str)
        && v != api_version
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({api_version})"
        )));
    }
    object["apiVersion"] = Value::String(api_version);
    object["kind"] = Value::String(info.kind.clone());
    Ok(())
}

/// Is `s` a DNS-1123 subdomain (object names)?
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(|l| is_dns_label(l, 253))
}

/// Is `s` a DNS-1123 label of at most `max` characters (namespace names use 63)?
pub fn is_dns_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Validates a new object's name, worded like the server.
pub fn validate_name(info: &ResourceInfo, name: &str) -> ApiResult<()> {
    let namespace_like = info.kind == "Namespace";
    let ok = if namespace_like {
        is_dns_label(name, 63)
    } else {
        is_dns_subdomain(name)
    };
    if ok {
        return Ok(());
    }
    let rule = if namespace_like {
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    } else {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    };
    let cause = Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: \"{name}\": {rule}"),
        field: "metadata.name".into(),
    };
    Err(ApiError::invalid(
        &info.kind_group(),
        info.subject(name),
        vec![cause],
    ))
}

/// Copy of `object` without the parts that never count as a change of the desired state.
fn without(object: &Value, keys: &[&str]) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        for k in keys {
            map.remove(*k);
        }
    }
    copy
}

/// Does the change from `old` to `new` bump `metadata.generation`? Anything outside metadata
/// counts, except status when status is a subresource.
pub fn generation_changes(info: &ResourceInfo, old: &Value, new: &Value) -> bool {
    let skip: &[&str] = if info.status_subresource {
        &["metadata", "status", "apiVersion", "kind"]
    } else {
        &["metadata", "apiVersion", "kind"]
    };
    without(old, skip) != without(new, skip)
}

/// True when `new` equals `old` except for resourceVersion and managedFields: such a write is a
/// no-op (no new revision, no event), which keeps status-writing reconcilers from hot-looping.
pub fn is_noop(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut c = v.clone();
        if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            m.remove("managedFields");
        }
        c
    };
    strip(old) == strip(new)
}

/// Finalizers of an object.
pub fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Whether the object is being deleted.
pub fn is_terminating(object: &Value) -> bool {
    !object["metadata"]["deletionTimestamp"].is_null()
}

/// Copies the server-owned metadata fields from `old` into `new` (clients cannot change them).
pub fn keep_system_meta(old: &Value, new: &mut Value) {
    let new_meta = meta_mut(new);
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old["metadata"].get(field) {
            Some(v) => new_meta.insert(field.into(), v.clone()),
            None => new_meta.remove(field),
        };
    }
    // An empty finalizer list is the same as none; normalise so no-op detection works.
    if new_meta
        .get("finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| a.is_empty())
    {
        new_meta.remove("finalizers");
    }
}
