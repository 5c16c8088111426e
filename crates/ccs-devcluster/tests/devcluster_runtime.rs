//! kube-runtime against the dev cluster: a converging Controller with the finalizer helper,
//! server-side apply of status, events, garbage collection, namespaces and built-in kinds.

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{CustomResource, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::*;

/// Typed view of the test Widget.
#[derive(CustomResource, Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "dev.example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
pub struct WidgetSpec {
    /// How many.
    pub replicas: i64,
}

/// Status written by the test controller.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    /// Last generation handled.
    pub observed_generation: Option<i64>,
    /// Done.
    pub ready: Option<bool>,
}

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    reconciles: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::runtime::finalizer::Error<kube::Error>);

async fn reconcile(w: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let api: Api<Widget> = Api::namespaced(ctx.client.clone(), &w.namespace().unwrap_or_default());
    let result = finalizer(&api, "dev.example.com/cleanup", w, |event| async {
        match event {
            Finalizer::Apply(w) => {
                let status = json!({"apiVersion": "dev.example.com/v1", "kind": "Widget",
                    "status": {"observedGeneration": w.metadata.generation, "ready": true}});
                let params = PatchParams::apply("widget-controller").force();
                api.patch_status(&w.name_any(), &params, &Patch::Apply(status))
                    .await?;
                let event = Event {
                    type_: EventType::Normal,
                    reason: "Reconciled".into(),
                    note: Some(format!("replicas {}", w.spec.replicas)),
                    action: "Reconcile".into(),
                    secondary: None,
                };
                ctx.recorder.publish(&event, &w.object_ref(&())).await?;
                Ok(Action::await_change())
            }
            Finalizer::Cleanup(_) => Ok(Action::await_change()),
        }
    })
    .await;
    Ok(result?)
}

#[tokio::test]
async fn controller_converges_records_events_and_cleans_up() {
    let cluster = cluster().await;
    let client = cluster.client().unwrap();
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::default_namespaced(client.clone());
    let reporter = Reporter {
        controller: "widget-controller".into(),
        instance: None,
    };
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), reporter),
        reconciles: AtomicUsize::new(0),
    });
    let controller = Controller::new(api.clone(), Default::default())
        .run(
            reconcile,
            |_, _, _| Action::requeue(std::time::Duration::from_secs(1)),
            ctx.clone(),
        )
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    let w = Widget::new("w1", WidgetSpec { replicas: 2 });
    api.create(&PostParams::default(), &w).await.unwrap();
    let converged = eventually("status of generation 1", || async {
        let w = api.get("w1").await.ok()?;
        let s = w.status.clone()?;
        (s.ready == Some(true) && s.observed_generation == w.metadata.generation).then_some(w)
    })
    .await;
    assert_eq!(converged.finalizers(), ["dev.example.com/cleanup"]);

    api.patch(
        "w1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .unwrap();
    let converged = eventually("status of generation 2", || async {
        let w = api.get("w1").await.ok()?;
        (w.status.as_ref()?.observed_generation == Some(2)).then_some(w)
    })
    .await;
    // Converged means quiet: the controller's no-op status applies create no new versions.
    let rv = converged.resource_version();
    let before = ctx.reconciles.load(Ordering::SeqCst);
    let rv_after = eventually("a settled resourceVersion", || async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        Some(api.get("w1").await.ok()?.resource_version())
    })
    .await;
    assert_eq!(rv, rv_after, "no hot loop after convergence");
    assert!(ctx.reconciles.load(Ordering::SeqCst) <= before + 1);

    // events.k8s.io writes are visible as core events, as `kubectl describe` reads them.
    let events: Api<CoreEvent> = Api::default_namespaced(client.clone());
    let selected = eventually("core events about w1", || async {
        let l = events
            .list(&ListParams::default().fields("involvedObject.name=w1,involvedObject.kind=Widget"))
            .await
            .ok()?;
        (!l.items.is_empty()).then_some(l.items)
    })
    .await;
    assert!(selected.iter().any(|e| e.reason.as_deref() == Some("Reconciled")));
    // A repeated event becomes a series: the recorder merge-patches the events.k8s.io object.
    let w1 = api.get("w1").await.unwrap();
    let again = Event {
        type_: EventType::Warning,
        reason: "Repeated".into(),
        note: Some("again".into()),
        action: "Test".into(),
        secondary: None,
    };
    for _ in 0..2 {
        ctx.recorder.publish(&again, &w1.object_ref(&())).await.unwrap();
    }
    let repeated = events
        .list(&ListParams::default().fields("reason=Repeated"))
        .await
        .unwrap();
    assert_eq!(repeated.items.len(), 1, "one object for the series");

    api.delete("w1", &DeleteParams::default()).await.unwrap();
    eventually("the finalizer to be removed", || async {
        api.get("w1").await.is_err().then_some(())
    })
    .await;
    controller.abort();
    cluster.shutdown().await;
}

