//! Runs a ConsoleAccess plan against the IAM, in order, and keeps the generated initial passwords
//! in the object's own Secret (written before the user is created, so a crash never loses one).

use super::access::iam_error;
use super::plan::{Action, Observed};
use crate::api::console_access::{ConsoleAccess, PasswordPolicy};
use crate::console::Keystone;
use crate::console::keystone::NewUser;
use crate::controllers::common::{Category, FIELD_MANAGER, ReconcileError};
use crate::controllers::context::Context;
use crate::portal::{ErrorCategory, Secret};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use std::collections::BTreeMap;

/// Name of the Secret holding the generated initial passwords of a ConsoleAccess.
pub fn password_secret_name(obj: &ConsoleAccess) -> String {
    format!("{}-console-passwords", obj.name_any())
}

/// A random initial password: 20 characters with upper and lower case letters, digits and symbols
/// (Flexible Engine requires at least three of those classes).
fn generate_password() -> Result<String, ReconcileError> {
    use ring::rand::SecureRandom;
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"#%+-=@_",
    ];
    let mut bytes = [0u8; 20];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ReconcileError::new(Category::Internal, "no system randomness for a password"))?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let class = CLASSES[i % CLASSES.len()];
            char::from(class[usize::from(*b) % class.len()])
        })
        .collect())
}

/// The initial password of `member`: the one already in the object's Secret, or a new one
/// written there first.
pub(super) async fn initial_password(
    ctx: &Context,
    obj: &ConsoleAccess,
    member: &str,
) -> Result<Secret, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<KubeSecret> = Api::namespaced(ctx.client.clone(), &namespace);
    let name = password_secret_name(obj);
    let mut data: BTreeMap<String, String> = api
        .get_opt(&name)
        .await?
        .and_then(|s| s.data)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap_or_default()))
        .collect();
    if let Some(existing) = data.get(member).filter(|p| !p.is_empty()) {
        return Ok(Secret::new(existing.clone()));
    }
    let password = generate_password()?;
    data.insert(member.to_string(), password.clone());
    let owner = obj.controller_owner_ref(&()).ok_or_else(|| {
        ReconcileError::new(Category::Internal, "the object has no uid for an owner reference")
    })?;
    let body = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner],
            "labels": {"app.kubernetes.io/managed-by": "ccs-operator"}},
        "type": "Opaque",
        "stringData": data,
    });
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await?;
    Ok(Secret::new(password))
}

/// Applies `actions` for group `group` of domain `seen.domain_id`; returns the sentences of what
/// was done.
pub async fn apply(
    ctx: &Context,
    obj: &ConsoleAccess,
    iam: &Keystone,
    group: &str,
    marker: &str,
    seen: &Observed,
    actions: &[Action],
) -> Result<Vec<String>, ReconcileError> {
    let domain = seen.domain_id.as_str();
    let mut group_id = seen.group.as_ref().map(|g| g.id.clone());
    let mut user_ids: BTreeMap<String, String> = seen
        .users
        .iter()
        .map(|u| (u.name.clone(), u.id.clone()))
        .collect();
    let mut done = Vec::new();
    let no_group = || ReconcileError::new(Category::Internal, "the group id is unknown");
    for action in actions {
        if !ctx.leading("a console write") {
            break;
        }
        match action {
            Action::CreateGroup => {
                let g = iam
                    .create_group(domain, group, marker)
                    .await
                    .map_err(|e| iam_error(e, "creating the group"))?;
                done.push(format!("created group {group}"));
                group_id = Some(g.id);
            }
            Action::ClaimGroup => {
                let id = group_id.as_deref().ok_or_else(no_group)?;
                iam.set_group_description(id, marker)
                    .await
                    .map_err(|e| iam_error(e, "adopting the group"))?;
                done.push(format!("adopted group {group}"));
            }
            Action::CreateUser { name, email } => {
                let password = match obj.spec.passwords {
                    PasswordPolicy::GeneratedSecret => Some(initial_password(ctx, obj, name).await?),
                    PasswordPolicy::Federated => None,
                };
                let new = NewUser {
                    name: name.clone(),
                    email: email.clone(),
                    description: marker.to_string(),
                    password,
                };
                let id = match iam.create_user(domain, &new).await {
                    Ok(u) => u.id,
                    // Created meanwhile (by a previous attempt whose answer was lost): find it.
                    Err(e) if e.category == ErrorCategory::Conflict => iam
                        .list_users(domain)
                        .await
                        .map_err(|e| iam_error(e, "listing users"))?
                        .into_iter()
                        .find(|u| &u.name == name)
                        .map(|u| u.id)
                        .ok_or_else(|| iam_error(e, "creating a user"))?,
                    Err(e) => return Err(iam_error(e, "creating a user")),
                };
                done.push(format!("created user {name}"));
                user_ids.insert(name.clone(), id);
            }
            Action::AddMember { name } => {
                let gid = group_id.as_deref().ok_or_else(no_group)?;
                let uid = user_ids.get(name).ok_or_else(|| {
                    ReconcileError::new(Category::Internal, format!("user {name} has no id"))
                })?;
                iam.add_member(gid, uid)
                    .await
                    .map_err(|e| iam_error(e, "adding a group member"))?;
                done.push(format!("added {name} to group {group}"));
            }
            Action::RemoveMember { user_id, name } => {
                let gid = group_id.as_deref().ok_or_else(no_group)?;
                ignore_gone(iam.remove_member(gid, user_id).await)
                    .map_err(|e| iam_error(e, "removing a group member"))?;
                done.push(format!("removed {name} from group {group}"));
            }
            Action::DeleteUser { user_id, name } => {
                ignore_gone(iam.delete_user(user_id).await).map_err(|e| iam_error(e, "deleting a user"))?;
                done.push(format!("deleted user {name}"));
            }
            Action::Grant(a, label) => {
                let gid = group_id.as_deref().ok_or_else(no_group)?;
                iam.grant(gid, a)
                    .await
                    .map_err(|e| iam_error(e, "granting a role"))?;
                done.push(format!("granted {label}"));
            }
            Action::Revoke(a, label) => {
                let gid = group_id.as_deref().ok_or_else(no_group)?;
                ignore_gone(iam.revoke(gid, a).await).map_err(|e| iam_error(e, "revoking a role"))?;
                done.push(format!("revoked {label}"));
            }
            Action::DeleteGroup => {
                let gid = group_id.as_deref().ok_or_else(no_group)?;
                ignore_gone(iam.delete_group(gid).await).map_err(|e| iam_error(e, "deleting the group"))?;
                done.push(format!("deleted group {group}"));
            }
        }
    }
    Ok(done)
}

/// A removal of something already gone succeeded.
fn ignore_gone(result: crate::portal::PortalResult<()>) -> crate::portal::PortalResult<()> {
    match result {
        Err(e) if e.category == ErrorCategory::NotFound => Ok(()),
        other => other,
    }
}
