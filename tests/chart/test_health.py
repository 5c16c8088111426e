"""Health as Argo CD and Flux see it (issue 14), on objects captured from real end-to-end runs.

- Argo CD: every Lua script of charts/ccs-operator/files/argocd runs under Debian's lua5.1 (Argo
  CD's Lua is 5.1) on the cases of tests/argocd/<Kind>/health_test.yaml, Argo CD's own layout.
- Flux: the cli-utils kstatus rules, applied to the same objects, give the status of
  tests/argocd/kstatus.yaml (Current / InProgress / Failed).
- The chart README's argocd-cm snippet holds each script as shipped.

The testdata objects are written by the end-to-end test `health::every_kind_reports_...` with
CCS_CAPTURE_HEALTH=1; without it, that test checks them against a live run.
"""

import json
import shutil
import subprocess

import pytest
import yaml

from conftest import CHART, ROOT

SCRIPTS = CHART / "files" / "argocd"
CASES = ROOT / "tests" / "argocd"
KINDS = ["BudgetAlert", "CloudContract", "PortalUser", "ServiceOrder"]
HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended"}


def without_nulls(value):
    """Argo CD hands Lua no JSON nulls (they become nil); lua-cjson would make them userdata."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def lua_health(kind, obj):
    assert shutil.which("lua5.1"), "lua5.1 missing: .ci/test and .ci/chart-test install lua5.1 and lua-cjson"
    result = subprocess.run(
        ["lua5.1", str(CASES / "run.lua"), str(SCRIPTS / f"{kind}.lua")],
        input=json.dumps(without_nulls(obj)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def load(path):
    return yaml.safe_load(path.read_text())


def cases():
    for kind in KINDS:
        spec = load(CASES / kind / "health_test.yaml")
        for case in spec["tests"]:
            yield pytest.param(kind, case, id=f"{kind}-{case['inputPath']}")


def test_every_kind_has_a_script_and_test_cases_for_every_health():
    assert sorted(p.stem for p in SCRIPTS.glob("*.lua")) == KINDS
    for kind in KINDS:
        statuses = {c["healthStatus"]["status"] for c in load(CASES / kind / "health_test.yaml")["tests"]}
        assert statuses == HEALTH, f"{kind}: {statuses}"


@pytest.mark.parametrize("kind,case", list(cases()))
def test_argocd_lua_health(kind, case):
    obj = load(CASES / kind / case["inputPath"])
    assert obj["kind"] == kind
    assert lua_health(kind, obj) == case["healthStatus"]


def kstatus(obj):
    """cli-utils kstatus (pkg/kstatus/status): the generic rules, the only ones for custom resources."""
    meta = obj.get("metadata", {})
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if observed is not None and generation is not None and observed != generation:
        return "InProgress"
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    if conditions.get("Reconciling") == "True":
        return "InProgress"
    if conditions.get("Stalled") == "True":
        return "Failed"
    return "Current"


def kstatus_cases():
    for name, expected in sorted(load(CASES / "kstatus.yaml").items()):
        yield pytest.param(name, expected, id=name)


@pytest.mark.parametrize("name,expected", list(kstatus_cases()))
def test_flux_kstatus(name, expected):
    kind, case = name.split("/")
    obj = load(CASES / kind / "testdata" / f"{case}.yaml")
    assert kstatus(obj) == expected


def test_kstatus_expectations_cover_every_captured_object():
    captured = {f"{p.parent.parent.name}/{p.stem}" for p in CASES.glob("*/testdata/*.yaml")}
    assert captured == set(load(CASES / "kstatus.yaml"))


def test_kstatus_rules_match_argocd_on_failure_and_progress():
    """Both tools tell the same story: Failed is Degraded, InProgress is Progressing."""
    for kind in KINDS:
        for case in load(CASES / kind / "health_test.yaml")["tests"]:
            obj = load(CASES / kind / case["inputPath"])
            argo = case["healthStatus"]["status"]
            flux = kstatus(obj)
            if argo == "Degraded":
                assert flux == "Failed", (kind, case)
            if flux == "InProgress":
                assert argo == "Progressing", (kind, case)


def test_chart_readme_ships_each_script_in_the_argocd_cm_snippet():
    readme = (CHART / "README.md").read_text()
    for kind in KINDS:
        key = f"resource.customizations.health.customerspace.io_{kind}: |"
        assert key in readme, key
        block = readme.split(key, 1)[1].split("\n")[1:]
        lines = []
        for line in block:
            if line.strip() and not line.startswith("    "):
                break
            lines.append(line[4:])
        shipped = (SCRIPTS / f"{kind}.lua").read_text().strip()
        assert "\n".join(lines).strip() == shipped, f"{kind}: README snippet differs from files/argocd/{kind}.lua"
