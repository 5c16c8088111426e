//! The plan of a PortalUser: conflicts, unknown contracts, then
//! [`crate::controllers::portal_user::plan::plan`] against the views its status last observed.

use super::compute::{Referenced, World};
use super::contract::NEW;
use super::current::{self, ResolvedContract};
use super::diff::spec_changes;
use super::report::{Action, Change};
use crate::api::PortalUser;
use crate::api::portal_user::PortalUserSpec;
use crate::controllers::key_index::same_email;
use crate::controllers::portal_user::plan::{self as user_plan, Claim, ContractView, UserAction};
use crate::controllers::stores::claim_order;
use crate::portal::{Profile, Profiles, Section};
use kube::ResourceExt;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// The claims of every PortalUser once the manifests are applied, by email, for conflicts.
pub struct Claims {
    by_email: HashMap<String, Vec<Claim>>,
}

fn order_of(world: &World<'_>, obj: &PortalUser) -> (Option<String>, String, String) {
    let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    match world.live.user(&ns, &name) {
        Some(live) => claim_order(live),
        None => (Some(NEW.to_string()), ns, name),
    }
}

fn claim(world: &World<'_>, obj: &PortalUser) -> Claim {
    let ns = obj.namespace().unwrap_or_default();
    Claim {
        order: order_of(world, obj),
        email: obj.spec.email.to_lowercase(),
        contracts: obj
            .spec
            .access
            .iter()
            .map(|a| match world.contract(&ns, &a.contract) {
                Referenced::Known { contract_id, .. } => contract_id,
                Referenced::Missing => format!("{ns}/{}", a.contract),
            })
            .collect(),
    }
}

impl Claims {
    /// Live PortalUsers (with their manifest's spec when one is given) and new ones.
    pub fn new(world: &World<'_>) -> Self {
        let declared: HashMap<(String, String), &PortalUser> = world
            .users
            .iter()
            .map(|u| ((u.namespace().unwrap_or_default(), u.name_any()), u))
            .collect();
        let mut by_email: HashMap<String, Vec<Claim>> = HashMap::new();
        let mut add = |c: Claim| by_email.entry(c.email.clone()).or_default().push(c);
        for live in &world.live.users {
            if live.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let key = (live.namespace().unwrap_or_default(), live.name_any());
            let mut c = claim(world, declared.get(&key).copied().unwrap_or(live));
            c.order = claim_order(live);
            add(c);
        }
        for u in &world.users {
            if world
                .live
                .user(&u.namespace().unwrap_or_default(), &u.name_any())
                .is_none()
            {
                add(claim(world, u));
            }
        }
        Self { by_email }
    }

    fn conflict(&self, world: &World<'_>, obj: &PortalUser) -> Option<Change> {
        let mine = claim(world, obj);
        let others: Vec<Claim> = self
            .by_email
            .get(&mine.email)
            .into_iter()
            .flatten()
            .filter(|c| c.order.1 != mine.order.1 || c.order.2 != mine.order.2)
            .cloned()
            .collect();
        let (owner, contract) = user_plan::conflict(&mine, &others)?;
        Some(Change::new(
            Action::Refused,
            false,
            format!(
                "Conflict: {} on contract {contract} is already managed by PortalUser {}/{}; this one would change nothing until that one is deleted",
                obj.spec.email, owner.order.1, owner.order.2
            ),
        ))
    }
}

fn section(s: Section) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{s:?}"))
}

fn profile(p: Option<&Profile>) -> Option<String> {
    p.map(|p| format!("{p:?}"))
}

