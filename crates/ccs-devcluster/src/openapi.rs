//! OpenAPI v3 documents, generated from the registry (CR schemas come from their CRDs).
//!
//! kubectl needs them for `apply`/`create` with the default `--validate=strict` (it looks for a
//! `fieldValidation` parameter on the PATCH operation of the kind) and for `kubectl explain`.

use super::resource::{Builtin, Registry, ResourceInfo};
use serde_json::{Map, Value, json};
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// `components.schemas` name, e.g. `io.customerspace.v1alpha1.CloudContract`.
fn schema_name(r: &ResourceInfo) -> String {
    if r.group.is_empty() {
        return format!("io.k8s.api.core.v1.{}", r.kind);
    }
    let reversed: Vec<&str> = r.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), r.version, r.kind)
}

/// URL key of a group/version in the index (`api/v1`, `apis/g/v`).
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn query(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": true})
}

fn operation(r: &ResourceInfo, action: &str, params: &[&str]) -> Value {
    let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(r))});
    json!({
        "operationId": format!("{action}{}", r.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
        "parameters": params.iter().map(|p| query(p)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}},
    })
}

fn paths_for(r: &ResourceInfo, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(&r.group, &r.version));
    let collection = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    let write = ["dryRun", "fieldManager", "fieldValidation"];
    let patch = ["dryRun", "fieldManager", "fieldValidation", "force"];
    paths.insert(
        collection.clone(),
        json!({"get": operation(r, "list", &["labelSelector", "fieldSelector", "watch"]), "post": operation(r, "post", &write)}),
    );
    let item = json!({
        "get": operation(r, "get", &[]), "put": operation(r, "put", &write),
        "patch": operation(r, "patch", &patch), "delete": operation(r, "delete", &["dryRun"]),
    });
    paths.insert(format!("{collection}/{{name}}"), item);
    if r.status_subresource {
        let status = json!({"get": operation(r, "get", &[]), "put": operation(r, "put", &write), "patch": operation(r, "patch", &patch)});
        paths.insert(format!("{collection}/{{name}}/status"), status);
    }
}

/// A kind's root schema and the definitions it references.
type SchemaSet = (Value, Map<String, Value>);

/// Schemas of a built-in kind and everything it references, generated from its k8s-openapi type
/// (so `kubectl explain configmap.data` has the upstream descriptions). Computed once.
fn builtin_schemas(builtin: Builtin) -> &'static SchemaSet {
    static CACHE: OnceLock<Vec<(Builtin, SchemaSet)>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        fn of<T: schemars::JsonSchema>() -> SchemaSet {
            let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
            let mut root = generator.root_schema_for::<T>().to_value();
            if let Some(m) = root.as_object_mut() {
                m.remove("$schema");
            }
            (root, generator.take_definitions(true))
        }
        use k8s_openapi::api::{coordination::v1 as coordination, core::v1 as core};
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
        vec![
            (Builtin::Namespace, of::<core::Namespace>()),
            (Builtin::ConfigMap, of::<core::ConfigMap>()),
            (Builtin::Secret, of::<core::Secret>()),
            (Builtin::Event, of::<core::Event>()),
            (Builtin::EventV1, of::<k8s_openapi::api::events::v1::Event>()),
            (Builtin::Lease, of::<coordination::Lease>()),
            (Builtin::Crd, of::<apiextensions::CustomResourceDefinition>()),
            (Builtin::Role, of::<k8s_openapi::api::rbac::v1::Role>()),
            (
                Builtin::RoleBinding,
                of::<k8s_openapi::api::rbac::v1::RoleBinding>(),
            ),
            (
                Builtin::ClusterRole,
                of::<k8s_openapi::api::rbac::v1::ClusterRole>(),
            ),
            (
                Builtin::ClusterRoleBinding,
                of::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>(),
            ),
            (
                Builtin::SubjectAccessReview,
                of::<k8s_openapi::api::authorization::v1::SubjectAccessReview>(),
            ),
        ]
    });
    &all.iter()
        .find(|(b, _)| *b == builtin)
        .expect("every built-in is listed")
        .1
}

