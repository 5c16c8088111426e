//! The pure part of a PortalUser reconcile: from the spec, the previous status and what the portal
//! shows on each listed contract, the writes to make, the drift left alone, and the status.

use crate::api::common::Locale;
use crate::api::common::MAX_PORTAL_TEXT;
use crate::api::portal_user::{
    ObservedGrant, PortalUserSpec, PortalUserStatus, Profile as ApiProfile, SectionProfiles,
    UserDeletionPolicy, UserManagementPolicy, UserState,
};
use crate::controllers::common::bounded;
use crate::portal::{
    AccessUpdate, Account, AccountState, ContractUser, Language, NewUser, Profile, Profiles, Section,
};

/// What the portal shows of this person on one listed contract.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractView {
    /// Name of the CloudContract.
    pub contract: String,
    /// Customer Space contract id.
    pub contract_id: String,
    /// The person's access, if any.
    pub user: Option<ContractUser>,
}

/// A portal write for a PortalUser.
#[derive(Clone, Debug, PartialEq)]
pub enum UserAction {
    /// Add the person to a contract (creates the account, or reuses the one with this email).
    Add {
        /// CloudContract name.
        contract: String,
        /// Contract id.
        contract_id: String,
        /// The request body.
        user: NewUser,
    },
    /// Replace the person's profiles and enabled flag on a contract.
    SetAccess {
        /// CloudContract name.
        contract: String,
        /// Contract id.
        contract_id: String,
        /// Account id.
        account_id: String,
        /// The desired access.
        update: AccessUpdate,
    },
    /// Send the invitation email of an existing account that never got one.
    SendInvitation {
        /// Account id.
        account_id: String,
    },
    /// Remove the person's access to a contract (deletion).
    RemoveAccess {
        /// CloudContract name.
        contract: String,
        /// Contract id.
        contract_id: String,
        /// Account id.
        account_id: String,
    },
    /// Delete the account (deletion with `Delete`).
    DeleteAccount {
        /// Account id.
        account_id: String,
    },
}

/// What a reconcile should do and report.
#[derive(Clone, Debug, PartialEq)]
pub struct UserPlan {
    /// Portal writes, in order.
    pub actions: Vec<UserAction>,
    /// Differences left alone (ObserveOnly, CreateOnly), one sentence each.
    pub drift: Vec<String>,
    /// Changes refused to protect the contract referent, one sentence each.
    pub kept: Vec<String>,
    /// Status fields observed (conditions are the driver's).
    pub observed: PortalUserStatus,
}

/// The declared profiles in the portal's shape.
pub fn to_portal(p: &SectionProfiles) -> Profiles {
    let pairs = [
        (Section::Dashboard, p.dashboard),
        (Section::Contracts, p.contracts),
        (Section::Users, p.users),
        (Section::Requests, p.requests),
        (Section::Catalog, p.catalog),
        (Section::Invoices, p.invoices),
        (Section::Documents, p.documents),
        (Section::Support, p.support),
        (Section::Console, p.console),
    ];
    pairs
        .into_iter()
        .filter_map(|(s, p)| {
            p.map(|p| {
                let p = match p {
                    ApiProfile::Visitor => Profile::Visitor,
                    ApiProfile::Manager => Profile::Manager,
                };
                (s, p)
            })
        })
        .collect()
}

/// The portal's profiles in the CRD's shape.
pub fn from_portal(p: &Profiles) -> SectionProfiles {
    let get = |s: Section| {
        p.get(&s).map(|p| match p {
            Profile::Visitor => ApiProfile::Visitor,
            Profile::Manager => ApiProfile::Manager,
        })
    };
    SectionProfiles {
        dashboard: get(Section::Dashboard),
        contracts: get(Section::Contracts),
        users: get(Section::Users),
        requests: get(Section::Requests),
        catalog: get(Section::Catalog),
        invoices: get(Section::Invoices),
        documents: get(Section::Documents),
        support: get(Section::Support),
        console: get(Section::Console),
    }
}

