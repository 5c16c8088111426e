"""Least-privilege RBAC in both modes, and the aggregated roles for cluster users."""

import pytest

from conftest import NAMESPACE, VALUE_SETS, of_kind, render

KINDS = ["cloudcontracts", "portalusers", "budgetalerts", "serviceorders"]
ROLE_KINDS = ("Role", "ClusterRole")


def grants(role):
    """{(apiGroup, resource, resourceNames): set(verbs)} of one Role or ClusterRole."""
    out = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                key = (group, resource, tuple(rule.get("resourceNames", ())))
                out.setdefault(key, set()).update(rule["verbs"])
    return out


# What the operator needs wherever it watches (issue 5): nothing more, nothing less.
WATCHED = {
    **{("customerspace.io", k, ()): {"get", "list", "watch", "patch", "update"} for k in KINDS},
    **{("customerspace.io", f"{k}/status", ()): {"get", "patch", "update"} for k in KINDS},
    **{("customerspace.io", f"{k}/finalizers", ()): {"patch", "update"} for k in KINDS},
    ("", "secrets", ()): {"get", "list", "watch"},
    ("events.k8s.io", "events", ()): {"create", "patch"},
}
# kube-lease-manager creates the Lease, then reads it and renews or takes it over with patches
# (server-side apply, strategic merge).
# The Lease is named after the release (release "ccs"), so shards never share one.
LEASE = {
    ("coordination.k8s.io", "leases", ()): {"create"},
    ("coordination.k8s.io", "leases", ("ccs-ccs-operator",)): {"get", "patch", "update"},
}


def operator_roles(docs):
    """Roles bound to the operator's ServiceAccount, as {(kind, namespace, name): role}."""
    roles = {(r["kind"], r["metadata"].get("namespace"), r["metadata"]["name"]): r
             for r in docs if r["kind"] in ROLE_KINDS}
    bound = {}
    for binding in of_kind(docs, "RoleBinding") + of_kind(docs, "ClusterRoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ccs-ccs-operator", "namespace": NAMESPACE}]
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace")
        key = (ref["kind"], namespace if ref["kind"] == "Role" else None, ref["name"])
        assert key in roles, f"binding {binding['metadata']['name']} points at a role the chart does not render"
        bound[key] = roles[key]
    return bound


def test_no_wildcard_anywhere(values_set):
    _, values = values_set
    for role in (d for d in render(values) if d["kind"] in ROLE_KINDS):
        for rule in role["rules"]:
            for field in ("verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"):
                assert not any("*" in item for item in rule.get(field, [])), (role["metadata"]["name"], rule)


def test_all_namespaces_mode_is_one_cluster_role_plus_the_lease_role():
    bound = operator_roles(render({}))
    assert {(kind, ns) for kind, ns, _ in bound} == {("ClusterRole", None), ("Role", NAMESPACE)}
    by_kind = {kind: grants(role) for (kind, _, _), role in bound.items()}
    assert by_kind == {"ClusterRole": WATCHED, "Role": LEASE}


def test_namespaced_mode_grants_only_the_listed_namespaces():
    bound = operator_roles(render(VALUE_SETS["namespaced"]))
    assert all(kind == "Role" for kind, _, _ in bound), "no cluster-wide grant in namespaced mode"
    per_namespace = {}
    for (_, ns, _), role in bound.items():
        per_namespace.setdefault(ns, {}).update(grants(role))
    assert per_namespace == {"team-a": WATCHED, "team-b": WATCHED, NAMESPACE: LEASE}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_secrets_are_readable_only_in_watched_namespaces(name):
    values = VALUE_SETS[name]
    watched = values.get("config", {}).get("namespaces")
    for (kind, ns, role_name), role in operator_roles(render(values)).items():
        reads_secrets = any(resource == "secrets" for _, resource, _ in grants(role))
        if kind == "ClusterRole":
            assert not watched and reads_secrets == (role_name == "ccs-ccs-operator")
        else:
            assert reads_secrets == (watched is not None and ns in watched), (kind, ns, role_name)


def test_lease_role_follows_the_lease_settings():
    docs = render({"config": {"leaderElection": {"leaseName": "my-lease", "leaseNamespace": "leases"}}})
    lease_roles = {ns: grants(r) for (_, ns, _), r in operator_roles(docs).items() if ns == "leases"}
    assert lease_roles == {"leases": {
        ("coordination.k8s.io", "leases", ()): {"create"},
        ("coordination.k8s.io", "leases", ("my-lease",)): {"get", "patch", "update"},
    }}
    no_election = operator_roles(render(VALUE_SETS["single-replica"]))
    assert all(("coordination.k8s.io", "leases", ()) not in grants(r) for r in no_election.values())


def aggregated(docs):
    return {r["metadata"]["name"]: r for r in of_kind(docs, "ClusterRole")
            if any(k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in r["metadata"]["labels"])}


def test_view_and_edit_roles_aggregate_the_four_kinds():
    roles = aggregated(render({}))
    assert set(roles) == {"ccs-ccs-operator-view", "ccs-ccs-operator-edit"}
    view, edit = roles["ccs-ccs-operator-view"], roles["ccs-ccs-operator-edit"]
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert grants(view) == {
        **{("customerspace.io", k, ()): {"get", "list", "watch"} for k in KINDS},
        **{("customerspace.io", f"{k}/status", ()): {"get", "list", "watch"} for k in KINDS},
    }
    # Users write spec and metadata; status stays the operator's.
    assert grants(edit) == {("customerspace.io", k, ()): {"create", "update", "patch", "delete", "deletecollection"}
                            for k in KINDS}
    assert aggregated(render({"rbac": {"aggregateToDefaultRoles": False}})) == {}


def test_rbac_can_be_left_to_the_cluster_admin():
    docs = render({"rbac": {"create": False, "aggregateToDefaultRoles": False}})
    assert [d for d in docs if d["kind"] in ROLE_KINDS or d["kind"].endswith("Binding")] == []
