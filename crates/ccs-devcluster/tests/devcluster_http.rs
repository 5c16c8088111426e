//! Raw HTTP against the dev cluster: bad input, auth, limits, media types, discovery shapes,
//! watch cleanup, persistence, and a property test over request bodies.

mod support;

use ccs_devcluster::DevClusterConfig;
use futures::StreamExt;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

fn http() -> reqwest::Client {
    ccs_devcluster::install_crypto_provider();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const WIDGETS: &str = "/apis/dev.example.com/v1/namespaces/default/widgets";

async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    ct: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let r = c
        .request(method, url)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_input_gets_status_errors_and_never_breaks_the_store() {
    let cluster = cluster().await;
    install_widget_crd(&cluster.client().unwrap()).await;
    let (c, base) = (http(), cluster.base_url());
    use reqwest::Method as M;

    let (code, status) = send(
        &c,
        M::POST,
        format!("{base}{CMS}"),
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!((code.as_u16(), status["kind"].as_str()), (400, Some("Status")));
    let (code, _) = send(
        &c,
        M::POST,
        format!("{base}{CMS}"),
        "application/yaml",
        b"a: [unclosed".to_vec(),
    )
    .await;
    assert_eq!(code.as_u16(), 400);
    let (code, _) = send(
        &c,
        M::GET,
        format!("{base}/apis/nope.example.com/v1/things"),
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code.as_u16(), 404);
    let big = format!(
        "{{\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"x\":\"{}\"}}}}",
        "a".repeat(3 * 1024 * 1024 + 1)
    );
    let (code, _) = send(
        &c,
        M::POST,
        format!("{base}{CMS}"),
        "application/json",
        big.into_bytes(),
    )
    .await;
    assert_eq!(code.as_u16(), 413);
    let (code, _) = send(
        &c,
        M::POST,
        format!("{base}{CMS}"),
        "application/json",
        br#"{"metadata":{"labels":"oops","name":"x"}}"#.to_vec(),
    )
    .await;
    assert_eq!(code.as_u16(), 400, "wrongly typed metadata is rejected");

    // Strategic merge patch: fine for ConfigMaps, 415 for custom resources.
    let cm = json!({"metadata": {"name": "cm"}, "data": {"a": "1"}})
        .to_string()
        .into_bytes();
    assert_eq!(
        send(&c, M::POST, format!("{base}{CMS}"), "application/json", cm)
            .await
            .0
            .as_u16(),
        201
    );
    let smp = json!({"data": {"b": "2"}}).to_string().into_bytes();
    let (code, cm) = send(
        &c,
        M::PATCH,
        format!("{base}{CMS}/cm"),
        "application/strategic-merge-patch+json",
        smp.clone(),
    )
    .await;
    assert_eq!((code.as_u16(), &cm["data"]), (200, &json!({"a": "1", "b": "2"})));
    // The default fieldValidation (Warn) prunes unknown fields and says so in a Warning header.
    let w = json!({"apiVersion": "dev.example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"replicas": 1, "bogus": 1}});
    let r = c
        .post(format!("{base}{WIDGETS}"))
        .header("content-type", "application/json")
        .body(w.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["warning"], r#"299 - "unknown field \"spec.bogus\"""#);
    let (code, status) = send(
        &c,
        M::PATCH,
        format!("{base}{WIDGETS}/w"),
        "application/strategic-merge-patch+json",
        smp,
    )
    .await;
    assert_eq!(
        (code.as_u16(), status["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );

    // Apply needs a field manager; YAML apply bodies work.
    let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\ndata:\n  k: v\n".to_vec();
    let apply = "application/apply-patch+yaml";
    let (code, why) = send(&c, M::PATCH, format!("{base}{CMS}/yml"), apply, yaml.clone()).await;
    assert_eq!(code.as_u16(), 400, "{why}");
    assert!(why["message"].as_str().unwrap().contains("fieldManager"), "{why}");
    let (code, y) = send(
        &c,
        M::PATCH,
        format!("{base}{CMS}/yml?fieldManager=t"),
        apply,
        yaml,
    )
    .await;
    assert_eq!((code.as_u16(), &y["data"]["k"]), (201, &json!("v")), "{y}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn discovery_tables_and_metadata_views() {
    let cluster = cluster().await;
    let client = cluster.client().unwrap();
    install_widget_crd(&client).await;
    widgets(&client)
        .create(&Default::default(), &widget("w1", 7))
        .await
        .unwrap();
    let (c, base) = (http(), cluster.base_url());
    let get = |path: &str, accept: &str| c.get(format!("{base}{path}")).header("accept", accept).send();

    let agg = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let r = get("/apis", agg).await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["metadata"]["name"] == "dev.example.com")
    );
    let legacy: Value = get("/apis/dev.example.com/v1", "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(legacy["resources"][0]["shortNames"], json!(["wd"]));
    let version: Value = get("/version", "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["minor"], "32");

    let table: Value = get(WIDGETS, "application/json;as=Table;v=v1;g=meta.k8s.io")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Name", "Replicas", "Ready", "Age"]);
    assert_eq!(table["rows"][0]["cells"][1], 7);
    let meta: Value = get(
        WIDGETS,
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(meta["items"][0]["kind"], "PartialObjectMetadata");
    assert!(meta["items"][0].get("spec").is_none());

    let index: Value = get("/openapi/v3", "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = index["paths"]["apis/dev.example.com/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc: Value = get(&url, "application/json").await.unwrap().json().await.unwrap();
    let patch = &doc["paths"]["/apis/dev.example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let config = DevClusterConfig {
        token: Some("s3cret".into()),
        ..Default::default()
    };
    let mut cluster = cluster_with(config).await;
    // With a token the server speaks HTTPS: kubectl only sends credentials over TLS.
    let base = cluster.base_url();
    assert!(base.starts_with("https://"), "{base}");
    let ca = reqwest::Certificate::from_pem(cluster.ca_pem().unwrap().as_bytes()).unwrap();
    let c = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    for (token, want) in [(None, 401), (Some("wrong"), 401), (Some("s3cret"), 200)] {
        let mut request = c.get(format!("{base}{CMS}"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        assert_eq!(request.send().await.unwrap().status().as_u16(), want, "{token:?}");
    }
    // The client and the kubeconfig carry the token.
    let client = cluster.client().unwrap();
    assert!(client.apiserver_version().await.is_ok());
    let dir = tempfile::tempdir().unwrap();
    cluster.write_kubeconfig(&dir.path().join("kc")).unwrap();
    assert!(
        std::fs::read_to_string(dir.path().join("kc"))
            .unwrap()
            .contains("s3cret")
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn disconnected_watchers_are_cleaned_up() {
    let cluster = cluster().await;
    let (c, base) = (http(), cluster.base_url());
    let response = c.get(format!("{base}{CMS}?watch=true")).send().await.unwrap();
    let mut body = response.bytes_stream();
    let create = json!({"metadata": {"name": "w"}}).to_string();
    c.post(format!("{base}{CMS}"))
        .header("content-type", "application/json")
        .body(create)
        .send()
        .await
        .unwrap();
    let first = body.next().await.unwrap().unwrap();
    let event: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(event["type"], "ADDED");
    assert_eq!(cluster.store().watcher_count(), 1);
    drop(body);
    eventually("the watcher to be dropped", || async {
        (cluster.store().watcher_count() == 0).then_some(())
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn data_dir_keeps_objects_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevClusterConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let cluster = cluster_with(config.clone()).await;
    let client = cluster.client().unwrap();
    install_widget_crd(&client).await;
    let created = widgets(&client)
        .create(&Default::default(), &widget("kept", 2))
        .await
        .unwrap();
    cluster.shutdown().await;

    let cluster = cluster_with(config).await;
    let client = cluster.client().unwrap();
    let again = widgets(&client).get("kept").await.unwrap();
    assert_eq!(again.metadata.uid, created.metadata.uid);
    let next = widgets(&client)
        .create(&Default::default(), &widget("new", 1))
        .await
        .unwrap();
    let rv = |o: &kube::api::DynamicObject| {
        o.metadata
            .resource_version
            .clone()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(rv(&next) > rv(&again), "revisions continue after a restart");
    cluster.shutdown().await;
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z\\-\\.]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("metadata".to_string()),
                    Just("name".to_string()),
                    Just("spec".to_string()),
                    Just("labels".to_string()),
                    Just("finalizers".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn property_random_bodies_never_crash_or_corrupt_the_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = rt.block_on(async {
        let cluster = cluster().await;
        install_widget_crd(&cluster.client().unwrap()).await;
        cluster
    });
    let (c, base) = (http(), cluster.base_url());
    let types = [
        "application/json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ];
    let strategy = (
        json_value(),
        0..types.len(),
        0..4usize,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..40),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(body, ct, verb, raw, garbage)| {
            rt.block_on(async {
                let bytes = if raw {
                    garbage
                } else {
                    body.to_string().into_bytes()
                };
                let path = if verb % 2 == 0 { CMS } else { WIDGETS };
                let (method, url) = match verb {
                    0 | 1 => (reqwest::Method::POST, format!("{base}{path}?fieldManager=p")),
                    2 => (reqwest::Method::PUT, format!("{base}{path}/cm?fieldManager=p")),
                    _ => (reqwest::Method::PATCH, format!("{base}{path}/w?fieldManager=p")),
                };
                let r = c
                    .request(method, url)
                    .header("content-type", types[ct])
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                let code = r.status().as_u16();
                let reply: Value = r.json().await.unwrap();
                prop_assert!(code < 500, "server error {code}: {reply}");
                prop_assert!(reply["kind"].is_string(), "every reply has a kind: {reply}");
                for list in [CMS, WIDGETS] {
                    let l: Value = c
                        .get(format!("{base}{list}"))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    prop_assert!(
                        l["items"]
                            .as_array()
                            .is_some_and(|items| items.iter().all(|i| i["metadata"]["name"].is_string()))
                    );
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(cluster.shutdown());
}

#[test]
fn property_random_paths_and_queries_get_status_answers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = rt.block_on(async {
        let cluster = cluster().await;
        install_widget_crd(&cluster.client().unwrap()).await;
        cluster
    });
    let (c, base) = (http(), cluster.base_url());
    let segment = prop_oneof![
        Just("api".to_string()),
        Just("apis".to_string()),
        Just("v1".to_string()),
        Just("namespaces".to_string()),
        Just("default".to_string()),
        Just("dev.example.com".to_string()),
        Just("widgets".to_string()),
        Just("configmaps".to_string()),
        Just("status".to_string()),
        "[a-z0-9.%-]{0,8}",
    ];
    let query = prop_oneof![
        Just(String::new()),
        "(labelSelector|fieldSelector|resourceVersion|limit|continue|watch|timeoutSeconds)=[a-z0-9=!,() %.-]{0,12}",
    ];
    let strategy = (prop::collection::vec(segment, 0..8), query);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(segments, query)| {
            rt.block_on(async {
                // Watches are bounded so a matching path cannot hang the case.
                let url = format!("{base}/{}?{query}&timeoutSeconds=1", segments.join("/"));
                let r = c.get(url).send().await.unwrap();
                let code = r.status().as_u16();
                prop_assert!(code < 500, "server error {code}");
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(cluster.shutdown());
}
