//! Protobuf request bodies, as sent by kubectl's generator commands (`kubectl create namespace`,
//! `create configmap`, `create secret generic`): client-go's typed clients prefer protobuf and have
//! no fallback. The Kubernetes envelope (`k8s\0` + `runtime.Unknown`) and the few message fields
//! those commands set are declared here for prost; everything else is refused with 415.

use super::error::{ApiError, ApiResult};
use base64::Engine;
use prost::Message;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, PartialEq, Message)]
struct Unknown {
    #[prost(message, optional, tag = "1")]
    type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", tag = "2")]
    raw: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct TypeMeta {
    #[prost(string, tag = "1")]
    api_version: String,
    #[prost(string, tag = "2")]
    kind: String,
}

#[derive(Clone, PartialEq, Message)]
struct ObjectMeta {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    generate_name: String,
    #[prost(string, tag = "3")]
    namespace: String,
    #[prost(btree_map = "string, string", tag = "11")]
    labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    annotations: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, Message)]
struct Namespace {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
}

#[derive(Clone, PartialEq, Message)]
struct ConfigMap {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(btree_map = "string, string", tag = "2")]
    data: BTreeMap<String, String>,
    #[prost(btree_map = "string, bytes", tag = "3")]
    binary_data: BTreeMap<String, Vec<u8>>,
    #[prost(bool, optional, tag = "4")]
    immutable: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
struct Secret {
    #[prost(message, optional, tag = "1")]
    metadata: Option<ObjectMeta>,
    #[prost(btree_map = "string, bytes", tag = "2")]
    data: BTreeMap<String, Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    type_: Option<String>,
    #[prost(btree_map = "string, string", tag = "4")]
    string_data: BTreeMap<String, String>,
    #[prost(bool, optional, tag = "5")]
    immutable: Option<bool>,
}

fn metadata(m: ObjectMeta) -> Value {
    let mut out = Map::new();
    for (k, v) in [
        ("name", m.name),
        ("generateName", m.generate_name),
        ("namespace", m.namespace),
    ] {
        if !v.is_empty() {
            out.insert(k.into(), json!(v));
        }
    }
    for (k, v) in [("labels", m.labels), ("annotations", m.annotations)] {
        if !v.is_empty() {
            out.insert(k.into(), json!(v));
        }
    }
    Value::Object(out)
}

fn base64_map(map: BTreeMap<String, Vec<u8>>) -> Value {
    let encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    Value::Object(map.into_iter().map(|(k, v)| (k, json!(encode(&v)))).collect())
}

fn bad(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("error decoding the protobuf body: {e}"))
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into JSON.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing the k8s envelope"))?;
    let unknown = Unknown::decode(envelope).map_err(bad)?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let raw = unknown.raw.as_slice();
    let (meta, mut out) = match type_meta.kind.as_str() {
        "Namespace" => (Namespace::decode(raw).map_err(bad)?.metadata, json!({})),
        "ConfigMap" => {
            let cm = ConfigMap::decode(raw).map_err(bad)?;
            let mut out = json!({"data": cm.data});
            if !cm.binary_data.is_empty() {
                out["binaryData"] = base64_map(cm.binary_data);
            }
            if let Some(immutable) = cm.immutable {
                out["immutable"] = json!(immutable);
            }
            (cm.metadata, out)
        }
        "Secret" => {
            let secret = Secret::decode(raw).map_err(bad)?;
            let mut out = json!({"data": base64_map(secret.data), "type": secret.type_});
            if !secret.string_data.is_empty() {
                out["stringData"] = json!(secret.string_data);
            }
            if let Some(immutable) = secret.immutable {
                out["immutable"] = json!(immutable);
            }
            (secret.metadata, out)
        }
        other => {
            return Err(ApiError::unsupported_media_type(&format!(
                "application/json, application/yaml (protobuf only for Namespace, ConfigMap and Secret, not {other})"
            )));
        }
    };
    out["apiVersion"] = json!(type_meta.api_version);
    out["kind"] = json!(type_meta.kind);
    out["metadata"] = metadata(meta.unwrap_or_default());
    Ok(out)
}
