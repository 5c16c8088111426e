"""helm lint --strict, the values schema, and what the rendered manifests wire together."""

import base64
import json

import helm_python
import pytest
import yaml

from conftest import CHART, NAMESPACE, RELEASE, ROOT, VALUE_SETS, of_kind, one, render, render_as, render_raw


def test_helm_lint_strict_passes_for_every_values_set(values_set):
    _, values = values_set
    report = helm_python.lint(str(CHART), values, strict=True, kube_version="v1.33.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


BAD_VALUES = {
    "typo in a config key": ({"config": {"portal": {"endpont": "https://x"}}}, "endpont"),
    "unknown top-level key": ({"replicas": 3}, "replicas"),
    "two replicas without leader election": (
        {"replicaCount": 2, "config": {"leaderElection": {"enabled": False}}}, "leaderElection/enabled"),
    "existing Secret and a password": ({"smtpPassword": {"existingSecret": "s", "password": "p"}}, "not"),
    "passwordFile set while the chart mounts a Secret": (
        {"smtpPassword": {"existingSecret": "s"}, "config": {"smtp": {"passwordFile": "/x"}}}, "passwordFile"),
    "unknown TLS mode": ({"config": {"smtp": {"tls": "ssl"}}}, "tls"),
    "duration the operator cannot parse": (
        {"config": {"controllers": {"budgetAlert": {"concurrency": 1, "pollInterval": "five minutes"}}}}, "pollInterval"),
    "zero concurrency": ({"config": {"controllers": {"portalUser": {"concurrency": 0, "pollInterval": "1m"}}}}, "concurrency"),
    "namespace that is not a DNS label": ({"config": {"namespaces": ["Team_A"]}}, "namespaces"),
    "listen address without a port": ({"config": {"server": {"listen": "0.0.0.0"}}}, "listen"),
    "portal endpoint that is not http(s)": ({"config": {"portal": {"endpoint": "ftp://portal"}}}, "endpoint"),
}


@pytest.mark.parametrize("values,needle", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values_naming_the_field(values, needle):
    with pytest.raises(helm_python.HelmValuesError) as err:
        render_raw(values)
    assert needle in str(err.value)


def rendered_config(docs):
    configmap = next(d for d in of_kind(docs, "ConfigMap") if "config.yaml" in d.get("data", {}))
    return yaml.safe_load(configmap["data"]["config.yaml"])


def without_nulls(tree):
    """Helm drops null values; the operator reads a missing key as its default (None)."""
    if isinstance(tree, dict):
        return {k: without_nulls(v) for k, v in tree.items() if v is not None}
    return tree


def test_default_config_is_the_documented_file():
    documented = without_nulls(yaml.safe_load((ROOT / "config" / "ccs-operator.yaml").read_text()))
    # The one difference: the Lease is named after the release, so shards never share one.
    documented["leaderElection"]["leaseName"] = f"{RELEASE}-ccs-operator"
    assert rendered_config(render({})) == documented


def test_shards_get_release_scoped_names_and_leases():
    first, second = (render_as(release, VALUE_SETS["namespaced"]) for release in ("shard-a", "shard-b"))
    names = [{(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
             for docs in (first, second)]
    assert names[0].isdisjoint(names[1]), names[0] & names[1]
    leases = [rendered_config(docs)["leaderElection"]["leaseName"] for docs in (first, second)]
    assert leases == ["shard-a-ccs-operator", "shard-b-ccs-operator"]


def key_paths(tree, prefix=""):
    if not isinstance(tree, dict):
        return set()
    paths = set()
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        paths.add(path)
        # Keys under operationRateLimits are operation names, free-form by design.
        if key != "operationRateLimits":
            paths |= key_paths(value, path)
    return paths


def test_config_only_has_keys_of_the_documented_file(values_set):
    # src/config.rs denies unknown fields: a key the file does not document would stop the operator.
    documented = key_paths(yaml.safe_load((ROOT / "config" / "ccs-operator.yaml").read_text()))
    _, values = values_set
    assert key_paths(rendered_config(render(values))) <= documented


def container(docs):
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    (operator,) = pod["containers"]
    return pod, operator


def test_deployment_is_hardened_and_probed(values_set):
    _, values = values_set
    pod, c = container(render(values))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(c["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(c["resources"]["limits"])
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["args"] == ["run", "--config", "/etc/ccs-operator/config.yaml"]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]}
    assert env == {"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/etc/ccs-operator/config.yaml"]["subPath"] == "config.yaml"
    assert "/tmp" in mounts, "a read-only root filesystem needs a writable /tmp"


def test_two_replicas_with_leader_election_by_default():
    docs = render({})
    assert one(docs, "Deployment")["spec"]["replicas"] == 2
    assert rendered_config(docs)["leaderElection"]["enabled"] is True


@pytest.mark.parametrize("listen", ["0.0.0.0:9090", "[::]:9090"])
def test_container_port_follows_the_listen_address(listen):
    _, c = container(render({"config": {"server": {"listen": listen}}}))
    assert c["ports"] == [{"name": "http", "containerPort": 9090, "protocol": "TCP"}]


def test_config_change_rolls_the_pods():
    def checksum(values):
        return one(render(values), "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert checksum({}) != checksum({"config": {"log": {"level": "debug"}}})


def smtp_volume(pod):
    return next((v for v in pod["volumes"] if v["name"] == "smtp-password"), None)


def test_existing_smtp_secret_is_mounted_and_configured():
    docs = render(VALUE_SETS["existing-smtp-secret"])
    pod, c = container(docs)
    assert smtp_volume(pod)["secret"]["secretName"] == "corp-smtp"
    assert smtp_volume(pod)["secret"]["items"] == [{"key": "smtp-password", "path": "password"}]
    mount = next(m for m in c["volumeMounts"] if m["name"] == "smtp-password")
    assert rendered_config(docs)["smtp"]["passwordFile"] == mount["mountPath"] + "/password"
    assert of_kind(docs, "Secret") == [], "an existing Secret is not re-created"


def test_created_smtp_secret_holds_the_password_and_is_mounted():
    docs = render(VALUE_SETS["created-smtp-secret-and-mail-dir"])
    pod, _ = container(docs)
    secret = one(docs, "Secret")
    assert base64.b64decode(secret["data"]["password"]).decode() == "placeholder-not-a-secret"
    assert smtp_volume(pod)["secret"]["secretName"] == secret["metadata"]["name"]
    assert rendered_config(docs)["smtp"]["passwordFile"] == "/etc/ccs-operator/smtp/password"


def test_no_smtp_password_means_no_secret_and_no_password_file():
    docs = render({})
    pod, _ = container(docs)
    assert smtp_volume(pod) is None and of_kind(docs, "Secret") == []
    assert "passwordFile" not in rendered_config(docs)["smtp"]


def test_mail_dir_is_writable():
    docs = render(VALUE_SETS["created-smtp-secret-and-mail-dir"])
    _, c = container(docs)
    assert any(m["mountPath"] == "/var/mail/ccs" and not m.get("readOnly") for m in c["volumeMounts"])


def test_service_pdb_and_monitors_select_the_operator_pods():
    docs = render(VALUE_SETS["monitoring"])
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(docs, "Service")
    selectors = [
        service["spec"]["selector"],
        one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= pod_labels.items()
    monitor = one(docs, "ServiceMonitor")["spec"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    # The alert rules match job="ccs-operator" and the object's own namespace label.
    assert service["metadata"]["labels"][monitor["jobLabel"]] == "ccs-operator"
    (endpoint,) = monitor["endpoints"]
    assert endpoint["honorLabels"] is True and endpoint["port"] == service["spec"]["ports"][0]["name"]


def test_network_policy_admits_only_the_metrics_port():
    policy = one(render(VALUE_SETS["monitoring"]), "NetworkPolicy")["spec"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == VALUE_SETS["monitoring"]["networkPolicy"]["metricsFrom"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["egress"][-1] == VALUE_SETS["monitoring"]["networkPolicy"]["egress"][0]


def ports(rule):
    return {(p["port"], p["protocol"]) for p in rule["ports"]}


def test_network_policy_is_on_by_default_limiting_egress_and_metrics():
    policy = one(render({}), "NetworkPolicy")["spec"]
    (ingress,) = policy["ingress"]
    assert ingress["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    dns, api, portal, smtp, s3 = policy["egress"]
    assert ports(s3) == {(443, "TCP")}
    assert ports(dns) == {(53, "TCP"), (53, "UDP")}
    assert ports(api) == {(443, "TCP"), (6443, "TCP")}
    assert ports(portal) == {(443, "TCP")}
    assert ports(smtp) == {(25, "TCP"), (465, "TCP"), (587, "TCP")}
    # No rule admits any port: port 80 (cloud metadata) and internal services stay unreachable.
    assert all(rule.get("ports") for rule in policy["egress"])
    # Addresses narrow a rule when given.
    pinned = one(render({"networkPolicy": {"portal": {"cidrs": ["203.0.113.10/32"], "ports": [443]}}}),
                 "NetworkPolicy")["spec"]["egress"][2]
    assert pinned["to"] == [{"ipBlock": {"cidr": "203.0.113.10/32"}}]
    open_egress = one(render({"networkPolicy": {"restrictEgress": False}}), "NetworkPolicy")["spec"]
    assert open_egress["policyTypes"] == ["Ingress"] and "egress" not in open_egress


OPTIONAL_KINDS = {"ServiceMonitor", "PrometheusRule"}


def test_optional_objects_are_off_by_default_and_on_when_asked():
    assert OPTIONAL_KINDS.isdisjoint(d["kind"] for d in render({}))
    assert OPTIONAL_KINDS <= {d["kind"] for d in render(VALUE_SETS["monitoring"])}
    assert "NetworkPolicy" not in {d["kind"] for d in render({"networkPolicy": {"enabled": False}})}


def test_prometheus_rule_is_the_rules_file():
    rule = one(render(VALUE_SETS["monitoring"]), "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())


def test_dashboard_configmap_carries_the_dashboard_for_the_sidecar():
    dashboards = [d for d in of_kind(render({}), "ConfigMap") if "ccs-operator.json" in d.get("data", {})]
    (dashboard,) = dashboards
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    source = json.loads((CHART / "files" / "dashboard.json").read_text())
    assert json.loads(dashboard["data"]["ccs-operator.json"]) == source
    assert [d for d in of_kind(render({"dashboard": {"enabled": False}}), "ConfigMap")
            if "ccs-operator.json" in d.get("data", {})] == []


def test_notes_name_the_rbac_mode():
    assert "all namespaces (ClusterRole)" in render_raw({})["ccs-operator/templates/NOTES.txt"]
    notes = render_raw(VALUE_SETS["namespaced"])["ccs-operator/templates/NOTES.txt"]
    assert "namespaces team-a, team-b (one Role each)" in notes


def test_billing_volume_is_mounted_at_the_volume_root_when_both_are_set():
    docs = render({"billingVolume": {"claimName": "billing-exports"},
                   "config": {"billing": {"volumeRoot": "/var/lib/ccs/billing"}}})
    pod, c = container(docs)
    assert any(m["mountPath"] == "/var/lib/ccs/billing" and not m.get("readOnly") for m in c["volumeMounts"])
    assert {"name": "billing", "persistentVolumeClaim": {"claimName": "billing-exports"}} in pod["volumes"]
    pod, c = container(render({"billingVolume": {"claimName": "billing-exports"}}))
    assert all(v["name"] != "billing" for v in pod["volumes"])