fn new_user(spec: &PortalUserSpec, profiles: Profiles, invite: bool) -> NewUser {
    let local = spec.email.split('@').next().unwrap_or("user").to_string();
    NewUser {
        email: spec.email.clone(),
        login: spec.login.clone(),
        first_name: spec.first_name.clone().unwrap_or_else(|| local.clone()),
        last_name: spec.last_name.clone().unwrap_or(local),
        phone: spec.phone.clone(),
        locale: match spec.locale {
            Locale::En => Language::En,
            Locale::Fr => Language::Fr,
        },
        profiles,
        enabled: spec.enabled,
        send_invitation: invite,
    }
}

fn describe(profiles: &Profiles, enabled: bool) -> String {
    let list: Vec<String> = profiles.iter().map(|(s, p)| format!("{s:?}={p:?}")).collect();
    let list = if list.is_empty() {
        "no profile".to_string()
    } else {
        list.join(",")
    };
    if enabled {
        list
    } else {
        format!("{list} (disabled)")
    }
}

/// Plans the reconcile of a PortalUser that this object owns on every listed contract.
pub fn plan(spec: &PortalUserSpec, previous: &PortalUserStatus, views: &[ContractView]) -> UserPlan {
    let policy = spec.management_policy;
    let account: Option<&Account> = views.iter().find_map(|v| v.user.as_ref().map(|u| &u.account));
    let mut actions = Vec::new();
    let mut drift = Vec::new();
    let mut kept = Vec::new();
    // The invitation goes with the first account creation, once in the object's life.
    let mut invite = spec.invitation.send && previous.invitation_sent_at.is_none() && account.is_none();
    for view in views {
        let desired = spec
            .access
            .iter()
            .find(|a| a.contract == view.contract)
            .map(|a| to_portal(&a.profiles))
            .unwrap_or_default();
        match &view.user {
            None if policy == UserManagementPolicy::ObserveOnly => {
                drift.push(format!("no access on {} ({})", view.contract, view.contract_id));
            }
            None => {
                actions.push(UserAction::Add {
                    contract: view.contract.clone(),
                    contract_id: view.contract_id.clone(),
                    user: new_user(spec, desired, invite),
                });
                invite = false;
            }
            Some(user) if user.profiles != desired || user.enabled != spec.enabled => {
                let difference = format!(
                    "on {} ({}): portal has {}, spec wants {}",
                    view.contract,
                    view.contract_id,
                    describe(&user.profiles, user.enabled),
                    describe(&desired, spec.enabled)
                );
                match policy {
                    UserManagementPolicy::Full if user.referent && (!spec.enabled || desired.is_empty()) => {
                        kept.push(format!(
                            "{} is the referent of {} and cannot lose access; change the referent first",
                            spec.email, view.contract_id
                        ));
                    }
                    UserManagementPolicy::Full => actions.push(UserAction::SetAccess {
                        contract: view.contract.clone(),
                        contract_id: view.contract_id.clone(),
                        account_id: user.account.id.clone(),
                        update: AccessUpdate {
                            profiles: desired,
                            enabled: spec.enabled,
                        },
                    }),
                    _ => drift.push(difference),
                }
            }
            Some(_) => {}
        }
    }
    if let Some(a) = account
        && spec.invitation.send
        && policy != UserManagementPolicy::ObserveOnly
        && previous.invitation_sent_at.is_none()
        && a.state == AccountState::Invited
        && a.invitation_sent_at.is_none()
    {
        actions.push(UserAction::SendInvitation {
            account_id: a.id.clone(),
        });
    }
    UserPlan {
        actions,
        drift,
        kept,
        observed: observed_status(spec, previous, views),
    }
}

