"""The Grafana dashboard: well formed, covers what issue 7 asks, and every query is valid PromQL."""

import json
import re
import subprocess

import pytest
import yaml

from conftest import CHART

DASHBOARD = json.loads((CHART / "files" / "dashboard.json").read_text())
PANELS = [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def test_panels_have_unique_ids_and_fit_the_grid():
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    for p in DASHBOARD["panels"]:
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p["title"]


def test_every_panel_queries_the_selectable_datasource():
    assert DASHBOARD["templating"]["list"][0] == {**DASHBOARD["templating"]["list"][0], "name": "datasource",
                                                 "type": "datasource", "query": "prometheus"}
    for p in PANELS:
        assert p["datasource"]["uid"] == "${datasource}" and p["targets"], p["title"]
        assert all(t["expr"].strip() for t in p["targets"]), p["title"]


@pytest.mark.parametrize("title", [
    "Spend vs budget per contract", "Platform weather", "Open incidents per contract", "Orders by state",
    "Reconcile errors by kind and category", "Portal latency p95", "Portal errors",
])
def test_dashboard_has_the_panels_issue_7_asks_for(title):
    assert title in {p["title"] for p in PANELS}


def test_weather_panel_maps_every_weather_value():
    weather = next(p for p in PANELS if p["title"] == "Platform weather")
    names = {o["text"] for m in weather["fieldConfig"]["defaults"]["mappings"] for o in m["options"].values()}
    assert names == {"Sunny", "Cloudy", "Rainy", "Stormy", "Unknown"}


def expressions():
    """Every PromQL of the dashboard with Grafana's variables replaced by what Grafana sends."""
    exprs = [t["expr"] for p in PANELS for t in p["targets"]]
    exprs += [re.sub(r"^label_values\((\w+),.*\)$", r"\1", v["definition"])
              for v in DASHBOARD["templating"]["list"] if v["type"] == "query"]
    return [e.replace("$__rate_interval", "5m").replace("$namespace", ".*") for e in exprs]


def test_every_query_is_valid_promql(tmp_path):
    # promtool parses PromQL when checking rules: wrap each query in a recording rule.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(expressions())]}]}
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
