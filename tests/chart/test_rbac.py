"""Least-privilege RBAC in both modes, and the aggregated roles for cluster users."""

import pytest

from conftest import NAMESPACE, VALUE_SETS, of_kind, render

KINDS = ["cloudcontracts", "portalusers", "budgetalerts", "serviceorders", "consoleaccesses", "billingexports"]
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
    # Read credentials; create and apply the ConsoleAccess password Secret (never update/delete).
    ("", "secrets", ()): {"get", "list", "watch", "create", "patch"},
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


# --- Rule by rule ------------------------------------------------------------------------------
# Every rule of every role bound to the operator, exactly: the groups, resources, names and verbs
# of each rule, in both modes. A new verb, resource or rule fails here and must be argued for.

RULE_KEYS = {"apiGroups", "resources", "resourceNames", "verbs"}


def rule_set(role):
    """The rules of a role as a sorted list of (groups, resources, names, verbs) tuples."""
    out = []
    for rule in role["rules"]:
        assert set(rule) <= RULE_KEYS, f"unexpected rule fields in {role['metadata']['name']}: {sorted(set(rule) - RULE_KEYS)}"
        out.append((tuple(sorted(rule["apiGroups"])), tuple(sorted(rule["resources"])),
                    tuple(sorted(rule.get("resourceNames", ()))), tuple(sorted(rule["verbs"]))))
    assert len(out) == len(set(out)), f"duplicate rules in {role['metadata']['name']}"
    return sorted(out)


def kinds_with(suffix=""):
    return tuple(sorted(f"{k}{suffix}" for k in KINDS))


# The operator's rules wherever it watches: its kinds (read, patch for finalizers and spec-side
# annotations), their status and finalizers, credentials Secrets read-only (metadata watch plus one
# get per client), and Events.
OPERATOR_RULES = sorted([
    (("customerspace.io",), kinds_with(), (), ("get", "list", "patch", "update", "watch")),
    (("customerspace.io",), kinds_with("/status"), (), ("get", "patch", "update")),
    (("customerspace.io",), kinds_with("/finalizers"), (), ("patch", "update")),
    (("",), ("secrets",), (), ("get", "list", "watch")),
    # ConsoleAccess GeneratedSecret: the owned Secret of initial passwords.
    (("",), ("secrets",), (), ("create", "patch")),
    (("events.k8s.io",), ("events",), (), ("create", "patch")),
])


def lease_rules(lease):
    # `create` cannot be limited by name (the name is not known to RBAC before the object exists);
    # everything else is limited to the release's own Lease.
    return sorted([
        (("coordination.k8s.io",), ("leases",), (), ("create",)),
        (("coordination.k8s.io",), ("leases",), (lease,), ("get", "patch", "update")),
    ])


# The status page in proxy mode asks whether a viewer may list a namespace's contracts.
ACCESS_REVIEW_RULES = [(("authorization.k8s.io",), ("subjectaccessreviews",), (), ("create",))]


def bound_rules(values):
    return {key: rule_set(role) for key, role in operator_roles(render(values)).items()}


def test_cluster_wide_mode_rules_exactly():
    assert bound_rules({}) == {
        ("ClusterRole", None, "ccs-ccs-operator"): OPERATOR_RULES,
        ("Role", NAMESPACE, "ccs-ccs-operator-leader-election"): lease_rules("ccs-ccs-operator"),
    }


def test_namespaced_mode_rules_exactly():
    assert bound_rules(VALUE_SETS["namespaced"]) == {
        ("Role", "team-a", "ccs-ccs-operator"): OPERATOR_RULES,
        ("Role", "team-b", "ccs-ccs-operator"): OPERATOR_RULES,
        ("Role", NAMESPACE, "ccs-ccs-operator-leader-election"): lease_rules("ccs-ccs-operator"),
    }
    docs = render(VALUE_SETS["namespaced"])
    assert of_kind(docs, "ClusterRoleBinding") == [], "nothing bound cluster-wide in namespaced mode"
    # The only ClusterRoles left are the aggregated ones for users, bound to nobody by the chart.
    assert {r["metadata"]["name"] for r in of_kind(docs, "ClusterRole")} == set(aggregated(docs))


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_values_set_uses_only_the_known_rules(name):
    values = VALUE_SETS[name]
    election = values.get("config", {}).get("leaderElection", {})
    lease = election.get("leaseName") or "ccs-ccs-operator"
    known = set(OPERATOR_RULES) | set(lease_rules(lease))
    if values.get("config", {}).get("web", {}).get("auth") == "proxy":
        known |= set(ACCESS_REVIEW_RULES)
    for key, rules in bound_rules(values).items():
        assert set(rules) <= known, (key, sorted(set(rules) - known))


