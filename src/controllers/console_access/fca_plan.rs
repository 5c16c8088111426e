//! The FCA (Cloud Director) plan, pure: from the declared members, the organization's users and
//! the marker of this object, what to create, adopt, update, disable or delete. A user is owned
//! by the ConsoleAccess whose marker its `description` carries; adopted users carry the marker
//! with `[adopted]`, so a `Delete` deletion deletes only the users this object created.

use super::plan::marker_uid;
use crate::api::console_access::{
    ConsoleDeletionPolicy, ConsoleManagementPolicy, FcaAccess, MemberState, MemberStatus,
};
use crate::console::clouddirector::{EntityRef, VcdUser};

/// One write on the organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FcaAction {
    /// Create a declared member.
    Create {
        /// User name.
        name: String,
        /// Email.
        email: Option<String>,
    },
    /// Replace a user (marker, role, enabled); `what` says why, for the event.
    Update {
        /// The new body.
        user: VcdUser,
        /// What changes.
        what: String,
    },
    /// Delete a user this object created.
    Delete {
        /// Id.
        id: String,
        /// User name.
        name: String,
    },
}

/// The description an adopted user gets.
pub fn adopted_marker(marker: &str) -> String {
    match marker.rsplit_once(" (uid ") {
        Some((head, tail)) => format!("{head} [adopted] (uid {tail}"),
        None => marker.to_string(),
    }
}

/// Whether `user` carries this object's marker (created or adopted).
pub fn is_ours(user: &VcdUser, marker: &str) -> bool {
    user.description == marker || user.description == adopted_marker(marker)
}

/// The uid of the ConsoleAccess owning `user`, if any.
pub fn owner_uid(user: &VcdUser) -> Option<&str> {
    marker_uid(Some(&user.description))
}

/// The plan and the drift left uncorrected.
pub struct FcaPlan {
    /// Writes, in order.
    pub actions: Vec<FcaAction>,
    /// Differences not corrected (CreateOnly, ObserveOnly).
    pub drift: Vec<String>,
}

/// The writes that make the organization match `fca`. `foreign` tells whether a uid is another
/// live ConsoleAccess (its users are left alone).
pub fn plan(
    fca: &FcaAccess,
    policy: ConsoleManagementPolicy,
    marker: &str,
    role: &EntityRef,
    users: &[VcdUser],
    foreign: impl Fn(&str) -> bool,
) -> FcaPlan {
    let writes = policy != ConsoleManagementPolicy::ObserveOnly;
    let full = policy == ConsoleManagementPolicy::Full;
    let (mut actions, mut drift) = (vec![], vec![]);
    for m in &fca.members {
        let Some(u) = users.iter().find(|u| u.username.eq_ignore_ascii_case(&m.name)) else {
            if writes {
                actions.push(FcaAction::Create {
                    name: m.name.clone(),
                    email: m.email.clone(),
                });
            } else {
                drift.push(format!("user {} is missing", m.name));
            }
            continue;
        };
        if owner_uid(u).is_some_and(&foreign) {
            drift.push(format!("user {} is managed by another ConsoleAccess", m.name));
            continue;
        }
        let mut want = u.clone();
        let mut what = vec![];
        if !is_ours(u, marker) {
            want.description = adopted_marker(marker);
            what.push("adopted");
        }
        if u.role_entity_ref.id != role.id {
            want.role_entity_ref = role.clone();
            what.push("role");
        }
        if !u.enabled {
            want.enabled = true;
            what.push("enabled");
        }
        let adopting = what.first() == Some(&"adopted");
        match (what.is_empty(), full || (writes && adopting)) {
            (true, _) => {}
            (false, true) => actions.push(FcaAction::Update {
                user: want,
                what: format!("{} {}", m.name, what.join(", ")),
            }),
            (false, false) => drift.push(format!(
                "user {} differs ({}: role {}, enabled {})",
                m.name,
                what.join(", "),
                u.role_entity_ref.name,
                u.enabled
            )),
        }
    }
    // Users this object owns but no longer declares: access removed under Full.
    for u in users.iter().filter(|u| is_ours(u, marker)) {
        if fca
            .members
            .iter()
            .any(|m| m.name.eq_ignore_ascii_case(&u.username))
            || !u.enabled
        {
            continue;
        }
        if full {
            let mut want = u.clone();
            want.enabled = false;
            actions.push(FcaAction::Update {
                user: want,
                what: format!("{} disabled (no longer declared)", u.username),
            });
        } else {
            drift.push(format!("user {} is no longer declared but enabled", u.username));
        }
    }
    FcaPlan { actions, drift }
}

/// What deleting the object does to the users it owns: `RemoveAccess` disables them and removes
/// the marker; `Delete` deletes the ones it created (adopted ones as RemoveAccess); `Orphan`
/// leaves them.
pub fn plan_deletion(policy: ConsoleDeletionPolicy, marker: &str, users: &[VcdUser]) -> Vec<FcaAction> {
    let release = |u: &VcdUser| {
        let mut want = u.clone();
        want.enabled = false;
        want.description = String::new();
        FcaAction::Update {
            user: want,
            what: format!("{} disabled and released", u.username),
        }
    };
    users
        .iter()
        .filter(|u| is_ours(u, marker))
        .filter_map(|u| match policy {
            ConsoleDeletionPolicy::Orphan => None,
            ConsoleDeletionPolicy::Delete if u.description == marker => Some(FcaAction::Delete {
                id: u.id.clone(),
                name: u.username.clone(),
            }),
            _ => Some(release(u)),
        })
        .collect()
}