/// Status fields from the views (before this reconcile's writes).
pub fn observed_status(
    spec: &PortalUserSpec,
    previous: &PortalUserStatus,
    views: &[ContractView],
) -> PortalUserStatus {
    let account = views.iter().find_map(|v| v.user.as_ref().map(|u| &u.account));
    let adopted = previous
        .adopted
        .or_else(|| account.filter(|_| previous.account_id.is_none()).map(|_| true));
    let state = match account {
        None => UserState::Pending,
        Some(_) if !spec.enabled => UserState::Disabled,
        Some(a) if a.state == AccountState::Active => UserState::Active,
        Some(_) => UserState::Invited,
    };
    PortalUserStatus {
        account_id: account
            .map(|a| bounded(&a.id, MAX_PORTAL_TEXT))
            .or_else(|| previous.account_id.clone()),
        login: account
            .map(|a| bounded(&a.login, MAX_PORTAL_TEXT))
            .or_else(|| previous.login.clone()),
        state: Some(state),
        adopted,
        invitation_sent_at: previous.invitation_sent_at.clone().or_else(|| {
            account
                .and_then(|a| a.invitation_sent_at)
                .map(crate::controllers::common::timestamp)
        }),
        grants: views
            .iter()
            .map(|v| ObservedGrant {
                contract: v.contract.clone(),
                contract_id: Some(v.contract_id.clone()),
                profiles: v
                    .user
                    .as_ref()
                    .filter(|u| u.enabled)
                    .map(|u| from_portal(&u.profiles)),
            })
            .collect(),
        ..PortalUserStatus::default()
    }
}

/// What deleting a PortalUser does: the writes, and sentences for the Events.
#[derive(Clone, Debug, PartialEq)]
pub struct DeletionPlan {
    /// Portal writes, in order.
    pub actions: Vec<UserAction>,
    /// Why something was left in place.
    pub notes: Vec<String>,
}

/// Plans the cleanup. `views` holds only the contracts no other PortalUser still declares for
/// this email; `email_still_referenced` says whether another PortalUser names the email at all.
pub fn plan_deletion(
    spec: &PortalUserSpec,
    account_id: Option<&str>,
    views: &[ContractView],
    email_still_referenced: bool,
) -> DeletionPlan {
    let mut notes = Vec::new();
    if spec.deletion_policy == UserDeletionPolicy::Orphan {
        notes.push(format!(
            "deletionPolicy Orphan: the account of {} and its access are left in the portal",
            spec.email
        ));
        return DeletionPlan {
            actions: vec![],
            notes,
        };
    }
    let mut removals = Vec::new();
    let mut referent_of = Vec::new();
    for view in views {
        let Some(user) = &view.user else { continue };
        if user.referent {
            referent_of.push(view.contract_id.clone());
            notes.push(format!(
                "{} is the referent of {}: its access is kept (a referent cannot lose access; change the referent first)",
                spec.email, view.contract_id
            ));
        } else {
            removals.push(UserAction::RemoveAccess {
                contract: view.contract.clone(),
                contract_id: view.contract_id.clone(),
                account_id: user.account.id.clone(),
            });
        }
    }
    if spec.deletion_policy == UserDeletionPolicy::Delete {
        let account_id = views
            .iter()
            .find_map(|v| v.user.as_ref().map(|u| u.account.id.as_str()))
            .or(account_id);
        match account_id {
            _ if email_still_referenced => notes.push(format!(
                "deletionPolicy Delete: another PortalUser still references {}; removed access instead of deleting the account",
                spec.email
            )),
            _ if !referent_of.is_empty() => notes.push(format!(
                "deletionPolicy Delete: the account of {} is kept because it is a referent; removed its other access",
                spec.email
            )),
            Some(id) => {
                return DeletionPlan {
                    actions: vec![UserAction::DeleteAccount { account_id: id.to_string() }],
                    notes,
                };
            }
            None => {}
        }
    }
    DeletionPlan {
        actions: removals,
        notes,
    }
}

/// A PortalUser's claim on (email, contract) pairs, for conflict detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// [`crate::controllers::stores::claim_order`] of the object.
    pub order: (Option<String>, String, String),
    /// Email, lower case.
    pub email: String,
    /// Contract keys (contract ids, or `namespace/name` while unresolved).
    pub contracts: Vec<String>,
}

/// The older claim that shares an (email, contract) pair with `mine`, if any, and the contract.
pub fn conflict<'a>(mine: &Claim, others: &'a [Claim]) -> Option<(&'a Claim, String)> {
    others
        .iter()
        .filter(|o| o.order < mine.order && o.email == mine.email)
        .filter_map(|o| {
            mine.contracts
                .iter()
                .find(|c| o.contracts.contains(c))
                .map(|c| (o, c.clone()))
        })
        .min_by(|a, b| a.0.order.cmp(&b.0.order))
}

#[cfg(test)]
mod tests;
