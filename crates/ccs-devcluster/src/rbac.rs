//! SubjectAccessReview over the stored Roles, RoleBindings, ClusterRoles and
//! ClusterRoleBindings, as Kubernetes' RBAC authorizer answers it: allowed when a rule of a role
//! bound to the user (or one of their groups, or `system:authenticated`) matches the verb, group,
//! resource (and name); `system:masters` may do everything. Nothing is denied explicitly: RBAC
//! only grants.

use super::error::{ApiError, ApiResult};
use super::store::Inner;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewStatus,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject};
use serde::de::DeserializeOwned;
use serde_json::Value;

const GROUP: &str = "rbac.authorization.k8s.io";

fn stored<T: DeserializeOwned>(inner: &Inner, plural: &str) -> Vec<T> {
    inner
        .bucket(&super::resource::GroupResource::new(GROUP, plural))
        .map(|b| {
            b.values()
                .filter_map(|v| serde_json::from_value(v.as_ref().clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn matches_subject(subject: &Subject, user: &str, groups: &[String], namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => subject.name == user,
        "Group" => groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = subject.namespace.as_deref().unwrap_or(namespace);
            user == format!("system:serviceaccount:{ns}:{}", subject.name)
        }
        _ => false,
    }
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

fn rule_allows(rule: &PolicyRule, attrs: &ResourceAttributes) -> bool {
    let verb = attrs.verb.as_deref().unwrap_or_default();
    let group = attrs.group.as_deref().unwrap_or_default();
    let mut resource = attrs.resource.clone().unwrap_or_default();
    if let Some(sub) = attrs.subresource.as_deref().filter(|s| !s.is_empty()) {
        resource = format!("{resource}/{sub}");
    }
    let names = rule.resource_names.clone().unwrap_or_default();
    has(&rule.verbs, verb)
        && has(rule.api_groups.as_deref().unwrap_or_default(), group)
        && has(rule.resources.as_deref().unwrap_or_default(), &resource)
        && (names.is_empty()
            || attrs
                .name
                .as_deref()
                .is_some_and(|n| names.iter().any(|x| x == n)))
}

/// The rules of a binding's role reference (a ClusterRole, or a Role of `namespace`).
fn rules_of(
    kind: &str,
    name: &str,
    namespace: &str,
    roles: &[Role],
    cluster_roles: &[ClusterRole],
) -> Vec<PolicyRule> {
    let rules = match kind {
        "ClusterRole" => cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
            .and_then(|r| r.rules.clone()),
        "Role" => roles
            .iter()
            .find(|r| {
                r.metadata.name.as_deref() == Some(name) && r.metadata.namespace.as_deref() == Some(namespace)
            })
            .and_then(|r| r.rules.clone()),
        _ => None,
    };
    rules.unwrap_or_default()
}

/// Whether `user` in `groups` may do what `attrs` describes, and why.
pub fn allowed(inner: &Inner, user: &str, groups: &[String], attrs: &ResourceAttributes) -> (bool, String) {
    let mut groups = groups.to_vec();
    groups.push("system:authenticated".into());
    if groups.iter().any(|g| g == "system:masters") {
        return (true, "member of system:masters".into());
    }
    let namespace = attrs.namespace.clone().unwrap_or_default();
    let roles: Vec<Role> = stored(inner, "roles");
    let cluster_roles: Vec<ClusterRole> = stored(inner, "clusterroles");
    for binding in stored::<ClusterRoleBinding>(inner, "clusterrolebindings") {
        let bound = binding
            .subjects
            .iter()
            .flatten()
            .any(|s| matches_subject(s, user, &groups, ""));
        let rules = rules_of(
            &binding.role_ref.kind,
            &binding.role_ref.name,
            "",
            &roles,
            &cluster_roles,
        );
        if bound && rules.iter().any(|r| rule_allows(r, attrs)) {
            let name = binding.metadata.name.unwrap_or_default();
            return (true, format!("RBAC: allowed by ClusterRoleBinding {name:?}"));
        }
    }
    if !namespace.is_empty() {
        for binding in stored::<RoleBinding>(inner, "rolebindings") {
            if binding.metadata.namespace.as_deref() != Some(namespace.as_str()) {
                continue;
            }
            let bound = binding
                .subjects
                .iter()
                .flatten()
                .any(|s| matches_subject(s, user, &groups, &namespace));
            let role = &binding.role_ref;
            let rules = rules_of(&role.kind, &role.name, &namespace, &roles, &cluster_roles);
            if bound && rules.iter().any(|r| rule_allows(r, attrs)) {
                let name = binding.metadata.name.unwrap_or_default();
                return (
                    true,
                    format!(
                        "RBAC: allowed by RoleBinding {name:?} of {} {:?} to {user:?}",
                        role.kind, role.name
                    ),
                );
            }
        }
    }
    (false, String::new())
}

/// Answers a posted SubjectAccessReview: the review with its status filled in.
pub fn review(inner: &Inner, body: Value) -> ApiResult<Value> {
    let mut review: SubjectAccessReview = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding the SubjectAccessReview: {e}")))?;
    let spec = &review.spec;
    let user = spec.user.clone().unwrap_or_default();
    let groups = spec.groups.clone().unwrap_or_default();
    if user.is_empty() && groups.is_empty() {
        return Err(ApiError::bad_request(
            "spec.user: at least one of user or group must be specified",
        ));
    }
    let Some(attrs) = spec.resource_attributes.clone() else {
        return Err(ApiError::bad_request(
            "spec.resourceAttributes: exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    };
    let (allowed, reason) = allowed(inner, &user, &groups, &attrs);
    review.status = Some(SubjectAccessReviewStatus {
        allowed,
        reason: (!reason.is_empty()).then_some(reason),
        ..Default::default()
    });
    review.metadata.creation_timestamp = None;
    let mut value = serde_json::to_value(review).map_err(|e| ApiError::bad_request(e.to_string()))?;
    value["apiVersion"] = "authorization.k8s.io/v1".into();
    value["kind"] = "SubjectAccessReview".into();
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::GroupResource;
    use crate::store::Store;
    use serde_json::json;

    fn put(store: &Store, plural: &str, object: Value) {
        store.write().put(&GroupResource::new(GROUP, plural), object);
    }

    fn ask(store: &Store, user: &str, groups: &[&str], ns: &str, resource: &str) -> bool {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": groups, "resourceAttributes":
                {"namespace": ns, "verb": "list", "group": "customerspace.io", "resource": resource}}});
        review(&store.read(), body).expect("answered")["status"]["allowed"] == json!(true)
    }

    #[test]
    fn role_bindings_grant_in_their_namespace_cluster_bindings_everywhere() {
        let store = Store::new(100);
        put(
            &store,
            "clusterroles",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "viewer"}, "rules": [{"apiGroups": ["customerspace.io"],
            "resources": ["cloudcontracts"], "verbs": ["get", "list"]}]}),
        );
        put(
            &store,
            "roles",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "users", "namespace": "team-a"}, "rules": [{"apiGroups": ["*"],
            "resources": ["portalusers"], "verbs": ["list"]}]}),
        );
        put(
            &store,
            "rolebindings",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "alice-view", "namespace": "team-a"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "viewer"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "finance"}]}),
        );
        put(
            &store,
            "rolebindings",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "alice-users", "namespace": "team-a"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "users"},
            "subjects": [{"kind": "User", "name": "alice"}]}),
        );
        put(
            &store,
            "clusterrolebindings",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding", "metadata": {"name": "ops-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "viewer"},
            "subjects": [{"kind": "Group", "name": "ops"}]}),
        );
        assert!(ask(&store, "alice", &[], "team-a", "cloudcontracts"));
        assert!(ask(&store, "alice", &[], "team-a", "portalusers"));
        assert!(!ask(&store, "alice", &[], "team-b", "cloudcontracts"));
        assert!(ask(&store, "bob", &["finance"], "team-a", "cloudcontracts"));
        assert!(!ask(&store, "bob", &["finance"], "team-a", "portalusers"));
        assert!(ask(&store, "carol", &["ops"], "team-b", "cloudcontracts"));
        assert!(!ask(&store, "carol", &["ops"], "team-b", "portalusers"));
        assert!(ask(&store, "root", &["system:masters"], "any", "portalusers"));
        assert!(!ask(&store, "mallory", &[], "team-a", "cloudcontracts"));
    }
}
