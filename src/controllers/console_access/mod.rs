//! ConsoleAccess controller: one team's group, members and roles on a contract's console.
//!
//! Pipeline: dereference (the CloudContract, its offer) -> client (allowlisted endpoint, marked
//! Secret) -> observe (the IAM) -> ownership (the group's marker: adopt, or Conflict for a second
//! claim) -> plan (pure, [`plan::plan`]) -> apply -> observe again -> status. Deletion runs
//! [`plan::plan_deletion`] behind the finalizer.

pub mod access;
pub mod apply;
pub mod fca;
pub mod fca_plan;
pub mod plan;

use super::common::annotations;
use super::common::conditions;
use super::common::driver::{ConditionedStatus, Reconciled, jitter, not_due, opening};
use super::common::health::{self, Progress};
use super::common::report::{apply_status, event, stored_status};
use super::common::{Category, ReconcileError, finalizer, timestamp};
use super::context::Context;
use super::reference::referenced_contract;
use crate::api::cloud_contract::Offer;
use crate::api::console_access::{
    ConsoleAccess, ConsoleAccessStatus, ConsoleManagementPolicy, FcaAccess, FlexibleEngineAccess,
    MemberState, PasswordPolicy,
};
use crate::console::Keystone;
use access::iam_error;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use plan::Observed;
use std::future::Future;
use std::sync::Arc;

crate::status_header!(ConsoleAccessStatus, last_sync_time);

impl ConditionedStatus for ConsoleAccessStatus {}

impl Reconciled for ConsoleAccess {
    const KIND: &'static str = "ConsoleAccess";
    const DEPENDENT: bool = true;

    fn configured_poll(config: &crate::config::ControllersConfig) -> std::time::Duration {
        config.console_access.poll_interval
    }

    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send {
        run(obj, ctx)
    }
}

fn marker_of(obj: &ConsoleAccess) -> String {
    plan::marker(
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        &obj.uid().unwrap_or_default(),
    )
}

fn flexible_engine(obj: &ConsoleAccess) -> Result<&FlexibleEngineAccess, ReconcileError> {
    obj.spec
        .flexible_engine
        .as_ref()
        .ok_or_else(|| ReconcileError::new(Category::InvalidSpec, "set spec.flexibleEngine or spec.fca"))
}

/// One pass on an FCA ConsoleAccess: contract check, client, finalizer, then [`fca::reconcile`].
async fn run_fca(
    obj: &Arc<ConsoleAccess>,
    ctx: &Arc<Context>,
    api: &Api<ConsoleAccess>,
    fca_spec: &FcaAccess,
    poll: std::time::Duration,
) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_default();
    let contract = referenced_contract(ctx, &namespace, &obj.spec.contract).await?;
    if contract.spec.offer != Offer::FlexibleComputingAdvanced {
        return Err(ReconcileError::new(
            Category::InvalidSpec,
            format!(
                "spec.fca: CloudContract {namespace}/{} is a Flexible Engine contract; use spec.flexibleEngine for its console",
                obj.spec.contract
            ),
        ));
    }
    let vcd = ctx
        .console
        .cloud_director(&ctx.client, &namespace, fca_spec)
        .await?;
    let writes = obj.spec.management_policy != ConsoleManagementPolicy::ObserveOnly;
    let (previous, ()) = tokio::try_join!(stored_status(&ctx.written, api, obj.as_ref()), async {
        if writes {
            finalizer::ensure(api, obj.as_ref()).await
        } else {
            Ok(())
        }
    })?;
    let Some(previous) = previous else {
        return Ok(Action::await_change());
    };
    if let Some(requeue) = not_due(obj.as_ref(), &previous, poll, ctx.now()) {
        return Ok(requeue);
    }
    let marker = marker_of(obj);
    let status = fca::reconcile(ctx, obj, fca_spec, &vcd, &marker, &previous).await?;
    apply_status(&ctx.written, api, obj.as_ref(), &status).await?;
    Ok(Action::requeue(jitter(poll)))
}

