"""The alert rules: promtool accepts and unit-tests them, and every alert is complete and tested."""

import shutil
import subprocess

import pytest
import yaml

from conftest import CHART, ROOT

RULES = CHART / "files" / "alerts.yaml"
RULE_TESTS = sorted((ROOT / "tests" / "alerts").glob("*.test.yaml"))
# The alerts issue 7 asks for, by the name a platform team will see.
REQUIRED = {
    "CcsBudgetThresholdExceeded": "budget threshold exceeded",
    "CcsBudgetForecastOverrun": "forecast exceeding budget",
    "CcsPlatformWeatherDegraded": "platform weather degraded",
    "CcsContractSyncFailing": "contract sync failing",
    "CcsPortalErrorRateHigh": "portal API error rate high",
    "CcsServiceOrderStuck": "order stuck",
    "CcsEmailDeliveryFailing": "email delivery failing",
    "CcsOperatorDown": "operator down",
}


def promtool(*args):
    assert shutil.which("promtool"), "promtool missing: .ci/chart-test installs Debian's prometheus package"
    result = subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def rules():
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def alerts():
    return {r["alert"]: r for r in rules() if "alert" in r}


def test_promtool_checks_the_rules():
    assert "SUCCESS" in promtool("check", "rules", str(RULES))


def test_promtool_unit_tests_pass():
    assert RULE_TESTS, "no tests/alerts/*.test.yaml"
    promtool("test", "rules", *map(str, RULE_TESTS))


def test_required_alerts_exist():
    assert set(REQUIRED) <= set(alerts())


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alert_has_severity_summary_description_and_runbook(name):
    rule = alerts()[name]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert {"summary", "description", "runbook"} <= set(rule["annotations"])


def unit_tests():
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            yield from test.get("alert_rule_test", [])


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_is_unit_tested_firing_and_quiet(name):
    cases = [c for c in unit_tests() if c["alertname"] == name]
    assert any(c.get("exp_alerts") for c in cases), f"{name}: no test where it fires"
    assert any(not c.get("exp_alerts") for c in cases), f"{name}: no test where it stays quiet"


def test_portal_metrics_are_named_in_the_recording_group_only():
    # The portal client's metric names may still change: they appear in one group, everything else
    # (alerts, dashboard) uses the recorded ccs:portal_* series.
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for group in groups:
        if group["name"] != "ccs-operator.portal.recording":
            assert "ccs_portal_" not in yaml.safe_dump(group), group["name"]
    assert "ccs_portal_" not in (CHART / "files" / "dashboard.json").read_text()
