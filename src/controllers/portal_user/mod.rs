//! PortalUser controller: one person's account and profiles on the contracts it lists.
//!
//! Pipeline: dereference (CloudContracts, conflicting claims) -> observe (the users of each
//! contract, shared) -> plan (pure, [`plan::plan`]) -> apply (portal writes, Events) -> status.
//! Deletion runs [`plan::plan_deletion`] behind the finalizer.

pub mod apply;
pub mod observe;
pub mod plan;

use super::common::annotations;
use super::common::conditions::{self};
use super::common::driver::{ConditionedStatus, Reconciled, jitter, not_due, opening};
use super::common::health;
use super::common::report::{apply_status, event, only_heartbeat, stored_status};
use super::common::{Category, ReconcileError, finalizer, timestamp};
use super::context::Context;
use super::key_index::email_key;
use super::reference::referenced_contract;
use super::stores::claim_order;
use crate::api::cloud_contract::CloudContract;
use crate::api::portal_user::{PortalUser, PortalUserStatus, UserManagementPolicy};
use crate::config::ControllersConfig;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use observe::Target;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

crate::status_header!(PortalUserStatus, last_sync_time);

impl ConditionedStatus for PortalUserStatus {}

impl Reconciled for PortalUser {
    const KIND: &'static str = "PortalUser";
    const DEPENDENT: bool = true;

    fn configured_poll(config: &ControllersConfig) -> std::time::Duration {
        config.portal_user.poll_interval
    }

    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send {
        run(obj, ctx)
    }
}

/// A cached CloudContract by name, Ready or not (the cleanup path needs no readiness).
fn cached_contract(ctx: &Context, namespace: &str, name: &str) -> Option<Arc<CloudContract>> {
    ctx.stores
        .contracts
        .all()
        .into_iter()
        .find(|c| c.namespace().as_deref() == Some(namespace) && c.name_any() == name)
}

/// The contract keys of a PortalUser: contract ids when known, else `namespace/name`.
fn claim(ctx: &Context, obj: &PortalUser) -> plan::Claim {
    let namespace = obj.namespace().unwrap_or_default();
    plan::Claim {
        order: claim_order(obj),
        email: email_key(obj),
        contracts: obj
            .spec
            .access
            .iter()
            .map(|a| match cached_contract(ctx, &namespace, &a.contract) {
                Some(c) => c.spec.contract_id.clone(),
                None => format!("{namespace}/{}", a.contract),
            })
            .collect(),
    }
}

/// The claims of every other live PortalUser of the same email (only those can conflict or keep
/// the account in use), found through the email index rather than a scan of every PortalUser.
fn other_claims(ctx: &Context, obj: &PortalUser) -> Vec<plan::Claim> {
    let same_object = |o: &PortalUser| {
        o.metadata.name == obj.metadata.name && o.metadata.namespace == obj.metadata.namespace
    };
    ctx.stores
        .user_emails
        .get(&email_key(obj))
        .iter()
        .filter_map(|at| ctx.stores.users.get(at))
        .filter(|o| o.metadata.deletion_timestamp.is_none() && !same_object(o))
        .map(|o| claim(ctx, &o))
        .collect()
}

fn check_conflict(ctx: &Context, obj: &PortalUser) -> Result<(), ReconcileError> {
    let others = other_claims(ctx, obj);
    match plan::conflict(&claim(ctx, obj), &others) {
        Some((owner, contract)) => Err(ReconcileError::new(
            Category::Conflict,
            format!(
                "{} on contract {contract} is already managed by PortalUser {}/{}; this one changes nothing until that one is deleted",
                obj.spec.email, owner.order.1, owner.order.2
            ),
        )),
        None => Ok(()),
    }
}