/// The declared members as the organization shows them.
pub fn member_status(
    fca: &FcaAccess,
    marker: &str,
    role: &EntityRef,
    users: &[VcdUser],
) -> Vec<MemberStatus> {
    fca.members
        .iter()
        .map(|m| {
            let u = users.iter().find(|u| u.username.eq_ignore_ascii_case(&m.name));
            let state = match u {
                None => MemberState::Pending,
                Some(u) if !u.enabled => MemberState::Disabled,
                Some(u) if is_ours(u, marker) && u.role_entity_ref.id == role.id => MemberState::Member,
                Some(_) => MemberState::NotMember,
            };
            MemberStatus {
                name: m.name.clone(),
                user_id: u.map(|u| u.id.clone()),
                state,
                created: u.is_some_and(|u| u.description == marker),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::console_access::ConsoleMember;

    const MARKER: &str = "Managed by ccs-operator: ConsoleAccess ns/a (uid u1)";

    fn role(name: &str) -> EntityRef {
        EntityRef {
            name: name.into(),
            id: format!("urn:vcloud:role:{name}"),
        }
    }

    fn user(name: &str, role_name: &str, description: &str) -> VcdUser {
        VcdUser {
            id: format!("urn:vcloud:user:{name}"),
            username: name.into(),
            description: description.into(),
            role_entity_ref: role(role_name),
            ..VcdUser::default()
        }
    }

    fn fca(members: &[&str]) -> FcaAccess {
        FcaAccess {
            endpoint: "https://vcd.example".into(),
            credentials_secret_ref: crate::api::console_access::ConsoleSecretRef { name: "s".into() },
            organization: "org".into(),
            role: "vApp User".into(),
            members: members
                .iter()
                .map(|n| ConsoleMember {
                    name: n.to_string(),
                    email: None,
                })
                .collect(),
        }
    }

    #[test]
    fn creates_adopts_reverts_the_role_and_disables_the_undeclared() {
        let users = vec![
            user("adoptee", "vApp User", ""),
            user("drifted", "Organization Administrator", MARKER),
            user("gone", "vApp User", MARKER),
            user(
                "theirs",
                "vApp User",
                "Managed by ccs-operator: ConsoleAccess ns/b (uid u2)",
            ),
        ];
        let want = role("vApp User");
        let spec = fca(&["new", "adoptee", "drifted", "theirs"]);
        let p = plan(
            &spec,
            ConsoleManagementPolicy::Full,
            MARKER,
            &want,
            &users,
            |uid| uid == "u2",
        );
        let names: Vec<String> = p
            .actions
            .iter()
            .map(|a| match a {
                FcaAction::Create { name, .. } => format!("create {name}"),
                FcaAction::Update { what, .. } => what.clone(),
                FcaAction::Delete { name, .. } => format!("delete {name}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "create new",
                "adoptee adopted",
                "drifted role",
                "gone disabled (no longer declared)"
            ]
        );
        assert_eq!(p.drift, ["user theirs is managed by another ConsoleAccess"]);

        let observe = plan(
            &spec,
            ConsoleManagementPolicy::ObserveOnly,
            MARKER,
            &want,
            &users,
            |uid| uid == "u2",
        );
        assert!(observe.actions.is_empty());
        assert_eq!(observe.drift.len(), 5, "{:?}", observe.drift);
        let create_only = plan(
            &spec,
            ConsoleManagementPolicy::CreateOnly,
            MARKER,
            &want,
            &users,
            |_| false,
        );
        assert_eq!(
            create_only.actions.len(),
            3,
            "create, adopt (marker and role), not the drifted role"
        );
    }

    #[test]
    fn deletion_policies() {
        let users = vec![
            user("created", "vApp User", MARKER),
            user("adopted", "vApp User", &adopted_marker(MARKER)),
            user("other", "vApp User", ""),
        ];
        assert!(plan_deletion(ConsoleDeletionPolicy::Orphan, MARKER, &users).is_empty());
        let delete = plan_deletion(ConsoleDeletionPolicy::Delete, MARKER, &users);
        assert!(matches!(&delete[0], FcaAction::Delete { name, .. } if name == "created"));
        assert!(
            matches!(&delete[1], FcaAction::Update { user, .. } if !user.enabled && user.description.is_empty())
        );
        assert_eq!(delete.len(), 2);
        let remove = plan_deletion(ConsoleDeletionPolicy::RemoveAccess, MARKER, &users);
        assert!(remove.iter().all(|a| matches!(a, FcaAction::Update { .. })));
        assert_eq!(remove.len(), 2);
        assert_eq!(
            owner_uid(&users[1]),
            Some("u1"),
            "the adopted marker still names its owner"
        );
    }
}
