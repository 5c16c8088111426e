//! Discovery documents: `/version`, aggregated (`apidiscovery.k8s.io` v2 and v2beta1) and legacy.

use super::resource::{Registry, ResourceInfo};
use serde_json::{Value, json};

/// Minor version reported by `/version` (kubectl's dispatcher then runs its built-in 1.32).
pub const MINOR: &str = "32";

/// `GET /version`.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": MINOR, "gitVersion": "v1.32.0-ccs-dev-cluster", "gitCommit": "ccs-operator",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23",
        "compiler": "gc", "platform": "linux/amd64",
    })
}

/// Kubernetes version priority: GA before beta before alpha, higher numbers first.
fn version_rank(v: &str) -> (i32, i64, i64) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (tier, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (tier, major, minor)
}

/// Versions of a group, preferred first.
fn sorted_versions(mut versions: Vec<String>) -> Vec<String> {
    versions.sort_by(|a, b| version_rank(b).cmp(&version_rank(a)).then(a.cmp(b)));
    versions
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let mut entry = json!({
        "resource": r.plural, "responseKind": kind, "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular, "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if r.status_subresource {
        entry["subresources"] =
            json!([{"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}]);
    }
    entry
}

/// Aggregated discovery for the core group (`core = true`, `/api`) or all others (`/apis`).
pub fn aggregated(registry: &Registry, core: bool, api_version: &str) -> Value {
    let items: Vec<Value> = registry
        .groups()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(group, versions)| {
            let versions: Vec<Value> = sorted_versions(versions)
                .into_iter()
                .map(|v| {
                    let resources: Vec<Value> = registry
                        .in_group_version(&group, &v)
                        .iter()
                        .map(|r| aggregated_resource(r))
                        .collect();
                    json!({"version": v, "freshness": "Current", "resources": resources})
                })
                .collect();
            json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items})
}

/// Legacy `GET /api`.
pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn api_group(group: &str, versions: Vec<String>) -> Value {
    let versions = sorted_versions(versions);
    let gv = |v: &String| json!({"groupVersion": format!("{group}/{v}"), "version": v});
    json!({"name": group, "versions": versions.iter().map(gv).collect::<Vec<_>>(), "preferredVersion": gv(&versions[0])})
}

/// Legacy `GET /apis`.
pub fn api_group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| api_group(&g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Legacy `GET /apis/<group>`.
pub fn group(registry: &Registry, group: &str) -> Option<Value> {
    let versions = registry.groups().remove(group)?;
    let mut doc = api_group(group, versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// Legacy `GET /api/v1` or `/apis/<group>/<version>`.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let resources = registry.in_group_version(group, version);
    if resources.is_empty() {
        return None;
    }
    let mut list = vec![];
    for r in resources {
        list.push(json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": VERBS, "shortNames": r.short_names, "categories": r.categories,
        }));
        if r.status_subresource {
            list.push(
                json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_version_order() {
        let v = sorted_versions(vec![
            "v1alpha1".into(),
            "v1beta2".into(),
            "v2".into(),
            "v1".into(),
        ]);
        assert_eq!(v, ["v2", "v1", "v1beta2", "v1alpha1"]);
    }
}
