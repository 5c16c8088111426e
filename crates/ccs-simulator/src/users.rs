//! Users and rights: accounts keyed by email, access per contract and section.

use super::errors::{ApiError, ApiResult};
use super::rights::{Caller, missing_right};
use super::world::{Access, AccountRecord, ContractRecord, World};
use ccs_portal_model::{
    AccessUpdate, Account, AccountState, AddUserResult, ContractUser, NewUser, Profile, Section,
};
use chrono::Duration;

fn user_view(world: &World, c: &ContractRecord, account_id: &str) -> Option<ContractUser> {
    let access = c.users.get(account_id)?;
    Some(ContractUser {
        account: world.account_view(account_id, world.clock.now())?,
        profiles: access.profiles.clone(),
        enabled: access.enabled,
        referent: c.referent == account_id,
    })
}

/// Users with access to a contract (Visitor on Users).
pub fn list(world: &World, caller: &Caller, id: &str) -> ApiResult<Vec<ContractUser>> {
    let c = caller.require(world, id, Section::Users, Profile::Visitor)?;
    Ok(c.users.keys().filter_map(|a| user_view(world, c, a)).collect())
}

/// The account with an email (Visitor on Users of some contract in scope).
pub fn find(world: &World, caller: &Caller, email: &str) -> ApiResult<Vec<Account>> {
    let allowed = caller
        .contracts
        .iter()
        .filter_map(|id| world.contracts.get(id))
        .any(|c| caller.has(c, Section::Users, Profile::Visitor));
    if !allowed {
        return Err(ApiError::forbidden(
            50,
            caller.tr(
                "the Visitor profile on a Users section is required",
                "le profil Visitor sur une section Utilisateurs est requis",
            ),
        ));
    }
    let now = world.clock.now();
    Ok(world
        .account_by_email(email)
        .and_then(|a| world.account_view(&a.account.id, now))
        .into_iter()
        .collect())
}

/// Portal login rule: 8 to 64 letters, digits, `.`, `_` or `-`.
fn valid_login(login: &str) -> bool {
    (8..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace)
}

/// Adds a user to a contract (Manager on Users). An existing account with the same email is
/// reused with its own login. Returns whether an account was created.
pub fn add(world: &mut World, caller: &Caller, id: &str, new: &NewUser) -> ApiResult<(AddUserResult, bool)> {
    caller.require(world, id, Section::Users, Profile::Manager)?;
    if !valid_email(&new.email) {
        return Err(ApiError::invalid(caller.tr(
            format!("email {:?} is not valid", new.email),
            format!("l'email {:?} n'est pas valide", new.email),
        )));
    }
    if let Some(login) = new.login.as_deref().filter(|l| !valid_login(l)) {
        return Err(ApiError::invalid(caller.tr(
            format!("login {login:?} must be 8 to 64 letters, digits, '.', '_' or '-'"),
            format!("l'identifiant {login:?} doit faire 8 à 64 lettres, chiffres, '.', '_' ou '-'"),
        )));
    }
    if new.first_name.trim().is_empty() || new.last_name.trim().is_empty() {
        return Err(ApiError::invalid(caller.tr(
            "firstName and lastName are required",
            "firstName et lastName sont obligatoires",
        )));
    }
    let now = world.clock.now();
    let existing = world.account_by_email(&new.email).map(|a| a.account.id.clone());
    let (account_id, created) = match existing {
        Some(account_id) => (account_id, false),
        None => {
            let login = new.login.clone().unwrap_or_else(|| derive_login(&new.email));
            if world.accounts.values().any(|a| a.account.login == login) {
                return Err(ApiError::conflict(caller.tr(
                    format!("login {login} is taken"),
                    format!("l'identifiant {login} est déjà pris"),
                )));
            }
            let account_id = world.new_id("ACC");
            let invited = new.send_invitation.then_some(now);
            let activation = Duration::seconds(world.config.account_activation_seconds);
            world.accounts.insert(
                account_id.clone(),
                AccountRecord {
                    account: Account {
                        id: account_id.clone(),
                        email: new.email.clone(),
                        login,
                        first_name: new.first_name.clone(),
                        last_name: new.last_name.clone(),
                        phone: new.phone.clone(),
                        locale: new.locale,
                        state: AccountState::Invited,
                        invitation_sent_at: invited,
                    },
                    activates_at: invited.map(|t| t + activation),
                },
            );
            (account_id, true)
        }
    };
    let access = Access {
        profiles: new.profiles.clone(),
        enabled: new.enabled,
    };
    if let Some(c) = world.contracts.get_mut(id) {
        c.users.insert(account_id.clone(), access);
    }
    let c = &world.contracts[id];
    let user = user_view(world, c, &account_id).ok_or_else(|| ApiError::not_found(account_id.clone()))?;
    let login_substituted = new.login.as_ref().is_some_and(|l| *l != user.account.login);
    Ok((
        AddUserResult {
            user,
            account_created: created,
            login_substituted,
        },
        created,
    ))
}