#[tokio::test]
async fn owner_references_are_garbage_collected_and_dry_run_persists_nothing() {
    let cluster = cluster().await;
    let client = cluster.client().unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let dependent = json!({"metadata": {"name": "dependent", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
        "name": "owner", "uid": owner.uid().unwrap()}]}, "data": {"k": "v"}});
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(dependent).unwrap(),
    )
    .await
    .unwrap();

    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let ghost = cms
        .create(
            &dry,
            &serde_json::from_value(json!({"metadata": {"name": "ghost"}})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(ghost.name_any(), "ghost");
    assert_eq!(code(cms.get("ghost").await), 404, "dryRun persists nothing");

    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    eventually("the dependent to be collected", || async {
        cms.get("dependent").await.is_err().then_some(())
    })
    .await;

    // Foreground: the owner waits (finalizer foregroundDeletion) for a dependent held by its own finalizer.
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "fg"}})).unwrap(),
        )
        .await
        .unwrap();
    let dependent = json!({"metadata": {"name": "fg-dep", "finalizers": ["test/hold"], "ownerReferences": [{"apiVersion": "v1",
        "kind": "ConfigMap", "name": "fg", "uid": owner.uid().unwrap(), "blockOwnerDeletion": true}]}});
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(dependent).unwrap(),
    )
    .await
    .unwrap();
    cms.delete("fg", &DeleteParams::foreground()).await.unwrap();
    let held = cms.get("fg").await.unwrap();
    assert_eq!(held.finalizers(), ["foregroundDeletion"]);
    assert!(
        cms.get("fg-dep")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    cms.patch(
        "fg-dep",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually("the owner to go after its dependent", || async {
        cms.get("fg").await.is_err().then_some(())
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn namespaces_terminate_with_their_contents_and_secrets_encode_string_data() {
    let cluster = cluster().await;
    let client = cluster.client().unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap(),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team");
    let s = json!({"metadata": {"name": "creds"}, "stringData": {"clientId": "abc"}});
    let created = secrets
        .create(&PostParams::default(), &serde_json::from_value(s).unwrap())
        .await
        .unwrap();
    assert_eq!(created.data.unwrap()["clientId"].0, b"abc");
    assert_eq!(created.type_.as_deref(), Some("Opaque"));

    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
    assert_eq!(code(missing.create(&PostParams::default(), &cm).await), 404);

    // A finalizer keeps the namespace Terminating; nothing new may be created in it meanwhile.
    let held: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "held", "finalizers": ["test/hold"]}})).unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    cms.create(&PostParams::default(), &held).await.unwrap();
    namespaces.delete("team", &DeleteParams::default()).await.unwrap();
    let terminating = namespaces.get("team").await.unwrap();
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert_eq!(code(cms.create(&PostParams::default(), &cm).await), 403);
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually("the namespace to go", || async {
        namespaces.get("team").await.is_err().then_some(())
    })
    .await;
    assert_eq!(code(secrets.get("creds").await), 404);
    cluster.shutdown().await;
}

#[tokio::test]
async fn lease_election_has_one_leader_at_a_time() {
    use kube_lease_manager::LeaseManagerBuilder;
    let cluster = cluster().await;
    let client = cluster.client().unwrap();
    let manager = |identity: &str| {
        LeaseManagerBuilder::new(client.clone(), "ccs-operator-leader")
            .with_namespace("default")
            .with_identity(identity)
            .with_duration(5)
            .with_grace(1)
            .build()
    };
    let (a, b) = (manager("a").await.unwrap(), manager("b").await.unwrap());
    let (mut a_leads, a_task) = a.watch().await;
    let (mut b_leads, b_task) = b.watch().await;
    eventually("a leader", || async {
        (*a_leads.borrow() || *b_leads.borrow()).then_some(())
    })
    .await;
    assert!(
        !(*a_leads.borrow_and_update() && *b_leads.borrow_and_update()),
        "never two leaders"
    );
    // The leader steps down; the other takes over.
    let (leader_task, follower) = if *a_leads.borrow() {
        (a_task, b_leads)
    } else {
        (b_task, a_leads)
    };
    leader_task.abort();
    let _ = leader_task.await;
    eventually("the follower to take over", || async {
        (*follower.borrow()).then_some(())
    })
    .await;
    cluster.shutdown().await;
}
