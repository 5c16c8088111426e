//! One kube-runtime Controller per kind and watched scope, with the relations that requeue
//! dependents: a Secret requeues the CloudContracts using it, a CloudContract its BudgetAlerts,
//! PortalUsers, ServiceOrders and BillingExports.

use crate::api::common::CREDENTIALS_SELECTOR;
use crate::api::{BillingExport, BudgetAlert, CloudContract, ConsoleAccess, PortalUser, ServiceOrder};
use crate::controllers::common::driver::{ConditionedStatus, Reconciled, on_error, reconcile};
use crate::controllers::context::Context;
use crate::controllers::key_index::{Changes, KeyIndex, email_key};
use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Reconciles are triggered by spec, annotation and deletion changes, not by our status writes.
fn trigger_hash<K: Resource<DynamicType = ()>>(obj: &K) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().generation.hash(&mut h);
    obj.meta().annotations.hash(&mut h);
    obj.meta()
        .deletion_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .hash(&mut h);
    h.finish()
}

fn api<K>(client: &kube::Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Drops what the operator never reads from cached objects: managed fields and kubectl's
/// last-applied copy of the whole object (most of an object's size).
fn slim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        // An empty map still holds its first node (544 bytes): objects applied with kubectl and
        // no annotation of their own would keep one each.
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// Past the change filter, an object only becomes a reconcile request, found again in the cache
/// by namespace and name: its uid and resourceVersion would be kept in the request, once per
/// pending poll of every object, for nothing.
fn name_only<K: Resource>(mut obj: K) -> K {
    obj.meta_mut().uid = None;
    obj.meta_mut().resource_version = None;
    obj
}

/// A controller whose cache is shared through the context, and whose triggers skip status writes.
/// `on_event` sees every watch event before the cache does (for secondary indexes).
fn controller<K>(
    api: Api<K>,
    concurrency: u16,
    on_event: impl Fn(&watcher::Event<K>) + Send + Sync + 'static,
) -> (Controller<K>, reflector::Store<K>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    // kube's predicate_filter would keep each object's name, namespace and uid; this keeps 16 bytes.
    let mut changes = Changes::new(trigger_hash::<K>);
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(slim)
        .inspect(move |event| {
            if let Ok(event) = event {
                on_event(event);
            }
        })
        .reflect(writer)
        .filter_map(move |event| {
            // Only new and changed objects become requests; a deletion needs none (the finalizer
            // work ran on the update that set deletionTimestamp), but is forgotten by the filter.
            let passed = match event {
                Ok(event) => {
                    let deleted = matches!(event, watcher::Event::Delete(_));
                    changes.changed(event).filter(|_| !deleted).map(Ok)
                }
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(passed)
        })
        .map_ok(name_only);
    let controller = Controller::for_stream(stream, reader.clone())
        .with_config(ControllerConfig::default().concurrency(concurrency));
    (controller, reader)
}

/// What dependents care about in a CloudContract: its spec, deletion, and whether it is Ready
/// (with the reason they copy when it is not). Its status changes every poll; hashing those would
/// wake every dependent each time for nothing.
fn readiness_hash(contract: &CloudContract) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    contract.meta().generation.hash(&mut h);
    contract.meta().deletion_timestamp.is_some().hash(&mut h);
    crate::controllers::reference::ready_condition(contract)
        .map(|c| (&c.status, &c.reason, &c.message))
        .hash(&mut h);
    h.finish()
}

/// The CloudContracts of a scope, each time its [`readiness_hash`] changes, and when deleted.
fn contract_changes(
    api: Api<CloudContract>,
) -> impl futures::Stream<Item = Result<CloudContract, watcher::Error>> + Send + 'static {
    let mut changes = Changes::new(readiness_hash);
    watcher(api, watcher::Config::default())
        .default_backoff()
        .filter_map(move |event| {
            let changed = match event {
                Ok(event) => changes.changed(event).map(Ok),
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(changed)
        })
}

/// The objects of `store` in the contract's namespace that name it (per `names`).
fn dependents<K>(
    store: reflector::Store<K>,
    names: fn(&K, &str) -> bool,
) -> impl Fn(CloudContract) -> Vec<ObjectRef<K>> + Send + Sync + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    move |contract: CloudContract| {
        let ns = contract.namespace();
        let name = contract.name_any();
        store
            .state()
            .into_iter()
            .filter(|o| o.namespace() == ns && names(o, &name))
            .map(|o| ObjectRef::from_obj(o.as_ref()))
            .collect()
    }
}