def test_bindings_bind_only_the_operator_service_account_in_their_own_namespace():
    for values in (VALUE_SETS["defaults"], VALUE_SETS["namespaced"]):
        docs = render(values)
        for binding in of_kind(docs, "RoleBinding"):
            ref = binding["roleRef"]
            assert ref["apiGroup"] == "rbac.authorization.k8s.io" and ref["kind"] == "Role", binding
            role = [r for r in of_kind(docs, "Role") if r["metadata"]["name"] == ref["name"]
                    and r["metadata"]["namespace"] == binding["metadata"]["namespace"]]
            assert len(role) == 1, f"{binding['metadata']} binds a Role of another namespace"
        for binding in of_kind(docs, "ClusterRoleBinding"):
            assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                          "name": "ccs-ccs-operator"}, binding


# --- `kubectl auth can-i`, evaluated on the rendered roles ---------------------------------------

def can_i(values, verb, resource, namespace, name=None, group=None):
    """Whether the operator's ServiceAccount may `verb` `resource` (in `namespace`, `None` for a
    cluster-scoped request), per the roles the chart binds to it (RBAC's rules: a ClusterRole bound
    cluster-wide applies everywhere, a Role only in its namespace; resourceNames limit by name)."""
    if group is None:
        group = {"secrets": "", "events": "events.k8s.io", "leases": "coordination.k8s.io"}.get(
            resource, "customerspace.io")
    for (kind, ns, _), role in operator_roles(render(values)).items():
        if kind == "Role" and ns != namespace:
            continue
        for rule in role["rules"]:
            names = rule.get("resourceNames")
            if (group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
                    and (not names or name in names)):
                return True
    return False


WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"]
MODES = {"cluster-wide": (VALUE_SETS["defaults"], ["team-a", "team-b", "kube-system", NAMESPACE]),
         "namespaced": (VALUE_SETS["namespaced"], ["team-a", "team-b"])}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_secrets_are_read_only_and_only_where_watched(mode):
    values, watched = MODES[mode]
    for ns in watched:
        for verb in ["get", "list", "watch"]:
            assert can_i(values, verb, "secrets", ns), (verb, ns)
        # Creating and applying the ConsoleAccess password Secret; never update or delete.
        for verb in ["create", "patch"]:
            assert can_i(values, verb, "secrets", ns), (verb, ns)
        for verb in ["update", "delete", "deletecollection"]:
            assert not can_i(values, verb, "secrets", ns), f"{verb} secrets in {ns}"
    if mode == "namespaced":
        for ns in ["kube-system", NAMESPACE, "team-c"]:
            assert not can_i(values, "get", "secrets", ns), ns
            assert not can_i(values, "list", "secrets", ns), ns


@pytest.mark.parametrize("mode", sorted(MODES))
def test_leases_only_the_releases_own_in_the_release_namespace(mode):
    values, watched = MODES[mode]
    lease = "ccs-ccs-operator"
    for verb in ["get", "patch", "update"]:
        assert can_i(values, verb, "leases", NAMESPACE, lease), verb
        assert not can_i(values, verb, "leases", NAMESPACE, "another-release"), verb
    assert can_i(values, "create", "leases", NAMESPACE)
    for verb in ["list", "watch", "delete", "deletecollection"]:
        assert not can_i(values, verb, "leases", NAMESPACE, lease), verb
    for ns in [n for n in watched if n != NAMESPACE] + ["kube-system", None]:
        for verb in ["get", "create", "patch", "update"]:
            assert not can_i(values, verb, "leases", ns, lease), (verb, ns)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_operator_never_creates_or_deletes_its_kinds(mode):
    values, watched = MODES[mode]
    for ns in watched:
        for kind in KINDS:
            for verb in ["get", "list", "watch", "patch", "update"]:
                assert can_i(values, verb, kind, ns), (verb, kind, ns)
            for verb in ["create", "delete", "deletecollection"]:
                assert not can_i(values, verb, kind, ns), (verb, kind, ns)
            assert can_i(values, "patch", f"{kind}/status", ns)
            assert not can_i(values, "create", f"{kind}/status", ns)
        assert can_i(values, "create", "events", ns)
        assert not can_i(values, "delete", "events", ns)
        # The core-group Events API is not used (events.k8s.io only).
        assert not can_i(values, "create", "events", ns, group="")


@pytest.mark.parametrize("mode", sorted(MODES))
def test_nothing_else_is_granted(mode):
    values, watched = MODES[mode]
    for ns in watched + [None]:
        for group, resource in [("", "pods"), ("", "configmaps"), ("", "serviceaccounts"), ("", "namespaces"),
                                ("", "serviceaccounts/token"), ("apps", "deployments"),
                                ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
                                ("rbac.authorization.k8s.io", "rolebindings"),
                                ("apiextensions.k8s.io", "customresourcedefinitions"),
                                ("authentication.k8s.io", "tokenreviews")]:
            for verb in ["get", "list", "create", "update", "patch", "delete", "escalate", "bind", "impersonate"]:
                assert not can_i(values, verb, resource, ns, group=group), (verb, group, resource, ns)
