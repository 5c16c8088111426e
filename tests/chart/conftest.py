"""Shared helpers of the chart tests: paths, the values sets every test renders, and rendering."""

import functools
import json
from pathlib import Path

import helm_python
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ccs-operator"
RELEASE, NAMESPACE = "ccs", "ops"

# The values sets rendered by the tests; each exercises a mode or an option of the chart.
VALUE_SETS = {
    "defaults": {},
    "namespaced": {"config": {"namespaces": ["team-a", "team-b"]}},
    "monitoring": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus"}},
        "prometheusRule": {"enabled": True},
        "networkPolicy": {
            "enabled": True,
            "metricsFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "egress": [{"ports": [{"port": 443, "protocol": "TCP"}, {"port": 587, "protocol": "TCP"}]}],
        },
    },
    "existing-smtp-secret": {
        "smtpPassword": {"existingSecret": "corp-smtp", "existingSecretKey": "smtp-password"},
        "config": {"smtp": {"host": "smtp.example.com", "port": 587, "tls": "starttls", "username": "ccs"}},
    },
    "created-smtp-secret-and-mail-dir": {
        "smtpPassword": {"password": "placeholder-not-a-secret"},
        "config": {"smtp": {"host": "smtp.example.com", "mailDir": "/var/mail/ccs"},
                   "leaderElection": {"leaseNamespace": "ops-leases"}},
    },
    "single-replica": {"replicaCount": 1, "config": {"leaderElection": {"enabled": False}}},
    "status-page": {"config": {"web": {"listen": "0.0.0.0:8081", "auth": "proxy"}}},
}


@functools.cache
def _chart():
    return helm_python.Chart.load(str(CHART))


def render_raw(values):
    """Template path -> rendered text, as `helm template` would print it."""
    return _chart().render(json.loads(json.dumps(values)), name=RELEASE, namespace=NAMESPACE)


@functools.cache
def _render_cached(key):
    docs = []
    for path, text in sorted(render_raw(json.loads(key)).items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def render(values):
    """Every rendered manifest (dicts), NOTES.txt left out."""
    return _render_cached(json.dumps(values, sort_keys=True))


def render_as(release, values):
    """Like `render`, for another release name (shards: several releases side by side)."""
    docs = []
    rendered = _chart().render(json.loads(json.dumps(values)), name=release, namespace=NAMESPACE)
    for path, text in sorted(rendered.items()):
        if not path.endswith("NOTES.txt"):
            docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind):
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


@pytest.fixture(params=sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def values_set(request):
    """(name, values) of every values set."""
    return request.param, VALUE_SETS[request.param]