/// Runs the controller of a kind that names CloudContracts (`names`): its own objects, plus every
/// dependent of a contract whose readiness changed or that was deleted.
fn run_dependent<K, S, F>(
    controller: Controller<K>,
    store: reflector::Store<K>,
    ctx: &Arc<Context>,
    scope: &Option<String>,
    stop: &S,
    names: fn(&K, &str) -> bool,
) -> futures::future::BoxFuture<'static, ()>
where
    K: Reconciled + Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    K::Status: ConditionedStatus,
    S: Fn() -> F,
    F: Future<Output = ()> + Send + Sync + 'static,
{
    controller
        .watches_stream(
            contract_changes(api(&ctx.client, scope)),
            dependents(store, names),
        )
        .graceful_shutdown_on(stop())
        .run(reconcile::<K>, on_error::<K>, ctx.clone())
        .for_each(|_| futures::future::ready(()))
        .boxed()
}

/// Starts every controller; the returned future ends when they have all shut down, or as soon as
/// one of them ends without a shutdown.
pub fn start<S, F>(ctx: Arc<Context>, stop: S) -> impl Future<Output = ()>
where
    S: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = ()> + Send + Sync + 'static,
{
    let scopes: Vec<Option<String>> = if ctx.config.namespaces.is_empty() {
        vec![None]
    } else {
        ctx.config.namespaces.iter().cloned().map(Some).collect()
    };
    let mut runs = Vec::new();
    for scope in scopes {
        let client = ctx.client.clone();
        let cfg = &ctx.config.controllers;

        let forget = ctx.clone();
        let (contracts, contract_store) = controller::<CloudContract>(
            api(&client, &scope),
            cfg.cloud_contract.concurrency,
            move |event| {
                // A deleted CloudContract's caches and claim go with it.
                if let watcher::Event::Delete(c) = event {
                    forget.portal.forget(c);
                }
            },
        );
        ctx.stores.contracts.add(contract_store.clone());
        let by_secret = contract_store.clone();
        let portal = ctx.clone();
        // Credentials Secrets only (label-selected), metadata only: the operator never holds the
        // data of the cluster's other Secrets, nor of these, in its caches.
        let secrets = watcher(
            api::<PartialObjectMeta<Secret>>(&client, &scope),
            watcher::Config::default().labels(CREDENTIALS_SELECTOR),
        )
        .default_backoff()
        .inspect(move |event| match event {
            Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => {
                portal.portal.secret_seen(&s.metadata, false)
            }
            Ok(watcher::Event::Delete(s)) => portal.portal.secret_seen(&s.metadata, true),
            _ => {}
        })
        .touched_objects();
        let contracts = contracts
            .watches_stream(secrets, move |secret: PartialObjectMeta<Secret>| {
                let ns = secret.namespace();
                let name = secret.name_any();
                by_secret
                    .state()
                    .into_iter()
                    .filter(|c| c.namespace() == ns && c.spec.credentials_secret_ref.name == name)
                    .map(|c| ObjectRef::from_obj(c.as_ref()))
                    .collect::<Vec<_>>()
            })
            .graceful_shutdown_on(stop())
            .run(reconcile::<CloudContract>, on_error::<CloudContract>, ctx.clone())
            .for_each(|_| futures::future::ready(()));
        runs.push(contracts.boxed());

        let (budgets, budget_store) =
            controller::<BudgetAlert>(api(&client, &scope), cfg.budget_alert.concurrency, |_| {});
        ctx.stores.budgets.add(budget_store.clone());
        runs.push(run_dependent(
            budgets,
            budget_store,
            &ctx,
            &scope,
            &stop,
            |b, name| b.spec.contract == name,
        ));

        let (users, user_store) = {
            let emails = Arc::new(KeyIndex::new(email_key));
            ctx.stores.user_emails.add(emails.clone());
            controller::<PortalUser>(api(&client, &scope), cfg.portal_user.concurrency, move |e| {
                emails.apply(e)
            })
        };
        ctx.stores.users.add(user_store.clone());
        runs.push(run_dependent(
            users,
            user_store,
            &ctx,
            &scope,
            &stop,
            |u, name| u.spec.access.iter().any(|a| a.contract == name),
        ));

        let (orders, order_store) =
            controller::<ServiceOrder>(api(&client, &scope), cfg.service_order.concurrency, |_| {});
        ctx.stores.orders.add(order_store.clone());
        runs.push(run_dependent(
            orders,
            order_store,
            &ctx,
            &scope,
            &stop,
            |o, name| o.spec.contract == name,
        ));

        let (consoles, console_store) =
            controller::<ConsoleAccess>(api(&client, &scope), cfg.console_access.concurrency, |_| {});
        ctx.stores.consoles.add(console_store.clone());
        runs.push(run_dependent(
            consoles,
            console_store,
            &ctx,
            &scope,
            &stop,
            |o, name| o.spec.contract == name,
        ));
        let (exports, export_store) =
            controller::<BillingExport>(api(&client, &scope), cfg.billing_export.concurrency, |_| {});
        runs.push(run_dependent(
            exports,
            export_store,
            &ctx,
            &scope,
            &stop,
            |e, name| e.spec.contract == name,
        ));
    }
    // Ends as soon as one controller ends on its own (the caller treats that as fatal); on a
    // shutdown, once every controller has finished its in-flight reconciles.
    async move {
        let (_, _, rest) = futures::future::select_all(runs).await;
        if stop().now_or_never().is_some() {
            futures::future::join_all(rest).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{readiness_hash, slim};
    use crate::api::CloudContract;
    use serde_json::json;

    fn contract(generation: i64, ready: &str, last_sync: &str) -> CloudContract {
        serde_json::from_value(json!({
            "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
            "metadata": {"name": "acme", "namespace": "team", "generation": generation},
            "spec": {"contractId": "OCB0000001", "offer": "FlexibleEngine", "credentialsSecretRef": {"name": "s"}},
            "status": {"lastSyncTime": last_sync, "conditions": [{"type": "Ready", "status": ready,
                "reason": "Synced", "message": "ok", "lastTransitionTime": "2026-11-25T00:00:00Z"}]}
        }))
        .expect("a CloudContract")
    }

    #[test]
    fn dependents_wake_on_spec_and_readiness_not_on_routine_status() {
        let base = readiness_hash(&contract(1, "True", "2026-11-25T10:00:00Z"));
        assert_eq!(base, readiness_hash(&contract(1, "True", "2026-11-25T10:00:20Z")));
        assert_ne!(
            base,
            readiness_hash(&contract(1, "False", "2026-11-25T10:00:00Z"))
        );
        assert_ne!(base, readiness_hash(&contract(2, "True", "2026-11-25T10:00:00Z")));
    }

    #[test]
    fn the_cache_drops_managed_fields_and_the_last_applied_copy() {
        let mut applied = contract(1, "True", "2026-11-25T10:00:00Z");
        applied.metadata.managed_fields = Some(vec![Default::default()]);
        applied.metadata.annotations = Some(
            [(
                "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                "{}".to_string(),
            )]
            .into(),
        );
        slim(&mut applied);
        assert_eq!(
            (applied.metadata.managed_fields, applied.metadata.annotations),
            (None, None)
        );

        let mut annotated = contract(1, "True", "2026-11-25T10:00:00Z");
        annotated.metadata.annotations = Some(
            [
                (
                    "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                    "{}".to_string(),
                ),
                ("customerspace.io/paused".to_string(), "true".to_string()),
            ]
            .into(),
        );
        slim(&mut annotated);
        let kept: Vec<_> = annotated
            .metadata
            .annotations
            .unwrap_or_default()
            .into_keys()
            .collect();
        assert_eq!(kept, ["customerspace.io/paused"]);
    }
}
