//! The plan of a CloudContract: the object's own changes, a duplicate contract id, and the
//! referent change [`crate::controllers::cloud_contract::plan::plan`] would make.

use super::compute::World;
use super::current;
use super::diff::object_changes;
use super::report::{Action, Change};
use crate::api::CloudContract;
use crate::api::cloud_contract::ContractManagementPolicy;
use crate::controllers::cloud_contract::plan::{ContractAction, plan as contract_plan};
use crate::controllers::stores::claim_order;
use kube::ResourceExt;
use serde_json::Value;

/// Ordering key of an object that does not exist yet: after every existing one.
pub const NEW: &str = "~new";

fn duplicate(world: &World<'_>, desired: &CloudContract, live: Option<&CloudContract>) -> Option<Change> {
    let namespace = desired.namespace().unwrap_or_default();
    let name = desired.name_any();
    let mine = live.map_or(
        (Some(NEW.to_string()), namespace.clone(), name.clone()),
        claim_order,
    );
    let id = &desired.spec.contract_id;
    let same = |ns: &str, n: &str| ns == namespace && n == name;
    let older_live = world.live.contracts.iter().find(|c| {
        c.spec.contract_id == *id
            && c.metadata.deletion_timestamp.is_none()
            && !same(&c.namespace().unwrap_or_default(), &c.name_any())
            && claim_order(*c) < mine
    });
    let older_new = world.contracts.values().find(|c| {
        c.spec.contract_id == *id
            && world
                .live
                .contract(&c.namespace().unwrap_or_default(), &c.name_any())
                .is_none()
            && (
                Some(NEW.to_string()),
                c.namespace().unwrap_or_default(),
                c.name_any(),
            ) < mine
    });
    let holder = older_live.or(older_new)?;
    let who = if holder.namespace().as_deref() == Some(namespace.as_str()) {
        format!("CloudContract {} of this namespace", holder.name_any())
    } else {
        "a CloudContract of another namespace".to_string()
    };
    Some(Change::new(
        Action::Refused,
        false,
        format!(
            "DuplicateContract: contract {id} is already managed by {who}; this one would change nothing until that one is deleted"
        ),
    ))
}

/// Plans one CloudContract manifest; `old` is the live object as JSON.
pub fn plan(world: &World<'_>, desired: &CloudContract, old: Option<&Value>) -> Vec<Change> {
    let live = world
        .live
        .contract(&desired.namespace().unwrap_or_default(), &desired.name_any());
    let mut changes = Vec::new();
    if let Some(c) = duplicate(world, desired, live) {
        return vec![c];
    }
    let id = &desired.spec.contract_id;
    match (live, old) {
        (Some(_), Some(old)) => {
            let mine = serde_json::to_value(desired).unwrap_or_default();
            // The referent is the portal's: its line below says what the operator does with it.
            changes.extend(
                object_changes(old, &mine, "no portal write")
                    .into_iter()
                    .filter(|c| !c.field.as_deref().is_some_and(|f| f.starts_with("spec.referent"))),
            );
        }
        _ => changes.push(Change::new(
            Action::Create,
            false,
            format!("observe contract {id} (no portal write)"),
        )),
    }
    let status = live.and_then(|l| l.status.clone()).unwrap_or_default();
    let namespace = desired.namespace().unwrap_or_default();
    let fresh = match world.fresh(&namespace, &desired.name_any(), id) {
        Some(Ok(f)) => Some(f.dashboard.clone()),
        Some(Err(why)) => {
            changes.push(World::unread(&desired.name_any(), id, why));
            None
        }
        None => None,
    };
    let Some(dashboard) = fresh.or_else(|| current::dashboard(id, &status)) else {
        if let Some(r) = desired
            .spec
            .referent
            .as_ref()
            .filter(|_| desired.spec.management_policy == ContractManagementPolicy::Full)
        {
            changes.push(Change::new(
                Action::Unknown,
                false,
                format!(
                    "referent: the portal's referent of {id} was never observed; the operator makes {} the referent if it differs (irreversible)",
                    r.email
                ),
            ));
        }
        return changes;
    };
    let planned = contract_plan(&desired.spec, &status, &dashboard);
    for action in planned.actions {
        match action {
            ContractAction::ChangeReferent {
                email,
                remove_previous,
            } => {
                let mut c = Change::field(
                    Action::Irreversible,
                    true,
                    "",
                    "referent",
                    Some(dashboard.contract.referent.email.clone()),
                    Some(email),
                )
                .call("changeReferent", id);
                if remove_previous {
                    c.message.push_str(" (the previous referent loses all access)");
                }
                changes.push(c);
            }
        }
    }
    if let Some(drift) = planned.drift {
        changes.push(Change::new(Action::Unchanged, false, drift));
    }
    changes
}
