//! Portal writes of a PortalUser, each followed by an Event and an update of the shared users
//! cache (so the next PortalUser of the contract needs no new read).

use super::observe::{Target, forbidden_or};
use super::plan::{ContractView, UserAction};
use crate::api::portal_user::PortalUser;
use crate::controllers::common::report::event;
use crate::controllers::common::{Category, ReconcileError};
use crate::controllers::context::Context;
use crate::portal::{Account, ContractUser, ErrorCategory};
use kube::runtime::events::EventType;

/// What the writes changed, for the status.
#[derive(Default)]
pub struct Applied {
    /// Whether an account was created (`Some(false)`: an existing one was reused).
    pub created: Option<bool>,
    /// The account after an invitation was sent.
    pub invited: Option<Account>,
}

fn target_of<'t>(targets: &'t [Target], contract_id: &str) -> &'t Target {
    targets
        .iter()
        .find(|t| t.contract_id() == contract_id)
        .expect("actions are planned from the targets")
}

async fn remember(ctx: &Context, t: &Target, user: &ContractUser) {
    ctx.portal
        .users
        .update(&t.key, |users| {
            users.retain(|u| u.account.id != user.account.id);
            users.push(user.clone());
        })
        .await;
}

async fn forget(ctx: &Context, t: &Target, account_id: &str) {
    ctx.portal
        .users
        .update(&t.key, |users| users.retain(|u| u.account.id != account_id))
        .await;
}

fn any_target(targets: &[Target]) -> Result<&Target, ReconcileError> {
    targets.first().ok_or_else(|| {
        ReconcileError::new(
            crate::controllers::common::Category::ReferenceNotFound,
            "spec.access: no listed CloudContract is available to reach the portal",
        )
    })
}

fn set_view(views: &mut [ContractView], contract_id: &str, user: Option<ContractUser>) {
    if let Some(v) = views.iter_mut().find(|v| v.contract_id == contract_id) {
        v.user = user;
    }
}

/// Runs the actions in order; `views` is updated to what the portal now holds.
pub async fn apply(
    ctx: &Context,
    obj: &PortalUser,
    targets: &[Target],
    views: &mut [ContractView],
    actions: &[UserAction],
) -> Result<Applied, ReconcileError> {
    let mut applied = Applied::default();
    let email = &obj.spec.email;
    for action in actions {
        if !ctx.leading("portal user changes") {
            // An error, not a success: a deletion keeps its finalizer for the new leader.
            return Err(ReconcileError::new(
                Category::Unavailable,
                "the leader lease was lost; the new leader makes the remaining portal changes",
            ));
        }
        let (reason, verb, note) = match action {
            UserAction::Add {
                contract_id, user, ..
            } => {
                let t = target_of(targets, contract_id);
                let result = t
                    .client
                    .add_user(contract_id, user)
                    .await
                    .map_err(|e| forbidden_or(e, t, "Manager", &format!("adding {email}")))?;
                remember(ctx, t, &result.user).await;
                set_view(views, contract_id, Some(result.user.clone()));
                applied.created.get_or_insert(result.account_created);
                let login = &result.user.account.login;
                if result.account_created {
                    (
                        "AccountCreated",
                        "AddUser",
                        format!(
                            "created the account of {email} (login {login}) with access to {contract_id}"
                        ),
                    )
                } else {
                    (
                        "AccountAdopted",
                        "AddUser",
                        format!(
                            "gave the existing account of {email} (login {login}) access to {contract_id}"
                        ),
                    )
                }
            }
            UserAction::SetAccess {
                contract_id,
                account_id,
                update,
                ..
            } => {
                let t = target_of(targets, contract_id);
                let user = t
                    .client
                    .set_access(contract_id, account_id, update)
                    .await
                    .map_err(|e| forbidden_or(e, t, "Manager", &format!("updating the access of {email}")))?;
                remember(ctx, t, &user).await;
                set_view(views, contract_id, Some(user));
                let state = if update.enabled { "enabled" } else { "disabled" };
                (
                    "AccessUpdated",
                    "SetAccess",
                    format!("set the profiles of {email} on {contract_id} ({state})"),
                )
            }
            UserAction::SendInvitation { account_id } => {
                let t = any_target(targets)?;
                let account = t
                    .client
                    .send_invitation(account_id)
                    .await
                    .map_err(|e| forbidden_or(e, t, "Manager", &format!("inviting {email}")))?;
                applied.invited = Some(account);
                (
                    "InvitationSent",
                    "SendInvitation",
                    format!("sent the portal invitation to {email}"),
                )
            }
            UserAction::RemoveAccess {
                contract_id,
                account_id,
                ..
            } => {
                let t = target_of(targets, contract_id);
                match t.client.remove_access(contract_id, account_id).await {
                    Ok(()) => {}
                    Err(e) if e.category == ErrorCategory::NotFound => {}
                    Err(e) => {
                        return Err(forbidden_or(
                            e,
                            t,
                            "Manager",
                            &format!("removing the access of {email}"),
                        ));
                    }
                }
                forget(ctx, t, account_id).await;
                set_view(views, contract_id, None);
                (
                    "AccessRemoved",
                    "RemoveAccess",
                    format!("removed the access of {email} to {contract_id}"),
                )
            }
            UserAction::DeleteAccount { account_id } => {
                let t = any_target(targets)?;
                match t.client.delete_account(account_id).await {
                    Ok(()) => {}
                    Err(e) if e.category == ErrorCategory::NotFound => {}
                    Err(e) => {
                        return Err(forbidden_or(
                            e,
                            t,
                            "Manager",
                            &format!("deleting the account of {email}"),
                        ));
                    }
                }
                for t in targets {
                    forget(ctx, t, account_id).await;
                }
                (
                    "AccountDeleted",
                    "DeleteAccount",
                    format!("deleted the account of {email}"),
                )
            }
        };
        event(&ctx.recorder, obj, EventType::Normal, reason, verb, note);
    }
    Ok(applied)
}
