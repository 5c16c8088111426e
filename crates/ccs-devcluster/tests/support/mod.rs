//! Shared helpers of the dev-cluster tests: a started cluster, a Widget CRD, waiting helpers.
#![allow(dead_code)]

use ccs_devcluster::{DevCluster, DevClusterConfig};
use kube::api::{Api, DynamicObject, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, Instant};

/// Starts a cluster on a free port (crypto provider installed, proxies ignored by kube::Config::new).
pub async fn cluster() -> DevCluster {
    cluster_with(DevClusterConfig::default()).await
}

/// Starts a cluster with a given config.
pub async fn cluster_with(config: DevClusterConfig) -> DevCluster {
    ccs_devcluster::install_crypto_provider();
    DevCluster::start(config).await.expect("dev cluster starts")
}

/// A cluster with the Widget CRD installed, its client and the Widget API of `default`.
pub async fn widget_cluster() -> (DevCluster, kube::Client, Api<DynamicObject>) {
    let cluster = cluster().await;
    let client = cluster.client().expect("client");
    install_widget_crd(&client).await;
    let api = widgets(&client);
    (cluster, client, api)
}

/// The Widget CRD: schema with bounds, a CEL rule, defaults, printer columns and a status subresource.
pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.dev.example.com"},
        "spec": {"group": "dev.example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["replicas"],
                        "x-kubernetes-validations": [{"rule": "self.replicas <= 10", "message": "replicas must be <= 10"}],
                        "properties": {
                            "replicas": {"type": "integer", "minimum": 0, "description": "How many."},
                            "color": {"type": "string", "default": "blue", "enum": ["blue", "red"]}}},
                    "status": {"type": "object", "properties": {
                        "observedGeneration": {"type": "integer"},
                        "ready": {"type": "boolean"},
                        "conditions": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}}}]}
    })
}

/// The Widget resource for dynamic APIs.
pub fn widget_resource() -> ApiResource {
    ApiResource {
        group: "dev.example.com".into(),
        version: "v1".into(),
        api_version: "dev.example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    }
}

/// CustomResourceDefinitions as dynamic objects.
pub fn crd_api(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &ApiResource::erase::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(&()),
    )
}

/// Creates the Widget CRD through the API.
pub async fn install_widget_crd(client: &kube::Client) {
    crd_api(client)
        .create(
            &PostParams::default(),
            &serde_json::from_value(widget_crd()).unwrap(),
        )
        .await
        .expect("CRD created");
}

/// Widgets in `default`.
pub fn widgets(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), "default", &widget_resource())
}

/// A Widget object.
pub fn widget(name: &str, replicas: i64) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "dev.example.com/v1", "kind": "Widget",
        "metadata": {"name": name}, "spec": {"replicas": replicas}}))
    .unwrap()
}

/// Polls `check` until it yields a value, failing after 20 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `Status` of a call that must fail with an API error.
pub fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The status code of a call that must fail with an API error.
pub fn code<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    api_error(result).code
}
