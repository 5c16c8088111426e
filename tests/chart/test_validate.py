"""Rendered manifests and the chart's CRDs against the Kubernetes schemas (kubernetes-validate --strict)."""

import filecmp

import kubernetes_validate
import pytest
import yaml

from conftest import CHART, ROOT, render

KUBE_VERSION = "1.33.0"
# prometheus-operator kinds: kubernetes-validate bundles no schema for them. Skipped by kind, nothing else.
NO_BUNDLED_SCHEMA = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}


def validate(doc):
    if (doc["apiVersion"], doc["kind"]) in NO_BUNDLED_SCHEMA:
        return
    try:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, err.path))}: {err.message}")


def test_rendered_manifests_pass_strict_validation(values_set):
    _, values = values_set
    for doc in render(values):
        validate(doc)


def test_validation_catches_an_unknown_field():
    # Guards the test above: strict mode must reject a field the API would prune.
    deployment = next(d for d in render({}) if d["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


def crd_files(directory):
    return sorted(p.name for p in directory.glob("*.yaml"))


def test_chart_crds_are_identical_to_the_generated_ones():
    generated, shipped = ROOT / "crds", CHART / "crds"
    assert crd_files(shipped) == crd_files(generated) and crd_files(generated), "copy crds/*.yaml to the chart"
    _, mismatch, errors = filecmp.cmpfiles(generated, shipped, crd_files(generated), shallow=False)
    assert mismatch == [] and errors == [], f"stale chart CRDs {mismatch}: cp crds/*.yaml {shipped.relative_to(ROOT)}/"


def test_chart_crds_pass_strict_validation():
    for path in sorted((CHART / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            validate(doc)