async fn run(obj: Arc<PortalUser>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(poll) = opening(obj.as_ref(), &ctx)? else {
        return Ok(Action::await_change());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<PortalUser> = Api::namespaced(ctx.client.clone(), &namespace);
    if obj.metadata.deletion_timestamp.is_some() {
        return cleanup(&obj, &ctx, &api).await;
    }
    check_conflict(&ctx, &obj)?;
    // Dereference first, from the cache: while a contract is not reconciled yet this waits
    // without a single API call.
    let mut targets = Vec::new();
    for access in &obj.spec.access {
        let contract = referenced_contract(&ctx, &namespace, &access.contract)
            .await
            .map_err(|e| {
                ReconcileError::new(
                    e.category,
                    e.message.replacen("spec.contract", "spec.access[].contract", 1),
                )
            })?;
        targets.push(observe::target(&ctx, contract).await?);
    }
    let now = ctx.now();
    let writes = obj.spec.management_policy != UserManagementPolicy::ObserveOnly;
    // As stored, not as cached: an older status would misreport `adopted` and be applied over
    // the newer one. A new object first gets the finalizer (held before the first portal write,
    // it lets a deletion always clean up), whose write answers with the stored status: one API
    // request instead of a read and a write.
    let previous = if writes && !finalizer::has(obj.as_ref()) {
        finalizer::added(&api, obj.as_ref())
            .await?
            .map(|stored| stored.status.unwrap_or_default())
    } else {
        stored_status(&ctx.written, &api, obj.as_ref()).await?
    };
    let Some(previous) = previous else {
        return Ok(Action::await_change());
    };
    let requested = annotations::reconcile_requested_at(obj.as_ref());
    if let Some(requeue) = not_due(obj.as_ref(), &previous, poll, now) {
        return Ok(requeue);
    }

    let mut views = observe::views(&ctx, &obj, &targets, poll.mul_f64(super::shared_read::SLACK)).await?;

    // Plan and apply.
    let plan = plan::plan(&obj.spec, &previous, &views);
    let applied = apply::apply(&ctx, &obj, &targets, &mut views, &plan.actions).await?;
    for note in &plan.kept {
        event(
            &ctx.recorder,
            obj.as_ref(),
            EventType::Warning,
            "ReferentProtected",
            "Reconcile",
            note.clone(),
        );
    }

    // Status.
    let mut basis = previous.clone();
    if basis.adopted.is_none() {
        basis.adopted = applied.created.map(|created| !created);
    }
    if let Some(account) = &applied.invited {
        basis.invitation_sent_at = Some(timestamp(account.invitation_sent_at.unwrap_or(now)));
    }
    let mut status = plan::observed_status(&obj.spec, &basis, &views);
    let generation = obj.metadata.generation;
    status.observed_generation = generation;
    status.conditions = previous.conditions.clone();
    status.last_handled_reconcile_at = requested;
    status.last_sync_time = Some(timestamp(now));
    let c = &mut status.conditions;
    let (synced, reason, message) = synced_condition(&obj, &plan);
    conditions::on(c, generation, now).set("Synced", Some(synced), reason, &message);
    let ready = annotations::with_poll_interval_note(
        obj.as_ref(),
        format!(
            "{} is {:?} on {} contract(s)",
            obj.spec.email,
            status
                .state
                .unwrap_or(crate::api::portal_user::UserState::Pending),
            views.len()
        ),
    );
    conditions::on(c, generation, now).set("Ready", Some(true), "Reconciled", &ready);
    health::set(c, generation, now, &health::user(status.state));
    if !only_heartbeat(&previous, &status, ctx.config.controllers.status_heartbeat, now) {
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    }
    Ok(Action::requeue(jitter(poll)))
}

fn synced_condition(obj: &PortalUser, plan: &plan::UserPlan) -> (bool, &'static str, String) {
    if !plan.kept.is_empty() {
        return (false, "ReferentProtected", plan.kept.join("; "));
    }
    if plan.drift.is_empty() {
        return (true, "Synced", "the portal matches the spec".into());
    }
    let drift = plan.drift.join("; ");
    match obj.spec.management_policy {
        UserManagementPolicy::ObserveOnly => (
            false,
            "ObserveOnlyDrift",
            format!("managementPolicy ObserveOnly, not corrected: {drift}"),
        ),
        _ => (
            true,
            "CreateOnly",
            format!("managementPolicy CreateOnly, not updated: {drift}"),
        ),
    }
}

/// Deletion: the policy's cleanup on the contracts no other PortalUser declares for this email.
async fn cleanup(obj: &PortalUser, ctx: &Context, api: &Api<PortalUser>) -> Result<Action, ReconcileError> {
    if !finalizer::has(obj) {
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().unwrap_or_default();
    let others = other_claims(ctx, obj);
    let mine = claim(ctx, obj);
    let owned_elsewhere = |key: &String| {
        others
            .iter()
            .any(|o| o.email == mine.email && o.contracts.contains(key))
    };
    let mut targets: Vec<Target> = Vec::new();
    for (access, key) in obj.spec.access.iter().zip(&mine.contracts) {
        if owned_elsewhere(key) {
            continue;
        }
        match cached_contract(ctx, &namespace, &access.contract) {
            Some(contract) => targets.push(observe::target(ctx, contract).await?),
            None => {
                let note = format!(
                    "CloudContract {namespace}/{} is gone; the access of {} on it is left as is",
                    access.contract, obj.spec.email
                );
                event(
                    &ctx.recorder,
                    obj,
                    EventType::Warning,
                    "CleanupSkipped",
                    "Delete",
                    note,
                );
            }
        }
    }
    let email_still_referenced = others.iter().any(|o| o.email == mine.email);
    // Read fresh: a deletion acts on what the portal holds now (the referent may have changed).
    let mut views = observe::views(ctx, obj, &targets, Duration::ZERO).await?;
    let account_id = obj.status.as_ref().and_then(|s| s.account_id.as_deref());
    let plan = plan::plan_deletion(&obj.spec, account_id, &views, email_still_referenced);
    for note in &plan.notes {
        event(
            &ctx.recorder,
            obj,
            EventType::Normal,
            "CleanupPolicy",
            "Delete",
            note.clone(),
        );
    }
    if obj.spec.management_policy != UserManagementPolicy::ObserveOnly {
        match apply::apply(ctx, obj, &targets, &mut views, &plan.actions).await {
            Ok(_) => {}
            // The portal refuses to delete an account that is the referent of a contract this
            // object does not list: remove the listed access instead, and say so.
            Err(e) if e.category == Category::Conflict => {
                let note = format!(
                    "the account of {} cannot be deleted ({}); removing its access instead",
                    obj.spec.email, e.message
                );
                event(
                    &ctx.recorder,
                    obj,
                    EventType::Warning,
                    "CleanupPolicy",
                    "Delete",
                    note,
                );
                let mut spec = obj.spec.clone();
                spec.deletion_policy = crate::api::portal_user::UserDeletionPolicy::RemoveAccess;
                let fallback = plan::plan_deletion(&spec, account_id, &views, email_still_referenced);
                apply::apply(ctx, obj, &targets, &mut views, &fallback.actions).await?;
            }
            Err(e) => return Err(e),
        }
    }
    finalizer::release(api, obj).await?;
    Ok(Action::await_change())
}
