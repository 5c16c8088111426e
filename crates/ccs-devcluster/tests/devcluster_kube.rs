//! The dev cluster through kube-rs: CRUD, concurrency, generation, status, finalizers, watches,
//! a converging kube-runtime Controller.

mod support;

use futures::StreamExt;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use std::time::Duration;
use support::*;

fn rv(o: &DynamicObject) -> String {
    o.metadata.resource_version.clone().unwrap_or_default()
}

fn generation(o: &DynamicObject) -> i64 {
    o.metadata.generation.unwrap_or_default()
}

#[tokio::test]
async fn crud_conflict_generation_and_status_isolation() {
    let (cluster, _client, api) = widget_cluster().await;

    let created = api
        .create(&PostParams::default(), &widget("w1", 3))
        .await
        .unwrap();
    assert_eq!(generation(&created), 1);
    assert_eq!(created.data["spec"]["color"], "blue", "schema default applied");
    assert_eq!(
        code(api.create(&PostParams::default(), &widget("w1", 3)).await),
        409
    );

    // A stale resourceVersion on replace is a 409 Conflict.
    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data["spec"]["replicas"] = json!(4);
    let updated = api.replace("w1", &PostParams::default(), &fresh).await.unwrap();
    assert_eq!(generation(&updated), 2, "spec change bumps generation");
    stale.data["spec"]["replicas"] = json!(5);
    assert_eq!(code(api.replace("w1", &PostParams::default(), &stale).await), 409);

    // Metadata-only changes never bump generation; a no-op patch keeps the resourceVersion.
    let label = Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}}));
    let labelled = api.patch("w1", &PatchParams::default(), &label).await.unwrap();
    assert_eq!(generation(&labelled), 2);
    let same = api.patch("w1", &PatchParams::default(), &label).await.unwrap();
    assert_eq!(rv(&same), rv(&labelled), "no-op write keeps the resourceVersion");

    // Status goes only through /status, and /status changes nothing else.
    let via_main = api
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .unwrap();
    assert!(
        via_main.data.get("status").is_none(),
        "main endpoint ignores status"
    );
    let via_status = api
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 9}, "status": {"ready": true}})),
        )
        .await
        .unwrap();
    assert_eq!(via_status.data["status"]["ready"], true);
    assert_eq!(
        via_status.data["spec"]["replicas"], 4,
        "status endpoint ignores spec"
    );
    assert_eq!(
        generation(&via_status),
        2,
        "status change does not bump generation"
    );

    // Schema validation: 422 with the field named, like the real server.
    let status = api_error(api.create(&PostParams::default(), &widget("w2", 11)).await);
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .starts_with("Widget.dev.example.com \"w2\" is invalid: spec"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains("replicas must be <= 10"),
        "{}",
        status.message
    );

    // Strict field validation rejects unknown fields with 400.
    let strict = PatchParams::apply("test").validation_strict();
    let mut unknown = widget("w3", 1);
    unknown.data["spec"]["bogus"] = json!(1);
    assert_eq!(code(api.patch("w3", &strict, &Patch::Apply(&unknown)).await), 400);
    let pruned = api.create(&PostParams::default(), &unknown).await.unwrap();
    assert!(
        pruned.data["spec"].get("bogus").is_none(),
        "unknown fields are pruned"
    );

    // Delete without finalizers removes at once.
    let gone = api.delete("w3", &DeleteParams::default()).await.unwrap();
    assert!(gone.is_right(), "immediate delete answers a Status");
    assert_eq!(code(api.get("w3").await), 404);
    cluster.shutdown().await;
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (cluster, _client, api) = widget_cluster().await;
    let mut w = widget("fin", 1);
    w.metadata.finalizers = Some(vec!["dev.example.com/cleanup".into()]);
    api.create(&PostParams::default(), &w).await.unwrap();

    let pending = api.delete("fin", &DeleteParams::default()).await.unwrap();
    let obj = pending.left().expect("blocked delete answers the object");
    assert!(obj.metadata.deletion_timestamp.is_some());
    assert_eq!(generation(&obj), 2, "first deletionTimestamp bumps generation");

    // Adding a finalizer while terminating is forbidden.
    let add = json!({"metadata": {"finalizers": ["dev.example.com/cleanup", "other"]}});
    assert_eq!(
        code(
            api.patch("fin", &PatchParams::default(), &Patch::Merge(add))
                .await
        ),
        422
    );

    // The kube-runtime finalizer helper's JSON patch: test then remove.
    let remove = json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "dev.example.com/cleanup"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]);
    let patch: json_patch::Patch = serde_json::from_value(remove).unwrap();
    api.patch("fin", &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .unwrap();
    assert_eq!(
        code(api.get("fin").await),
        404,
        "removing the last finalizer deletes"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn watcher_relists_after_in_stream_410_and_resumes_after_timeout() {
    let (cluster, _client, api) = widget_cluster().await;
    api.create(&PostParams::default(), &widget("a", 1)).await.unwrap();

    // Server-side timeout of 1 s: the watcher must re-watch from its last version, not relist.
    let config = watcher::Config::default().timeout(1);
    let mut stream = watcher(api.clone(), config).boxed();
    let mut inits = 0;
    let mut seen_b = false;
    let mut listed = false;
    let mut created_b = false;
    let mut expired = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        // Write only once the first 1 s watch has ended and a second one started.
        if listed && !created_b && cluster.store().watches_started() >= 2 {
            api.create(&PostParams::default(), &widget("b", 2)).await.unwrap();
            created_b = true;
        }
        let event = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
        let Ok(Some(event)) = event else { continue };
        match event {
            Ok(watcher::Event::Init) => inits += 1,
            Ok(watcher::Event::InitDone) if !listed => listed = true,
            Ok(watcher::Event::Apply(o)) if o.metadata.name.as_deref() == Some("b") => {
                seen_b = true;
                assert_eq!(inits, 1, "resuming after a timeout does not relist");
                cluster.expire_watches();
                expired = true;
            }
            Ok(watcher::Event::InitDone) if expired => break,
            _ => {}
        }
    }
    assert!(
        seen_b,
        "the watch resumed after its timeout and saw the new object"
    );
    assert_eq!(inits, 2, "an in-stream 410 makes the watcher relist");
    cluster.shutdown().await;
}

#[tokio::test]
async fn watch_from_expired_version_gets_in_stream_410() {
    let (cluster, _client, api) = widget_cluster().await;
    let first = api.create(&PostParams::default(), &widget("x", 1)).await.unwrap();
    api.create(&PostParams::default(), &widget("y", 1)).await.unwrap();
    cluster.expire_watches();
    let params = kube::api::WatchParams::default().timeout(5);
    let mut events = api.watch(&params, &rv(&first)).await.unwrap().boxed();
    match events.next().await {
        Some(Ok(kube::api::WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected an ERROR event, got {other:?}"),
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let (cluster, _client, api) = widget_cluster().await;
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        let mut w = widget(name, 1);
        w.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
        api.create(&PostParams::default(), &w).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<DynamicObject>| -> Vec<String> {
        l.items.into_iter().filter_map(|o| o.metadata.name).collect()
    };
    assert_eq!(
        names(api.list(&ListParams::default().labels("tier=web")).await.unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier notin (web)"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name!=a"))
                .await
                .unwrap()
        ),
        ["b", "c"]
    );
    assert_eq!(
        code(api.list(&ListParams::default().fields("spec.replicas=1")).await),
        400
    );
    // Pagination: limit and continue, the later page keeping the first page's revision.
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    let token = first.metadata.continue_.clone().expect("a continue token");
    assert_eq!(first.metadata.remaining_item_count, Some(1));
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(first.clone()), ["a", "b"]);
    assert_eq!(names(rest.clone()), ["c"]);
    assert_eq!(rest.metadata.resource_version, first.metadata.resource_version);
    assert!(rest.metadata.continue_.is_none_or(|c| c.is_empty()));
    cluster.shutdown().await;
}

#[tokio::test]
async fn streaming_list_sends_initial_events_then_bookmark() {
    let (cluster, _client, api) = widget_cluster().await;
    for name in ["s1", "s2"] {
        api.create(&PostParams::default(), &widget(name, 1))
            .await
            .unwrap();
    }
    let mut stream = watcher(api, watcher::Config::default().streaming_lists()).boxed();
    let mut initial = vec![];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("events arrive")
        {
            Some(Ok(watcher::Event::InitApply(o))) => initial.push(o.metadata.name.unwrap()),
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    initial.sort();
    assert_eq!(initial, ["s1", "s2"]);
    cluster.shutdown().await;
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_and_its_discovery() {
    let (cluster, client, api) = widget_cluster().await;
    let mut named = widget("", 1);
    named.metadata.generate_name = Some("gen-".into());
    let generated = api.create(&PostParams::default(), &named).await.unwrap();
    let name = generated.metadata.name.unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");

    let crds: kube::Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = kube::Api::all(client.clone());
    crds.delete("widgets.dev.example.com", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the CRD to go", || async {
        crds.get("widgets.dev.example.com").await.is_err().then_some(())
    })
    .await;
    assert_eq!(
        code(api.get(&name).await),
        404,
        "the resource is no longer served"
    );
    let discovery = kube::Discovery::new(client).run().await.unwrap();
    assert!(!discovery.has_group("dev.example.com"));
    cluster.shutdown().await;
}

#[tokio::test]
async fn non_structural_crds_are_rejected() {
    let cluster = cluster().await;
    let client = cluster.client().unwrap();
    let mut crd = widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["items"] =
        json!({"type": "array", "items": {}});
    let status = api_error(
        crd_api(&client)
            .create(&PostParams::default(), &serde_json::from_value(crd).unwrap())
            .await,
    );
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .contains("properties[spec].properties[items].items.type: Required value"),
        "{}",
        status.message
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_tracks_managers_and_conflicts() {
    let (cluster, _client, api) = widget_cluster().await;
    let config = |replicas: i64| widget("ssa", replicas);
    api.patch("ssa", &PatchParams::apply("alice"), &Patch::Apply(&config(1)))
        .await
        .unwrap();
    let same = api
        .patch("ssa", &PatchParams::apply("bob"), &Patch::Apply(&config(1)))
        .await;
    assert!(same.is_ok(), "applying the same value shares ownership");
    let status = api_error(
        api.patch("ssa", &PatchParams::apply("bob"), &Patch::Apply(&config(2)))
            .await,
    );
    assert_eq!(status.code, 409);
    assert!(
        status.message.contains("conflict with \"alice\""),
        "{}",
        status.message
    );
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&config(2)),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["spec"]["replicas"], 2);
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"bob".to_string()), "{managers:?}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    let (cluster, _client, api) = widget_cluster().await;
    let list = api.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let params = kube::api::WatchParams::default().labels("team=a").timeout(10);
    let mut events = api.watch(&params, &rv).await.unwrap().boxed();
    api.create(&PostParams::default(), &widget("sel", 1))
        .await
        .unwrap();
    let label = |v: Option<&str>| Patch::Merge(json!({"metadata": {"labels": {"team": v}}}));
    api.patch("sel", &PatchParams::default(), &label(Some("a")))
        .await
        .unwrap();
    api.patch("sel", &PatchParams::default(), &label(Some("b")))
        .await
        .unwrap();
    let mut seen = vec![];
    while seen.len() < 2 {
        match events.next().await.expect("events").unwrap() {
            kube::api::WatchEvent::Added(o) => seen.push(("ADDED", o.metadata.name.unwrap())),
            kube::api::WatchEvent::Deleted(o) => seen.push(("DELETED", o.metadata.name.unwrap())),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [("ADDED", "sel".to_string()), ("DELETED", "sel".to_string())]
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn metadata_watcher_gets_partial_object_metadata() {
    let (cluster, client, api) = widget_cluster().await;
    api.create(&PostParams::default(), &widget("meta", 1))
        .await
        .unwrap();
    let metadata: kube::Api<kube::core::PartialObjectMeta<DynamicObject>> =
        kube::Api::namespaced_with(client, "default", &widget_resource());
    let mut stream = watcher(metadata, watcher::Config::default()).boxed();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("events")
        {
            Some(Ok(watcher::Event::InitApply(o))) => {
                assert_eq!(o.metadata.name.as_deref(), Some("meta"));
                assert_eq!(o.types.map(|t| t.kind).as_deref(), Some("PartialObjectMetadata"));
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_modify_write_loses_no_update() {
    let (cluster, _client, api) = widget_cluster().await;
    api.create(&PostParams::default(), &widget("counter", 0))
        .await
        .unwrap();
    let (writers, increments) = (8, 10);
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                for _ in 0..increments {
                    // Optimistic concurrency: retry on 409 with a fresh read.
                    loop {
                        let mut w = api.get("counter").await.unwrap();
                        let n = w.data["spec"]["replicas"].as_i64().unwrap();
                        w.data["spec"]["replicas"] = json!((n + 1) % 11);
                        w.data["spec"]["color"] = json!(if n % 2 == 0 { "red" } else { "blue" });
                        match api.replace("counter", &PostParams::default(), &w).await {
                            Ok(_) => break,
                            Err(kube::Error::Api(s)) if s.code == 409 => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let w = api.get("counter").await.unwrap();
    // Every successful replace bumped the generation exactly once (spec always changes).
    assert_eq!(generation(&w), 1 + writers * increments);
    cluster.shutdown().await;
}