/// Everything the IAM shows about the group.
async fn observe(iam: &Keystone, group: &str) -> Result<Observed, ReconcileError> {
    let domain_id = iam
        .domain_id()
        .await
        .map_err(|e| iam_error(e, "authenticating to the identity endpoint"))?;
    let d = domain_id.as_str();
    let (group, users, roles, projects) = tokio::try_join!(
        async {
            iam.find_group(d, group)
                .await
                .map_err(|e| iam_error(e, "reading groups"))
        },
        async { iam.list_users(d).await.map_err(|e| iam_error(e, "listing users")) },
        async { iam.list_roles().await.map_err(|e| iam_error(e, "listing roles")) },
        async {
            iam.list_projects(d)
                .await
                .map_err(|e| iam_error(e, "listing projects"))
        },
    )?;
    let (members, assignments) = match &group {
        Some(g) => tokio::try_join!(
            async {
                iam.group_users(&g.id)
                    .await
                    .map_err(|e| iam_error(e, "listing group members"))
            },
            async {
                iam.group_assignments(&g.id)
                    .await
                    .map_err(|e| iam_error(e, "listing role assignments"))
            },
        )?,
        None => (vec![], vec![]),
    };
    Ok(Observed {
        domain_id,
        group,
        users,
        members,
        roles,
        projects,
        assignments,
    })
}

/// The live ConsoleAccess (other than `obj`) whose marker the group carries, if any: the first
/// claim owns the group until it is deleted.
fn other_owner(ctx: &Context, obj: &ConsoleAccess, seen: &Observed) -> Option<String> {
    let uid = plan::marker_uid(seen.group.as_ref()?.description.as_deref())?;
    if Some(uid) == obj.uid().as_deref() {
        return None;
    }
    ctx.stores
        .consoles
        .all()
        .into_iter()
        .find(|o| o.uid().as_deref() == Some(uid) && o.metadata.deletion_timestamp.is_none())
        .map(|o| format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any()))
}

async fn run(obj: Arc<ConsoleAccess>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(poll) = opening(obj.as_ref(), &ctx)? else {
        return Ok(Action::await_change());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<ConsoleAccess> = Api::namespaced(ctx.client.clone(), &namespace);
    if obj.metadata.deletion_timestamp.is_some() {
        return cleanup(&obj, &ctx, &api).await;
    }
    if let Some(fca) = &obj.spec.fca {
        return run_fca(&obj, &ctx, &api, fca, poll).await;
    }
    let fe = flexible_engine(&obj)?;
    let contract = referenced_contract(&ctx, &namespace, &obj.spec.contract).await?;
    if contract.spec.offer != Offer::FlexibleEngine {
        return Err(ReconcileError::new(
            Category::InvalidSpec,
            format!(
                "spec.flexibleEngine: CloudContract {namespace}/{} is an FCA contract; use spec.fca for its console",
                obj.spec.contract
            ),
        ));
    }
    let iam = ctx.console.keystone(&ctx.client, &namespace, fe).await?;
    let now = ctx.now();
    let writes = obj.spec.management_policy != ConsoleManagementPolicy::ObserveOnly;
    let (previous, ()) = tokio::try_join!(stored_status(&ctx.written, &api, obj.as_ref()), async {
        if writes {
            finalizer::ensure(&api, obj.as_ref()).await
        } else {
            Ok(())
        }
    })?;
    let Some(previous) = previous else {
        return Ok(Action::await_change());
    };
    let requested = annotations::reconcile_requested_at(obj.as_ref());
    if let Some(requeue) = not_due(obj.as_ref(), &previous, poll, now) {
        return Ok(requeue);
    }

    let marker = marker_of(&obj);
    let mut seen = observe(&iam, &fe.group).await?;
    if let Some(owner) = other_owner(&ctx, &obj, &seen) {
        return Err(ReconcileError::new(
            Category::Conflict,
            format!(
                "group {} is already managed by ConsoleAccess {owner}; this one changes nothing until that one is deleted",
                fe.group
            ),
        ));
    }
    let desired = plan::desired(fe, &seen).map_err(|m| ReconcileError::new(Category::InvalidSpec, m))?;
    let found_group = seen.group.clone();
    let plan = plan::plan(fe, obj.spec.management_policy, &marker, &desired, &seen);
    let done = apply::apply(&ctx, &obj, &iam, &fe.group, &marker, &seen, &plan.actions).await?;
    if !done.is_empty() {
        event(
            &ctx.recorder,
            obj.as_ref(),
            EventType::Normal,
            "ConsoleUpdated",
            "Reconcile",
            done.join("; "),
        );
        seen = observe(&iam, &fe.group).await?;
    }

    // Status.
    let (members, role_assignments) = plan::observed_status(fe, &marker, &desired, &seen);
    let changed = plan.actions.iter().any(plan::Action::changes_permissions);
    let permissions_changed_at = if changed {
        Some(timestamp(now))
    } else {
        previous.permissions_changed_at.clone()
    };
    let delay = chrono::Duration::from_std(ctx.config.console.propagation_delay).unwrap_or_default();
    let effective_after = permissions_changed_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| timestamp(t.with_timezone(&chrono::Utc) + delay));
    let pending_members = members.iter().filter(|m| m.state != MemberState::Member).count();
    let status = ConsoleAccessStatus {
        observed_generation: obj.metadata.generation,
        conditions: previous.conditions.clone(),
        last_handled_reconcile_at: requested,
        last_sync_time: Some(timestamp(now)),
        domain_id: Some(seen.domain_id.clone()),
        group_id: seen.group.as_ref().map(|g| g.id.clone()),
        adopted: previous.adopted.or(match &found_group {
            None if seen.group.is_some() => Some(false),
            Some(g) => Some(g.description.as_deref() != Some(marker.as_str())),
            None => None,
        }),
        password_secret: (obj.spec.passwords == PasswordPolicy::GeneratedSecret
            && members.iter().any(|m| m.created))
        .then(|| apply::password_secret_name(&obj))
        .or(previous.password_secret.clone()),
        members,
        role_assignments,
        permissions_changed_at,
        effective_after: effective_after.clone(),
    };
    let mut status = status;
    let generation = obj.metadata.generation;
    let c = &mut status.conditions;
    let (synced, reason, message) = synced_condition(obj.spec.management_policy, &plan.drift);
    conditions::on(c, generation, now).set("Synced", Some(synced), reason, &message);
    let effective = match &effective_after {
        Some(at) if chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t > now) => {
            format!("; Flexible Engine applies IAM changes within 15 to 30 minutes: effective after {at}")
        }
        _ => String::new(),
    };
    let ready = annotations::with_poll_interval_note(
        obj.as_ref(),
        format!(
            "group {} has {} of {} declared member(s) and {} role assignment(s){effective}",
            fe.group,
            fe.members.len() - pending_members,
            fe.members.len(),
            status.role_assignments.len()
        ),
    );
    let c = &mut status.conditions;
    conditions::on(c, generation, now).set("Ready", Some(true), "Reconciled", &ready);
    health::set(c, generation, now, &Progress::Done);
    apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    Ok(Action::requeue(jitter(poll)))
}

