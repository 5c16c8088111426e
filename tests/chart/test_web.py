"""The status page: off by default; with config.web.listen, its own Service, NetworkPolicy and
container port, and (proxy mode) the right to ask SubjectAccessReviews."""

import helm_python
import pytest

from conftest import CHART, of_kind, render

ON = {"config": {"web": {"listen": "0.0.0.0:8081", "auth": "proxy"}}}


def named(docs, kind, suffix):
    return [d for d in of_kind(docs, kind) if d["metadata"]["name"].endswith(suffix)]


def test_nothing_of_the_page_is_rendered_by_default():
    docs = render({})
    assert named(docs, "Service", "-web") == []
    assert named(docs, "NetworkPolicy", "-web") == []
    assert named(docs, "ClusterRole", "-access-review") == []
    ports = [p["name"] for d in of_kind(docs, "Deployment") for p in d["spec"]["template"]["spec"]["containers"][0]["ports"]]
    assert ports == ["http"]


def test_the_page_gets_its_service_port_and_a_policy_admitting_only_the_proxy():
    docs = render(ON)
    (service,) = named(docs, "Service", "-web")
    assert service["spec"]["ports"] == [{"name": "web", "port": 8081, "targetPort": "web", "protocol": "TCP"}]
    (deployment,) = of_kind(docs, "Deployment")
    ports = {p["name"]: p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ports == {"http": 8080, "web": 8081}
    (policy,) = named(docs, "NetworkPolicy", "-web")
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "web", "protocol": "TCP"}]
    assert rule["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "oauth2-proxy"}


def test_proxy_mode_may_create_subject_access_reviews_and_none_mode_may_not():
    (role,) = named(render(ON), "ClusterRole", "-access-review")
    assert role["rules"] == [{"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}]
    (binding,) = named(render(ON), "ClusterRoleBinding", "-access-review")
    assert binding["subjects"][0]["kind"] == "ServiceAccount"
    none = {"config": {"web": {"listen": "0.0.0.0:8081", "auth": "none"}}}
    assert named(render(none), "ClusterRole", "-access-review") == []


def test_listen_without_auth_is_refused_by_the_values_schema():
    with pytest.raises(Exception, match="auth"):
        render({"config": {"web": {"listen": "0.0.0.0:8081"}}})
