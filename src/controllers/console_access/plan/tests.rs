use super::*;
use crate::api::console_access::{ConsoleMember, ConsoleSecretRef, RoleAssignment};

const MARK: &str = "Managed by ccs-operator: ConsoleAccess team/a (uid u1)";

fn spec(members: &[&str], roles: &[(&str, Option<&str>)]) -> FlexibleEngineAccess {
    FlexibleEngineAccess {
        identity_endpoint: "https://iam.example/v3".into(),
        credentials_secret_ref: ConsoleSecretRef { name: "s".into() },
        group: "platform".into(),
        role_assignments: roles
            .iter()
            .map(|(r, p)| RoleAssignment {
                role: r.to_string(),
                project: p.map(str::to_string),
                domain: p.is_none().then_some(true),
            })
            .collect(),
        members: members
            .iter()
            .map(|n| ConsoleMember {
                name: n.to_string(),
                email: None,
            })
            .collect(),
    }
}

fn user(id: &str, name: &str, ours: bool) -> User {
    User {
        id: id.into(),
        name: name.into(),
        enabled: true,
        description: ours.then(|| MARK.to_string()),
    }
}

fn named(id: &str, name: &str) -> Named {
    Named {
        id: id.into(),
        name: name.into(),
    }
}

fn seen() -> Observed {
    Observed {
        domain_id: "d1".into(),
        group: Some(Group {
            id: "g1".into(),
            name: "platform".into(),
            description: Some(MARK.into()),
        }),
        users: vec![user("u-jane", "jane", false), user("u-old", "old", true)],
        members: vec![user("u-old", "old", true)],
        roles: vec![named("r-admin", "te_admin"), named("r-ro", "readonly")],
        projects: vec![named("p1", "eu-west-0_acme")],
        assignments: vec![Assignment {
            role_id: "r-ro".into(),
            scope: Scope::Project("p1".into()),
        }],
    }
}

#[test]
fn full_adds_creates_removes_grants_and_revokes_exactly() {
    let s = spec(
        &["jane", "new"],
        &[("te_admin", Some("eu-west-0_acme")), ("readonly", None)],
    );
    let o = seen();
    let d = desired(&s, &o).expect("resolved");
    let p = plan(&s, ConsoleManagementPolicy::Full, MARK, &d, &o);
    assert_eq!(
        p.actions,
        vec![
            Action::AddMember { name: "jane".into() },
            Action::CreateUser {
                name: "new".into(),
                email: None
            },
            Action::AddMember { name: "new".into() },
            Action::RemoveMember {
                user_id: "u-old".into(),
                name: "old".into()
            },
            Action::DeleteUser {
                user_id: "u-old".into(),
                name: "old".into()
            },
            Action::Grant(
                Assignment {
                    role_id: "r-admin".into(),
                    scope: Scope::Project("p1".into())
                },
                "role te_admin on project eu-west-0_acme".into()
            ),
            Action::Grant(
                Assignment {
                    role_id: "r-ro".into(),
                    scope: Scope::Domain("d1".into())
                },
                "role readonly on the domain".into()
            ),
            Action::Revoke(
                Assignment {
                    role_id: "r-ro".into(),
                    scope: Scope::Project("p1".into())
                },
                "role readonly on project eu-west-0_acme".into()
            ),
        ]
    );
    assert!(p.drift.is_empty());
}

#[test]
fn observe_only_writes_nothing_and_create_only_never_removes() {
    let s = spec(&["jane"], &[("te_admin", Some("eu-west-0_acme"))]);
    let o = seen();
    let d = desired(&s, &o).expect("resolved");
    let observe = plan(&s, ConsoleManagementPolicy::ObserveOnly, MARK, &d, &o);
    assert!(observe.actions.is_empty());
    assert_eq!(observe.drift.len(), 4, "{:?}", observe.drift);
    let create = plan(&s, ConsoleManagementPolicy::CreateOnly, MARK, &d, &o);
    assert!(
        create
            .actions
            .iter()
            .all(|a| matches!(a, Action::AddMember { .. } | Action::Grant(..))),
        "{:?}",
        create.actions
    );
    assert_eq!(create.drift.len(), 2, "{:?}", create.drift);
}

#[test]
fn a_missing_group_is_created_and_an_unmarked_one_claimed() {
    let s = spec(&[], &[]);
    let mut o = seen();
    o.members.clear();
    o.assignments.clear();
    o.group = None;
    assert_eq!(
        plan(&s, ConsoleManagementPolicy::Full, MARK, &[], &o).actions,
        vec![Action::CreateGroup]
    );
    o.group = Some(Group {
        id: "g".into(),
        name: "platform".into(),
        description: None,
    });
    assert_eq!(
        plan(&s, ConsoleManagementPolicy::Full, MARK, &[], &o).actions,
        vec![Action::ClaimGroup]
    );
}

#[test]
fn unknown_roles_and_projects_name_the_field() {
    let o = seen();
    let err = desired(&spec(&[], &[("nope", None)]), &o).unwrap_err();
    assert!(
        err.contains("roleAssignments[0].role") && err.contains("te_admin"),
        "{err}"
    );
    let err = desired(&spec(&[], &[("readonly", Some("other"))]), &o).unwrap_err();
    assert!(
        err.contains("roleAssignments[0].project") && err.contains("eu-west-0_acme"),
        "{err}"
    );
}

#[test]
fn deletion_policies() {
    let o = seen();
    assert!(plan_deletion(ConsoleDeletionPolicy::Orphan, MARK, &o).is_empty());
    let remove = plan_deletion(ConsoleDeletionPolicy::RemoveAccess, MARK, &o);
    assert!(matches!(remove[0], Action::Revoke(..)));
    assert_eq!(
        remove[1],
        Action::RemoveMember {
            user_id: "u-old".into(),
            name: "old".into()
        }
    );
    let delete = plan_deletion(ConsoleDeletionPolicy::Delete, MARK, &o);
    assert_eq!(
        delete,
        vec![
            Action::DeleteUser {
                user_id: "u-old".into(),
                name: "old".into()
            },
            Action::DeleteGroup
        ]
    );
    let mut adopted = o.clone();
    adopted.group.as_mut().expect("group").description = Some("theirs".into());
    let delete = plan_deletion(ConsoleDeletionPolicy::Delete, MARK, &adopted);
    assert!(
        !delete.contains(&Action::DeleteGroup),
        "an adopted group stays: {delete:?}"
    );
}

#[test]
fn markers_round_trip_and_status_names_ids() {
    assert_eq!(marker("team", "a", "u1"), MARK);
    assert_eq!(marker_uid(Some(MARK)), Some("u1"));
    assert_eq!(marker_uid(Some("hand made")), None);
    let s = spec(&["jane", "old", "ghost"], &[("readonly", Some("eu-west-0_acme"))]);
    let o = seen();
    let d = desired(&s, &o).expect("resolved");
    let (members, assignments) = observed_status(&s, MARK, &d, &o);
    let states: Vec<_> = members
        .iter()
        .map(|m| (m.name.as_str(), m.state, m.created))
        .collect();
    assert_eq!(
        states,
        vec![
            ("jane", MemberState::NotMember, false),
            ("old", MemberState::Member, true),
            ("ghost", MemberState::Pending, false)
        ]
    );
    assert_eq!(assignments[0].id, "project:p1/role:r-ro");
    assert!(assignments[0].declared);
}
