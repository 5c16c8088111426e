//! The pure part of a ConsoleAccess reconcile (Flexible Engine): from the spec and what the IAM
//! shows, the writes to make, the drift left alone, and the status.

use crate::api::common::MAX_PORTAL_TEXT;
use crate::api::console_access::{
    AssignmentStatus, ConsoleDeletionPolicy, ConsoleManagementPolicy, FlexibleEngineAccess, MemberState,
    MemberStatus,
};
use crate::console::keystone::{Assignment, Group, Named, Scope, User};
use crate::controllers::common::bounded;
use std::collections::BTreeSet;

/// What the IAM shows for one ConsoleAccess.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Domain of the credentials.
    pub domain_id: String,
    /// The group, if it exists.
    pub group: Option<Group>,
    /// Users of the domain.
    pub users: Vec<User>,
    /// Members of the group.
    pub members: Vec<User>,
    /// Roles.
    pub roles: Vec<Named>,
    /// Projects of the domain.
    pub projects: Vec<Named>,
    /// Role assignments of the group.
    pub assignments: Vec<Assignment>,
}

/// An IAM write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create the group, marked as ours.
    CreateGroup,
    /// Mark an existing group as ours (adoption).
    ClaimGroup,
    /// Create a user, marked as ours.
    CreateUser {
        /// Name.
        name: String,
        /// Email.
        email: Option<String>,
    },
    /// Add the user named `name` to the group.
    AddMember {
        /// User name.
        name: String,
    },
    /// Remove a user from the group.
    RemoveMember {
        /// User id.
        user_id: String,
        /// User name (for messages).
        name: String,
    },
    /// Delete a user this object created.
    DeleteUser {
        /// User id.
        user_id: String,
        /// User name (for messages).
        name: String,
    },
    /// Grant the group a role.
    Grant(Assignment, String),
    /// Revoke a role of the group.
    Revoke(Assignment, String),
    /// Delete the group.
    DeleteGroup,
}

impl Action {
    /// Whether the action changes who may do what (the platform applies it with a delay).
    pub fn changes_permissions(&self) -> bool {
        !matches!(
            self,
            Action::ClaimGroup | Action::CreateUser { .. } | Action::DeleteUser { .. }
        )
    }
}

/// What a reconcile should do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Writes, in order.
    pub actions: Vec<Action>,
    /// Differences left alone (ObserveOnly, CreateOnly), one sentence each.
    pub drift: Vec<String>,
}

/// The marker the operator writes in the description of the group and of the users it creates.
pub fn marker(namespace: &str, name: &str, uid: &str) -> String {
    format!("Managed by ccs-operator: ConsoleAccess {namespace}/{name} (uid {uid})")
}

/// The uid in a marker written by any ConsoleAccess.
pub fn marker_uid(description: Option<&str>) -> Option<&str> {
    let d = description?;
    d.strip_prefix("Managed by ccs-operator: ConsoleAccess ")?
        .rsplit_once("(uid ")?
        .1
        .strip_suffix(')')
}

/// A declared role assignment resolved to ids, with its label for messages and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// Ids.
    pub assignment: Assignment,
    /// Role name.
    pub role: String,
    /// Project name (project-scoped).
    pub project: Option<String>,
}