fn kind_schema(r: &ResourceInfo) -> Value {
    let mut schema = r
        .schema
        .clone()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    if !schema.is_object() {
        schema = json!({"type": "object"});
    }
    let doc = |d: &str| json!({"type": "string", "description": d});
    let props = schema
        .as_object_mut()
        .expect("made an object")
        .entry("properties")
        .or_insert_with(|| json!({}));
    if let Some(props) = props.as_object_mut() {
        props.insert(
            "apiVersion".into(),
            doc("APIVersion defines the versioned schema of this representation of an object."),
        );
        props.insert(
            "kind".into(),
            doc("Kind is a string value representing the REST resource this object represents."),
        );
        props.insert(
            "metadata".into(),
            json!({"description": "Standard object's metadata.", "allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}]}),
        );
    }
    schema["x-kubernetes-group-version-kind"] =
        json!([{"group": r.group, "version": r.version, "kind": r.kind}]);
    schema
}

fn object_meta() -> Value {
    let s = |d: &str| json!({"type": "string", "description": d});
    let map =
        |d: &str| json!({"type": "object", "additionalProperties": {"type": "string"}, "description": d});
    json!({"type": "object", "description": "ObjectMeta is metadata that all persisted resources must have.", "properties": {
        "name": s("Name must be unique within a namespace."),
        "namespace": s("Namespace defines the space within which each name must be unique."),
        "generateName": s("An optional prefix used to generate a unique name."),
        "uid": s("UID is the unique in time and space value for this object."),
        "resourceVersion": s("An opaque value that represents the internal version of this object."),
        "generation": {"type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state."},
        "creationTimestamp": s("The time this object was created."),
        "deletionTimestamp": s("The time after which this resource will be deleted."),
        "labels": map("Map of string keys and values that can be used to organize and categorize objects."),
        "annotations": map("Annotations is an unstructured key value map stored with a resource."),
        "finalizers": {"type": "array", "items": {"type": "string"}, "description": "Must be empty before the object is deleted from the registry."},
        "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "description": "List of objects depended by this object."},
        "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "description": "Field ownership of server-side apply."},
    }})
}

/// The document for one group/version, if it exists.
pub fn document(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let resources = registry.in_group_version(group, version);
    if resources.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(OBJECT_META.into(), object_meta());
    for r in &resources {
        paths_for(r, &mut paths);
        let schema = match r.builtin {
            Some(b) => {
                let (root, definitions) = builtin_schemas(b);
                schemas.extend(definitions.clone());
                let mut root = root.clone();
                root["x-kubernetes-group-version-kind"] =
                    json!([{"group": r.group, "version": r.version, "kind": r.kind}]);
                root
            }
            None => kind_schema(r),
        };
        schemas.insert(schema_name(r), schema);
    }
    Some(json!({
        "openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths, "components": {"schemas": schemas},
    }))
}

fn content_hash(doc: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `GET /openapi/v3`: one entry per group/version, the hash changing with the content (kubectl
/// caches documents by URL).
pub fn index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, versions) in registry.groups() {
        for v in versions {
            if let Some(doc) = document(registry, &group, &v) {
                let key = gv_path(&group, &v);
                let url = format!("/openapi/v3/{key}?hash={}", content_hash(&doc));
                paths.insert(key, json!({"serverRelativeURL": url}));
            }
        }
    }
    json!({"paths": paths})
}

/// The OpenAPI v2 (Swagger 2.0) document: `GET /openapi/v2`.
///
/// kubectl reads it (as protobuf, with no JSON fallback) for its client-side validation of a
/// `v1` `List` (`kubectl apply -f list.json`, or the output of `kubectl get ... -o yaml` with
/// several objects), and gives up when it is missing. The document carries no definitions: the
/// schemas live in the v3 documents above, and every item of a List is still checked by this
/// server (`fieldValidation=Strict` and the CRD schema) when kubectl sends it.
pub mod v2 {
    use prost::Message;
    use serde_json::{Value, json};

    /// The media type of the protobuf answer. kubectl asks for `...spec.v2@v1.0+protobuf`, but
    /// `@` is not valid in a Content-Type (Go's `mime` refuses it): servers answer with a dot.
    pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

    const TITLE: &str = "Kubernetes";
    const VERSION: &str = "v1.32.0";

    /// `openapi.v2.Document` of gnostic's `OpenAPIv2.proto`: the fields this server fills.
    #[derive(Clone, PartialEq, Message)]
    struct Document {
        #[prost(string, tag = "1")]
        swagger: String,
        #[prost(message, optional, tag = "2")]
        info: Option<Info>,
        #[prost(message, optional, tag = "8")]
        paths: Option<Paths>,
        #[prost(message, optional, tag = "9")]
        definitions: Option<Definitions>,
    }

    /// `openapi.v2.Info`.
    #[derive(Clone, PartialEq, Message)]
    struct Info {
        #[prost(string, tag = "1")]
        title: String,
        #[prost(string, tag = "2")]
        version: String,
    }

    /// `openapi.v2.Paths`, empty.
    #[derive(Clone, PartialEq, Message)]
    struct Paths {}

    /// `openapi.v2.Definitions`, empty.
    #[derive(Clone, PartialEq, Message)]
    struct Definitions {}

    /// The document as protobuf (what kubectl and client-go request).
    pub fn protobuf() -> Vec<u8> {
        Document {
            swagger: "2.0".into(),
            info: Some(Info {
                title: TITLE.into(),
                version: VERSION.into(),
            }),
            paths: Some(Paths {}),
            definitions: Some(Definitions {}),
        }
        .encode_to_vec()
    }

    /// The same document as JSON.
    pub fn json() -> Value {
        json!({"swagger": "2.0", "info": {"title": TITLE, "version": VERSION}, "paths": {}, "definitions": {}})
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_protobuf_document_decodes_to_swagger_2() {
            let doc = Document::decode(protobuf().as_slice()).expect("decodes");
            assert_eq!(doc.swagger, "2.0");
            assert_eq!(doc.info.map(|i| i.version).as_deref(), Some(VERSION));
            assert_eq!(json()["swagger"], "2.0");
        }
    }
}
