//! Contracts: details, the dashboard, and the referent change rules.

use super::errors::{ApiError, ApiResult};
use super::rights::Caller;
use super::world::{ContractRecord, World};
use super::{billing, weather};
use ccs_portal_model::{Contract, Dashboard, Profile, Referent, ReferentChange, Section};

/// The contract as the API shows it.
pub fn view(world: &World, c: &ContractRecord) -> Contract {
    let referent_email = world
        .accounts
        .get(&c.referent)
        .map(|a| a.account.email.clone())
        .unwrap_or_default();
    Contract {
        id: c.id.clone(),
        name: c.name.clone(),
        offer: c.offer,
        customer: c.customer.clone(),
        referent: Referent {
            account_id: c.referent.clone(),
            email: referent_email,
        },
        console_url: c.console_url.clone(),
        invoice_contact: c.invoice_contact.clone(),
        currency: c.currency.clone(),
        regions: c.regions.clone(),
        subscriptions: c.subscriptions.clone(),
        user_count: c.users.len() as u32,
    }
}

/// Contracts in the caller's scope on which its account has some access.
pub fn list(world: &World, caller: &Caller) -> Vec<Contract> {
    caller
        .contracts
        .iter()
        .filter_map(|id| world.contracts.get(id))
        .filter(|c| c.users.get(&caller.account_id).is_some_and(|a| a.enabled))
        .map(|c| view(world, c))
        .collect()
}

/// One contract (Visitor on Contracts).
pub fn get(world: &World, caller: &Caller, id: &str) -> ApiResult<Contract> {
    Ok(view(
        world,
        caller.require(world, id, Section::Contracts, Profile::Visitor)?,
    ))
}

/// Everything the dashboard shows; parts without rights are left out.
pub fn dashboard(world: &World, caller: &Caller, id: &str) -> ApiResult<Dashboard> {
    let c = caller.require(world, id, Section::Dashboard, Profile::Visitor)?;
    let now = world.clock.now();
    Ok(Dashboard {
        contract: view(world, c),
        platform_status: weather::platform_status(world, c, now, caller.lang),
        consumption: caller
            .has(c, Section::Invoices, Profile::Visitor)
            .then(|| billing::consumption(world, c, now)),
        latest_bills: caller
            .has(c, Section::Invoices, Profile::Manager)
            .then(|| billing::bills(world, c, now)),
    })
}

/// Applies the portal's referent rules: only the current referent may hand over, to a user who
/// already has enabled access; optionally the previous referent loses access.
pub fn change_referent(
    world: &mut World,
    caller: &Caller,
    id: &str,
    change: &ReferentChange,
) -> ApiResult<Contract> {
    let c = caller.contract(world, id)?;
    if c.referent != caller.account_id {
        return Err(ApiError::forbidden(
            51,
            caller.tr(
                format!("only the current referent of contract {id} can change it"),
                format!("seul le référent actuel du contrat {id} peut le changer"),
            ),
        ));
    }
    let new = world
        .account_by_email(&change.new_referent_email)
        .map(|a| a.account.id.clone());
    let Some(new) = new.filter(|n| c.users.get(n).is_some_and(|a| a.enabled)) else {
        return Err(ApiError::conflict(caller.tr(
            format!(
                "{} has no access to contract {id}; add the user first",
                change.new_referent_email
            ),
            format!(
                "{} n'a pas accès au contrat {id} ; ajoutez d'abord l'utilisateur",
                change.new_referent_email
            ),
        )));
    };
    let Some(c) = world.contracts.get_mut(id) else {
        return Err(ApiError::not_found(id.into()));
    };
    if new != c.referent {
        let old = std::mem::replace(&mut c.referent, new);
        if change.remove_previous_referent_access {
            c.users.remove(&old);
        }
        tracing::info!(
            contract = id,
            "referent changed; confirmation email sent to the new referent"
        );
    }
    let c = &world.contracts[id];
    Ok(view(world, c))
}