fn derive_login(email: &str) -> String {
    let local: String = email
        .split('@')
        .next()
        .unwrap_or("user")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    format!("{local:.<8}")
}

fn not_on_contract(caller: &Caller, id: &str, account_id: &str) -> ApiError {
    ApiError::not_found(caller.tr(
        format!("account {account_id} has no access to contract {id}"),
        format!("le compte {account_id} n'a pas accès au contrat {id}"),
    ))
}

/// Replaces a user's profiles and enabled flag on a contract (Manager on Users).
pub fn set_access(
    world: &mut World,
    caller: &Caller,
    id: &str,
    account_id: &str,
    update: &AccessUpdate,
) -> ApiResult<ContractUser> {
    let c = caller.require(world, id, Section::Users, Profile::Manager)?;
    if !c.users.contains_key(account_id) {
        return Err(not_on_contract(caller, id, account_id));
    }
    if c.referent == account_id && (!update.enabled || update.profiles.is_empty()) {
        return Err(referent_error(caller, id));
    }
    if let Some(c) = world.contracts.get_mut(id) {
        c.users.insert(
            account_id.into(),
            Access {
                profiles: update.profiles.clone(),
                enabled: update.enabled,
            },
        );
    }
    user_view(world, &world.contracts[id], account_id).ok_or_else(|| not_on_contract(caller, id, account_id))
}

fn referent_error(caller: &Caller, id: &str) -> ApiError {
    ApiError::conflict(caller.tr(
        format!("the referent of contract {id} cannot lose access; change the referent first"),
        format!("le référent du contrat {id} ne peut pas perdre son accès ; changez d'abord de référent"),
    ))
}

/// Removes a user's access to a contract (Manager on Users); the referent's cannot be removed.
pub fn remove_access(world: &mut World, caller: &Caller, id: &str, account_id: &str) -> ApiResult<()> {
    let c = caller.require(world, id, Section::Users, Profile::Manager)?;
    if !c.users.contains_key(account_id) {
        return Err(not_on_contract(caller, id, account_id));
    }
    if c.referent == account_id {
        return Err(referent_error(caller, id));
    }
    if let Some(c) = world.contracts.get_mut(id) {
        c.users.remove(account_id);
    }
    Ok(())
}

/// Deletes an account: Manager on Users of every contract it can access, and referent of none.
pub fn delete(world: &mut World, caller: &Caller, account_id: &str) -> ApiResult<()> {
    if !world.accounts.contains_key(account_id) {
        return Err(ApiError::not_found(caller.tr(
            format!("unknown account {account_id}"),
            format!("compte {account_id} inconnu"),
        )));
    }
    let mut touched = vec![];
    for c in world
        .contracts
        .values()
        .filter(|c| c.users.contains_key(account_id))
    {
        caller.require(world, &c.id, Section::Users, Profile::Manager)?;
        if c.referent == account_id {
            return Err(referent_error(caller, &c.id));
        }
        touched.push(c.id.clone());
    }
    // An account on no contract of the caller is only deletable by someone managing users somewhere.
    if touched.is_empty() {
        let id = caller.contracts.first().cloned().unwrap_or_default();
        caller.require(world, &id, Section::Users, Profile::Manager)?;
    }
    for id in touched {
        if let Some(c) = world.contracts.get_mut(&id) {
            c.users.remove(account_id);
        }
    }
    world.accounts.remove(account_id);
    Ok(())
}

/// Sends the invitation again (Manager on Users of a contract the account can access).
pub fn invite(world: &mut World, caller: &Caller, account_id: &str) -> ApiResult<Account> {
    let Some(c) = world
        .contracts
        .values()
        .find(|c| c.users.contains_key(account_id) && caller.contracts.contains(&c.id))
    else {
        return Err(ApiError::not_found(caller.tr(
            format!("unknown account {account_id}"),
            format!("compte {account_id} inconnu"),
        )));
    };
    if !caller.has(c, Section::Users, Profile::Manager) {
        return Err(missing_right(caller, &c.id, Section::Users, Profile::Manager));
    }
    let now = world.clock.now();
    let activation = Duration::seconds(world.config.account_activation_seconds);
    let Some(rec) = world.accounts.get_mut(account_id) else {
        return Err(ApiError::not_found(account_id.into()));
    };
    rec.account.invitation_sent_at = Some(now);
    if rec.account.state == AccountState::Invited {
        rec.activates_at = Some(now + activation);
    }
    world
        .account_view(account_id, now)
        .ok_or_else(|| ApiError::not_found(account_id.into()))
}