/// Resolves the declared role assignments by name; an unknown role or project is an error naming
/// the field and what exists.
pub fn desired(spec: &FlexibleEngineAccess, seen: &Observed) -> Result<Vec<Desired>, String> {
    let names = |list: &[Named]| {
        let mut n: Vec<&str> = list.iter().map(|x| x.name.as_str()).collect();
        n.sort_unstable();
        n.truncate(20);
        n.join(", ")
    };
    let mut out = Vec::new();
    for (i, ra) in spec.role_assignments.iter().enumerate() {
        let role = seen.roles.iter().find(|r| r.name == ra.role).ok_or_else(|| {
            format!(
                "spec.flexibleEngine.roleAssignments[{i}].role: role {:?} does not exist in the IAM (roles: {})",
                ra.role,
                names(&seen.roles)
            )
        })?;
        let scope = match &ra.project {
            Some(p) => {
                let project = seen.projects.iter().find(|x| &x.name == p).ok_or_else(|| {
                    format!(
                        "spec.flexibleEngine.roleAssignments[{i}].project: project {p:?} does not exist in the domain (projects: {})",
                        names(&seen.projects)
                    )
                })?;
                Scope::Project(project.id.clone())
            }
            None => Scope::Domain(seen.domain_id.clone()),
        };
        let d = Desired {
            assignment: Assignment {
                role_id: role.id.clone(),
                scope,
            },
            role: ra.role.clone(),
            project: ra.project.clone(),
        };
        if !out.iter().any(|o: &Desired| o.assignment == d.assignment) {
            out.push(d);
        }
    }
    Ok(out)
}

/// A role assignment as a sentence part: `role te_admin on project p` or `on the domain`.
pub fn label(a: &Assignment, seen: &Observed) -> String {
    let role = seen
        .roles
        .iter()
        .find(|r| r.id == a.role_id)
        .map_or(a.role_id.as_str(), |r| r.name.as_str());
    match &a.scope {
        Scope::Project(p) => {
            let project = seen
                .projects
                .iter()
                .find(|x| &x.id == p)
                .map_or(p.as_str(), |x| x.name.as_str());
            format!("role {role} on project {project}")
        }
        Scope::Domain(_) => format!("role {role} on the domain"),
    }
}

/// Plans the reconcile of the group this object owns (or may adopt).
pub fn plan(
    spec: &FlexibleEngineAccess,
    policy: ConsoleManagementPolicy,
    marker: &str,
    desired: &[Desired],
    seen: &Observed,
) -> Plan {
    let mut p = Plan::default();
    let observe_only = policy == ConsoleManagementPolicy::ObserveOnly;
    let full = policy == ConsoleManagementPolicy::Full;
    let write = |p: &mut Plan, action: Action, drift: String| {
        if observe_only {
            p.drift.push(drift);
        } else {
            p.actions.push(action);
        }
    };
    match &seen.group {
        None => write(
            &mut p,
            Action::CreateGroup,
            format!("group {} does not exist", spec.group),
        ),
        Some(g) if g.description.as_deref() != Some(marker) && !observe_only => {
            p.actions.push(Action::ClaimGroup)
        }
        Some(_) => {}
    }
    for m in &spec.members {
        let user = seen.users.iter().find(|u| u.name == m.name);
        if user.is_none() {
            let create = Action::CreateUser {
                name: m.name.clone(),
                email: m.email.clone(),
            };
            write(&mut p, create, format!("user {} does not exist", m.name));
        }
        if !seen.members.iter().any(|u| u.name == m.name) {
            let add = Action::AddMember { name: m.name.clone() };
            write(
                &mut p,
                add,
                format!("{} is not a member of group {}", m.name, spec.group),
            );
        }
    }
    for u in &seen.members {
        if spec.members.iter().any(|m| m.name == u.name) {
            continue;
        }
        let sentence = format!("{} is a member of group {} but not declared", u.name, spec.group);
        if !full {
            p.drift.push(sentence);
            continue;
        }
        p.actions.push(Action::RemoveMember {
            user_id: u.id.clone(),
            name: u.name.clone(),
        });
        if u.description.as_deref() == Some(marker) {
            p.actions.push(Action::DeleteUser {
                user_id: u.id.clone(),
                name: u.name.clone(),
            });
        }
    }
    for d in desired {
        if !seen.assignments.contains(&d.assignment) {
            let l = label(&d.assignment, seen);
            write(
                &mut p,
                Action::Grant(d.assignment.clone(), l.clone()),
                format!("group {} lacks {l}", spec.group),
            );
        }
    }
    for a in &seen.assignments {
        if desired.iter().any(|d| &d.assignment == a) {
            continue;
        }
        let l = label(a, seen);
        if full {
            p.actions.push(Action::Revoke(a.clone(), l));
        } else {
            p.drift
                .push(format!("group {} has the undeclared {l}", spec.group));
        }
    }
    p
}