fn describe(profiles: &Profiles) -> String {
    if profiles.is_empty() {
        return "no profile".into();
    }
    profiles
        .iter()
        .map(|(s, p)| format!("{}={p:?}", section(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[~]`/`[-]` lines of a SetAccess: each section that changes, then `enabled`.
fn access_changes(view: &ContractView, profiles: &Profiles, enabled: bool) -> Vec<Change> {
    let before = view
        .user
        .as_ref()
        .map(|u| (u.profiles.clone(), u.enabled))
        .unwrap_or_default();
    let context = format!("on {} ({}): ", view.contract, view.contract_id);
    let sections: BTreeSet<Section> = before.0.keys().chain(profiles.keys()).copied().collect();
    let mut out = Vec::new();
    for s in sections {
        let (from, to) = (before.0.get(&s), profiles.get(&s));
        if from == to {
            continue;
        }
        let action = if to.is_none() {
            Action::Remove
        } else {
            Action::Update
        };
        out.push(
            Change::field(action, true, &context, &section(s), profile(from), profile(to))
                .call("setAccess", &view.contract_id),
        );
    }
    if before.1 != enabled {
        let action = if enabled { Action::Update } else { Action::Remove };
        out.push(
            Change::field(
                action,
                true,
                &context,
                "enabled",
                Some(before.1.to_string()),
                Some(enabled.to_string()),
            )
            .call("setAccess", &view.contract_id),
        );
    }
    out
}

fn changes_of(spec: &PortalUserSpec, views: &[ContractView], actions: Vec<UserAction>) -> Vec<Change> {
    let view = |id: &str| views.iter().find(|v| v.contract_id == id);
    let mut out = Vec::new();
    for action in actions {
        match action {
            UserAction::Add {
                contract,
                contract_id,
                user,
            } => {
                let invitation = if user.send_invitation {
                    "; sends the invitation email"
                } else {
                    ""
                };
                out.push(
                    Change::new(
                        Action::Create,
                        true,
                        format!(
                            "on {contract} ({contract_id}): add {} with {}{}{invitation} (an account the portal already has is reused)",
                            spec.email,
                            describe(&user.profiles),
                            if user.enabled { "" } else { ", disabled" }
                        ),
                    )
                    .call("addUser", &contract_id),
                );
            }
            UserAction::SetAccess {
                contract_id, update, ..
            } => {
                if let Some(v) = view(&contract_id) {
                    out.extend(access_changes(v, &update.profiles, update.enabled));
                }
            }
            UserAction::SendInvitation { .. } => out.push(
                Change::new(
                    Action::Update,
                    true,
                    format!("send the invitation email to {}", spec.email),
                )
                .call("sendInvitation", ""),
            ),
            UserAction::RemoveAccess {
                contract,
                contract_id,
                ..
            } => out.push(
                Change::new(
                    Action::Remove,
                    true,
                    format!(
                        "on {contract} ({contract_id}): remove the access of {}",
                        spec.email
                    ),
                )
                .call("removeAccess", &contract_id),
            ),
            UserAction::DeleteAccount { .. } => out.push(
                Change::new(
                    Action::Remove,
                    true,
                    format!("delete the account of {}", spec.email),
                )
                .call("deleteAccount", ""),
            ),
        }
    }
    out
}

/// Plans one PortalUser manifest; `old` is the live object as JSON.
pub fn plan(world: &World<'_>, claims: &Claims, desired: &PortalUser, old: Option<&Value>) -> Vec<Change> {
    let namespace = desired.namespace().unwrap_or_default();
    let live = world.live.user(&namespace, &desired.name_any());
    if let Some(c) = claims.conflict(world, desired) {
        return vec![c];
    }
    let mut resolved = Vec::new();
    let mut problems = Vec::new();
    for (i, a) in desired.spec.access.iter().enumerate() {
        match world.contract(&namespace, &a.contract) {
            Referenced::Known { contract_id, status } => resolved.push(ResolvedContract {
                name: a.contract.clone(),
                contract_id,
                referent: status.and_then(|s| s.referent.clone()),
            }),
            Referenced::Missing => {
                problems.push(world.missing_contract(&format!("spec.access[{i}].contract"), &a.contract))
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    // With --refresh, the portal's answer replaces each contract's status-derived view.
    let fresh: Vec<_> = resolved
        .iter()
        .map(|c| world.fresh(&namespace, &c.name, &c.contract_id))
        .collect();
    let all_fresh = fresh.iter().all(|f| matches!(f, Some(Ok(_))));
    if live.is_some() && !all_fresh && !current::observed(live.and_then(|l| l.status.as_ref())) {
        return vec![Change::new(
            Action::Unknown,
            false,
            "never observed: the operator has not reconciled this PortalUser yet, so what the portal has is unknown",
        )];
    }
    let previous = live.and_then(|l| l.status.clone()).unwrap_or_default();
    let mut views = current::views(live, &resolved);
    let mut changes = Vec::new();
    for ((view, c), fresh) in views.iter_mut().zip(&resolved).zip(&fresh) {
        match fresh {
            Some(Ok(f)) => {
                view.user = f
                    .users
                    .iter()
                    .find(|u| same_email(&u.account.email, &desired.spec.email))
                    .cloned();
            }
            Some(Err(why)) => changes.push(World::unread(&c.name, &c.contract_id, why)),
            None => {}
        }
    }
    let planned = user_plan::plan(&desired.spec, &previous, &views);
    changes.extend(changes_of(&desired.spec, &views, planned.actions));
    for kept in planned.kept {
        changes.push(Change::new(
            Action::Refused,
            false,
            format!("ReferentProtected: {kept}"),
        ));
    }
    for drift in planned.drift {
        changes.push(Change::new(
            Action::Unchanged,
            false,
            format!(
                "{drift} (managementPolicy {:?}: left alone)",
                desired.spec.management_policy
            ),
        ));
    }
    // Contracts no longer listed keep their access: the operator only acts on listed contracts.
    if let Some(live) = live {
        for a in &live.spec.access {
            if !desired.spec.access.iter().any(|d| d.contract == a.contract) {
                changes.push(Change::new(
                    Action::Unchanged,
                    false,
                    format!(
                        "spec.access: {} is no longer listed; the operator leaves that access in the portal (delete the PortalUser to remove access)",
                        a.contract
                    ),
                ));
            }
        }
        // Fields of the object that the portal does not get (names, phone, policies).
        let mine = serde_json::to_value(desired).unwrap_or_default();
        if let Some(old) = old {
            for (field, from, to) in spec_changes(old, &mine) {
                if field.starts_with("spec.access") || field == "spec.enabled" {
                    continue;
                }
                let mut c = Change::field(Action::Update, false, "", &field, from, to);
                c.message.push_str(" (no portal write)");
                changes.push(c);
            }
        }
    }
    changes
}
