//! `ccs-dev bench dev-cluster`: creates/s, updates/s with 4 watchers, list latency, memory.

use anyhow::Context;
use ccs_devcluster::{DevCluster, DevClusterConfig};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::discovery::ApiResource;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `bench dev-cluster`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Objects to create (and to list).
    #[arg(long, default_value_t = 10_000)]
    pub objects: usize,
    /// Updates to make while 4 watchers watch.
    #[arg(long, default_value_t = 5_000)]
    pub updates: usize,
}

/// Runs the benchmark and prints its figures.
pub fn main(args: BenchArgs) -> anyhow::Result<()> {
    let report = tokio::runtime::Runtime::new()?.block_on(run(args.objects, args.updates))?;
    println!("{report}");
    Ok(())
}

/// Requests in flight at once.
const CONCURRENCY: usize = 8;
/// Watchers during the update phase.
const WATCHERS: usize = 4;

/// Measured figures.
#[derive(Debug)]
pub struct Report {
    /// Objects created.
    pub objects: usize,
    /// Creates per second.
    pub creates_per_sec: f64,
    /// Updates per second with the watchers running, until every watcher saw every update.
    pub updates_per_sec: f64,
    /// Median latency of a full list of `objects` objects (server answer, raw JSON).
    pub list_ms: f64,
    /// Resident memory growth per stored object.
    pub bytes_per_object: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "dev-cluster benchmark ({} objects, {CONCURRENCY} concurrent requests)",
            self.objects
        )?;
        writeln!(f, "  creates/s:                     {:.0}", self.creates_per_sec)?;
        writeln!(
            f,
            "  updates/s with {WATCHERS} watchers:      {:.0}",
            self.updates_per_sec
        )?;
        writeln!(
            f,
            "  list of {} objects (median): {:.1} ms",
            self.objects, self.list_ms
        )?;
        write!(
            f,
            "  memory per stored object:      {:.0} bytes",
            self.bytes_per_object
        )
    }
}

/// A small CRD, like the operator's, to benchmark custom resources.
pub fn widget_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.bench.example.com"},
        "spec": {"group": "bench.example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer", "minimum": 0},
                        "owner": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    })
}

fn rss_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

fn widget(i: usize) -> DynamicObject {
    let value = json!({
        "apiVersion": "bench.example.com/v1", "kind": "Widget",
        "metadata": {"name": format!("w{i:05}"), "namespace": "default", "labels": {"app": "bench", "shard": (i % 8).to_string()}},
        "spec": {"replicas": i % 10, "owner": "team-a@example.com", "tags": ["alpha", "beta"]}
    });
    serde_json::from_value(value).expect("valid object")
}

/// Runs the benchmark against a fresh in-process cluster.
pub async fn run(objects: usize, updates: usize) -> anyhow::Result<Report> {
    let cluster = DevCluster::start(DevClusterConfig::default()).await?;
    let client = cluster.client()?;
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::erase::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(&()),
    );
    crds.create(&PostParams::default(), &serde_json::from_value(widget_crd())?)
        .await
        .context("creating the CRD")?;
    let resource = ApiResource {
        group: "bench.example.com".into(),
        version: "v1".into(),
        api_version: "bench.example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);

    let rss_before = rss_bytes();
    let started = Instant::now();
    futures::stream::iter(0..objects)
        .map(|i| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &widget(i)).await }
        })
        .buffer_unordered(CONCURRENCY)
        // Dropping each answer keeps client-side memory out of the per-object figure.
        .try_for_each(|_| async { Ok(()) })
        .await
        .context("creating objects")?;
    let creates_per_sec = objects as f64 / started.elapsed().as_secs_f64();
    let bytes_per_object = (rss_bytes() - rss_before).max(0.0) / objects.max(1) as f64;

    let list_ms = list_latency(&client, 5).await?;
    let updates_per_sec = update_phase(&api, objects.max(1), updates).await?;
    cluster.shutdown().await;
    Ok(Report {
        objects,
        creates_per_sec,
        updates_per_sec,
        list_ms,
        bytes_per_object,
    })
}

async fn list_latency(client: &kube::Client, runs: usize) -> anyhow::Result<f64> {
    let mut times = vec![];
    for _ in 0..runs {
        let request =
            axum::http::Request::get("/apis/bench.example.com/v1/namespaces/default/widgets").body(vec![])?;
        let started = Instant::now();
        let text = client.request_text(request).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(text.len() > 2, "empty list");
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

async fn update_phase(api: &Api<DynamicObject>, objects: usize, updates: usize) -> anyhow::Result<f64> {
    let rv = api
        .list_metadata(&Default::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let seen = Arc::new(AtomicUsize::new(0));
    let mut watchers = vec![];
    for _ in 0..WATCHERS {
        let mut stream = api
            .watch(&WatchParams::default().timeout(290), &rv)
            .await?
            .boxed();
        let seen = seen.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                if matches!(event, WatchEvent::Modified(_)) {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let started = Instant::now();
    futures::stream::iter(0..updates)
        .map(|i| {
            let api = api.clone();
            let patch = json!({"spec": {"replicas": 100 + i}});
            async move {
                api.patch(
                    &format!("w{:05}", i % objects),
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await
        .context("updating objects")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.load(Ordering::Relaxed) < updates * WATCHERS {
        anyhow::ensure!(
            Instant::now() < deadline,
            "watchers saw {} of {} events",
            seen.load(Ordering::Relaxed),
            updates * WATCHERS
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = updates as f64 / started.elapsed().as_secs_f64();
    watchers.iter().for_each(|w| w.abort());
    Ok(rate)
}