/// Plans the cleanup of a deleted ConsoleAccess that owns the group.
pub fn plan_deletion(policy: ConsoleDeletionPolicy, marker: &str, seen: &Observed) -> Vec<Action> {
    let Some(group) = &seen.group else { return vec![] };
    match policy {
        ConsoleDeletionPolicy::Orphan => vec![],
        ConsoleDeletionPolicy::RemoveAccess => {
            let revokes = seen
                .assignments
                .iter()
                .map(|a| Action::Revoke(a.clone(), label(a, seen)));
            let removals = seen.members.iter().map(|u| Action::RemoveMember {
                user_id: u.id.clone(),
                name: u.name.clone(),
            });
            revokes.chain(removals).collect()
        }
        ConsoleDeletionPolicy::Delete => {
            let ours = seen
                .members
                .iter()
                .filter(|u| u.description.as_deref() == Some(marker))
                .map(|u| Action::DeleteUser {
                    user_id: u.id.clone(),
                    name: u.name.clone(),
                });
            let group_is_ours = group.description.as_deref() == Some(marker);
            // An adopted group keeps existing: only its access goes.
            let rest = if group_is_ours {
                vec![Action::DeleteGroup]
            } else {
                plan_deletion(ConsoleDeletionPolicy::RemoveAccess, marker, seen)
            };
            ours.chain(rest).collect()
        }
    }
}

/// The status fields observed (members and role assignments).
pub fn observed_status(
    spec: &FlexibleEngineAccess,
    marker: &str,
    desired: &[Desired],
    seen: &Observed,
) -> (Vec<MemberStatus>, Vec<AssignmentStatus>) {
    let b = |s: &str| bounded(s, MAX_PORTAL_TEXT);
    let members = spec
        .members
        .iter()
        .map(|m| {
            let user = seen.users.iter().find(|u| u.name == m.name);
            let member = seen.members.iter().any(|u| u.name == m.name);
            let state = match user {
                None => MemberState::Pending,
                Some(_) if !member => MemberState::NotMember,
                Some(u) if !u.enabled => MemberState::Disabled,
                Some(_) => MemberState::Member,
            };
            MemberStatus {
                name: m.name.clone(),
                user_id: user.map(|u| b(&u.id)),
                state,
                created: user.is_some_and(|u| u.description.as_deref() == Some(marker)),
            }
        })
        .collect();
    let mut seen_ids = BTreeSet::new();
    let assignments = seen
        .assignments
        .iter()
        .filter_map(|a| {
            let (id, project_id, domain) = match &a.scope {
                Scope::Project(p) => (format!("project:{p}/role:{}", a.role_id), Some(b(p)), false),
                Scope::Domain(d) => (format!("domain:{d}/role:{}", a.role_id), None, true),
            };
            let id = bounded(&id, 520);
            if !seen_ids.insert(id.clone()) {
                return None;
            }
            let role = seen.roles.iter().find(|r| r.id == a.role_id);
            let project = project_id
                .as_ref()
                .and_then(|p| seen.projects.iter().find(|x| &x.id == p))
                .map(|x| b(&x.name));
            Some(AssignmentStatus {
                id,
                role: b(role.map_or(a.role_id.as_str(), |r| r.name.as_str())),
                role_id: b(&a.role_id),
                project,
                project_id,
                domain,
                declared: desired.iter().any(|d| &d.assignment == a),
            })
        })
        .take(100)
        .collect();
    (members, assignments)
}

#[cfg(test)]
mod tests;
