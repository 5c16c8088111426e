//! The FCA (Cloud Director) branch of the ConsoleAccess controller: members of an organization
//! with one role, owned per (organization, member) through the marker in each user's
//! `description` ([`super::fca_plan`]).

use super::access::vcd_error;
use super::apply::{initial_password, password_secret_name};
use super::fca_plan::{self, FcaAction};
use crate::api::console_access::{
    ConsoleAccess, ConsoleAccessStatus, ConsoleManagementPolicy, FcaAccess, MemberState, PasswordPolicy,
};
use crate::console::CloudDirector;
use crate::console::clouddirector::{EntityRef, VcdUser};
use crate::controllers::common::annotations;
use crate::controllers::common::conditions;
use crate::controllers::common::health::{self, Progress};
use crate::controllers::common::report::event;
use crate::controllers::common::{Category, ReconcileError};
use crate::controllers::context::Context;
use crate::portal::ErrorCategory;
use kube::ResourceExt;
use kube::runtime::events::EventType;

/// The organization's users and the declared role.
pub async fn observe(
    vcd: &CloudDirector,
    fca: &FcaAccess,
) -> Result<(Vec<VcdUser>, EntityRef), ReconcileError> {
    let (users, roles) = tokio::try_join!(
        async { vcd.list_users().await.map_err(|e| vcd_error(e, "listing users")) },
        async { vcd.list_roles().await.map_err(|e| vcd_error(e, "listing roles")) },
    )?;
    let role = roles.into_iter().find(|r| r.name == fca.role).ok_or_else(|| {
        ReconcileError::new(
            Category::InvalidSpec,
            format!(
                "spec.fca.role: organization {} has no role {:?}; use one of its roles, such as Organization Administrator",
                fca.organization, fca.role
            ),
        )
    })?;
    Ok((users, role))
}

/// Whether `uid` is another live ConsoleAccess.
pub fn foreign(ctx: &Context, obj: &ConsoleAccess, uid: &str) -> bool {
    obj.uid().as_deref() != Some(uid)
        && ctx
            .stores
            .consoles
            .all()
            .iter()
            .any(|o| o.uid().as_deref() == Some(uid) && o.metadata.deletion_timestamp.is_none())
}

/// Runs `actions`; returns the sentences of what was done.
pub async fn apply(
    ctx: &Context,
    obj: &ConsoleAccess,
    vcd: &CloudDirector,
    marker: &str,
    role: &EntityRef,
    actions: &[FcaAction],
) -> Result<Vec<String>, ReconcileError> {
    let mut done = vec![];
    for action in actions {
        if !ctx.leading("a console write") {
            break;
        }
        match action {
            FcaAction::Create { name, email } => {
                let (provider, password) = match obj.spec.passwords {
                    PasswordPolicy::GeneratedSecret => {
                        ("LOCAL", Some(initial_password(ctx, obj, name).await?))
                    }
                    PasswordPolicy::Federated => ("SAML", None),
                };
                let user = VcdUser {
                    username: name.clone(),
                    full_name: name.clone(),
                    email: email.clone().unwrap_or_default(),
                    description: marker.to_string(),
                    role_entity_ref: role.clone(),
                    enabled: true,
                    provider_type: provider.into(),
                    ..VcdUser::default()
                };
                match vcd.create_user(&user, password.as_ref()).await {
                    Ok(_) => done.push(format!("created user {name}")),
                    // Created meanwhile (an earlier answer was lost): the next pass adopts or keeps it.
                    Err(e) if e.message.contains("DUPLICATE_NAME") => {}
                    Err(e) => return Err(vcd_error(e, "creating a user")),
                }
            }
            FcaAction::Update { user, what } => {
                vcd.update_user(user)
                    .await
                    .map_err(|e| vcd_error(e, "updating a user"))?;
                done.push(format!("updated user {what}"));
            }
            FcaAction::Delete { id, name } => match vcd.delete_user(id).await {
                Ok(()) => done.push(format!("deleted user {name}")),
                Err(e) if e.category == ErrorCategory::NotFound => {}
                Err(e) => return Err(vcd_error(e, "deleting a user")),
            },
        }
    }
    Ok(done)
}

/// One pass on an FCA ConsoleAccess; returns its status (conditions set).
pub async fn reconcile(
    ctx: &Context,
    obj: &ConsoleAccess,
    fca: &FcaAccess,
    vcd: &CloudDirector,
    marker: &str,
    previous: &ConsoleAccessStatus,
) -> Result<ConsoleAccessStatus, ReconcileError> {
    let now = ctx.now();
    let (mut users, role) = observe(vcd, fca).await?;
    let plan = fca_plan::plan(fca, obj.spec.management_policy, marker, &role, &users, |uid| {
        foreign(ctx, obj, uid)
    });
    let done = apply(ctx, obj, vcd, marker, &role, &plan.actions).await?;
    if !done.is_empty() {
        event(
            &ctx.recorder,
            obj,
            EventType::Normal,
            "ConsoleUpdated",
            "Reconcile",
            done.join("; "),
        );
        users = observe(vcd, fca).await?.0;
    }
    let members = fca_plan::member_status(fca, marker, &role, &users);
    let ready_count = members.iter().filter(|m| m.state == MemberState::Member).count();
    let mut status = ConsoleAccessStatus {
        observed_generation: obj.metadata.generation,
        conditions: previous.conditions.clone(),
        last_handled_reconcile_at: annotations::reconcile_requested_at(obj),
        last_sync_time: Some(crate::controllers::common::timestamp(now)),
        password_secret: (obj.spec.passwords == PasswordPolicy::GeneratedSecret
            && members.iter().any(|m| m.created))
        .then(|| password_secret_name(obj))
        .or(previous.password_secret.clone()),
        members,
        permissions_changed_at: if done.is_empty() {
            previous.permissions_changed_at.clone()
        } else {
            Some(crate::controllers::common::timestamp(now))
        },
        ..ConsoleAccessStatus::default()
    };
    let generation = obj.metadata.generation;
    let c = &mut status.conditions;
    let conflict = plan.drift.iter().any(|d| d.contains("another ConsoleAccess"));
    let (synced, reason, message) = if conflict && obj.spec.management_policy == ConsoleManagementPolicy::Full
    {
        (false, "Conflict", plan.drift.join("; "))
    } else {
        super::synced_condition(obj.spec.management_policy, &plan.drift)
    };
    conditions::on(c, generation, now).set("Synced", Some(synced), reason, &message);
    let ready = annotations::with_poll_interval_note(
        obj,
        format!(
            "organization {} has {ready_count} of {} declared member(s) with role {}",
            fca.organization,
            fca.members.len(),
            fca.role
        ),
    );
    conditions::on(c, generation, now).set("Ready", Some(true), "Reconciled", &ready);
    health::set(c, generation, now, &Progress::Done);
    Ok(status)
}

/// The deletion policy's cleanup on the users this object owns.
pub async fn cleanup(
    ctx: &Context,
    obj: &ConsoleAccess,
    fca: &FcaAccess,
    marker: &str,
) -> Result<(), ReconcileError> {
    let namespace = obj.namespace().unwrap_or_default();
    let vcd = ctx.console.cloud_director(&ctx.client, &namespace, fca).await?;
    let (users, role) = observe(&vcd, fca).await?;
    let actions = fca_plan::plan_deletion(obj.spec.deletion_policy, marker, &users);
    let done = apply(ctx, obj, &vcd, marker, &role, &actions).await?;
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
    Ok(())
}