pub(super) fn synced_condition(
    policy: ConsoleManagementPolicy,
    drift: &[String],
) -> (bool, &'static str, String) {
    if drift.is_empty() {
        return (true, "Synced", "the console matches the spec".into());
    }
    let drift = drift.join("; ");
    match policy {
        ConsoleManagementPolicy::ObserveOnly => (
            false,
            "ObserveOnlyDrift",
            format!("managementPolicy ObserveOnly, not corrected: {drift}"),
        ),
        _ => (
            true,
            "CreateOnly",
            format!("managementPolicy CreateOnly, not removed: {drift}"),
        ),
    }
}

/// Deletion: the policy's cleanup, only on a group this object owns.
async fn cleanup(
    obj: &ConsoleAccess,
    ctx: &Context,
    api: &Api<ConsoleAccess>,
) -> Result<Action, ReconcileError> {
    if !finalizer::has(obj) {
        return Ok(Action::await_change());
    }
    let writes = obj.spec.management_policy != ConsoleManagementPolicy::ObserveOnly;
    if let (Some(fca_spec), true) = (&obj.spec.fca, writes) {
        fca::cleanup(ctx, obj, fca_spec, &marker_of(obj)).await?;
    }
    if let (Ok(fe), true) = (
        flexible_engine(obj),
        obj.spec.management_policy != ConsoleManagementPolicy::ObserveOnly,
    ) {
        let namespace = obj.namespace().unwrap_or_default();
        let iam = ctx.console.keystone(&ctx.client, &namespace, fe).await?;
        let seen = observe(&iam, &fe.group).await?;
        let marker = marker_of(obj);
        let ours = seen
            .group
            .as_ref()
            .is_some_and(|g| g.description.as_deref() == Some(marker.as_str()));
        if ours {
            let actions = plan::plan_deletion(obj.spec.deletion_policy, &marker, &seen);
            let done = apply::apply(ctx, obj, &iam, &fe.group, &marker, &seen, &actions).await?;
            let note = format!(
                "deletionPolicy {:?}: {}",
                obj.spec.deletion_policy,
                if done.is_empty() {
                    "nothing changed on the console".to_string()
                } else {
                    done.join("; ")
                }
            );
            event(
                &ctx.recorder,
                obj,
                EventType::Normal,
                "CleanupPolicy",
                "Delete",
                note,
            );
        } else {
            let note = format!("group {} is not owned by this object: left as is", fe.group);
            event(
                &ctx.recorder,
                obj,
                EventType::Normal,
                "CleanupSkipped",
                "Delete",
                note,
            );
        }
    }
    finalizer::release(api, obj).await?;
    Ok(Action::await_change())
}
