//! What the dependent kinds (BudgetAlert, PortalUser, ServiceOrder) share about the CloudContract
//! they name: finding it, and whether it is Ready.

use super::common::annotations;
use super::common::conditions;
use super::common::{Category, ReconcileError};
use super::context::Context;
use crate::api::cloud_contract::CloudContract;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, ResourceExt};
use std::sync::Arc;

/// The Ready condition of a CloudContract; `None` until it was reconciled once.
pub fn ready_condition(contract: &CloudContract) -> Option<&Condition> {
    conditions::find(&contract.status.as_ref()?.conditions, "Ready")
}

/// The CloudContract a budget or order names; its absence or unreadiness is a terminal error naming
/// the field (the contract's own changes requeue the dependents).
///
/// Read from the cache, and again from the API server when the cached copy is missing or failed:
/// the contract change that requeues a dependent comes through another watch than the cache's, and
/// may arrive first. Failing on the stale copy would leave the dependent waiting a poll interval.
/// A contract never reconciled yet is waited for quietly (`ReferencePending`), from the cache.
pub async fn referenced_contract(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Arc<CloudContract>, ReconcileError> {
    let cached = ctx
        .stores
        .contracts
        .all()
        .into_iter()
        .find(|c| c.namespace().as_deref() == Some(namespace) && c.name_any() == name);
    let contract = match cached {
        // Ready, or never reconciled yet (waited for below, from the cache).
        Some(c) if ready_condition(&c).is_none_or(|r| r.status == "True") => c,
        _ => Api::<CloudContract>::namespaced(ctx.client.clone(), namespace)
            .get_opt(name)
            .await?
            .map(Arc::new)
            .ok_or_else(|| {
                ReconcileError::new(
                    Category::ReferenceNotFound,
                    format!(
                        "spec.contract: CloudContract {namespace}/{name} not found; create it or fix the name"
                    ),
                )
            })?,
    };
    match ready_condition(&contract) {
        Some(ready) if ready.status == "True" => {}
        // Requeued by the contract's watch once it has a Ready condition either way, and retried
        // from the cache meanwhile (that watch may run ahead of the cache).
        None if !annotations::is_paused(contract.as_ref()) => {
            return Err(ReconcileError::new(
                Category::ReferencePending,
                format!("spec.contract: CloudContract {namespace}/{name} is not reconciled yet"),
            ));
        }
        ready => {
            return Err(ReconcileError::new(
                Category::ReferenceNotFound,
                format!(
                    "spec.contract: CloudContract {namespace}/{name} is not Ready yet ({})",
                    ready.map_or("not reconciled", |r| r.message.as_str())
                ),
            ));
        }
    }
    Ok(contract)
}
