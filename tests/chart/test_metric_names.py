"""Every metric the alert rules and the dashboard use is exported by the operator.

Today the exported names come from the Rust sources; once `ccs-operator run` exists, point
`exported_from_scrape` (or `metric_names.py --scrape`) at a real /metrics scrape instead.
"""

import subprocess
import sys

from conftest import ROOT
from metric_names import exported_from_scrape, exported_from_sources, missing, names_in_promql, used_names

# The operator's metrics, the state layer written from the caches at scrape time, the portal client's
# and the billing exports'.
METRIC_SOURCES = [ROOT / "src" / "metrics.rs", ROOT / "src" / "controllers" / "state_metrics" / "mod.rs",
                  ROOT / "src" / "portal" / "metrics.rs", ROOT / "src" / "billing" / "metrics.rs"]


def test_every_used_metric_is_declared_by_the_operator():
    absent_files = [str(p.relative_to(ROOT)) for p in METRIC_SOURCES if not p.exists()]
    assert not absent_files, f"metric sources missing: {absent_files}"
    used = used_names()
    assert missing(used, exported_from_sources(METRIC_SOURCES)) == []


def test_rules_and_dashboard_use_every_layer():
    used = used_names()
    for name in ["ccs_budget_used_ratio", "ccs_contract_weather", "ccs_orders", "ccs_reconcile_errors_total",
                 "ccs_reconcile_duration_seconds_bucket", "ccs_portal_requests_total",
                 "ccs_portal_request_duration_seconds_bucket", "ccs_emails_failed_total", "ccs_leader"]:
        assert name in used, name
    assert used["ccs_contract_weather"] == ["dashboard", "rules"]


def test_promql_names_leave_out_functions_labels_and_matcher_values():
    expr = ('sum by (kind, le) (rate(ccs_x_bucket{kind="ccs_not_a_metric",le=~"0.5"}[$__rate_interval]))'
            ' / ignoring (category) group_left ccs:recorded:rate5m > bool 0 unless on (kind) absent(up == 1)')
    assert names_in_promql(expr) == {"ccs_x_bucket", "ccs:recorded:rate5m", "up"}


SCRAPE = """\
# HELP ccs_reconcile_duration_seconds Duration of one reconcile, per kind.
# TYPE ccs_reconcile_duration_seconds histogram
ccs_reconcile_duration_seconds_bucket{kind="BudgetAlert",le="0.005"} 1
# TYPE ccs_leader gauge
ccs_leader 1
ccs_orders{state="Pending"} 2
"""


def test_scrape_parsing_expands_histograms_and_reads_samples():
    exported = exported_from_scrape(SCRAPE)
    assert {"ccs_reconcile_duration_seconds_sum", "ccs_reconcile_duration_seconds_count",
            "ccs_leader", "ccs_orders"} <= exported
    assert missing({"ccs_leader": [], "ccs_budget_spend": []}, exported) == ["ccs_budget_spend"]


def test_cli_reports_missing_names_from_a_scrape(tmp_path):
    scrape = tmp_path / "metrics.txt"
    scrape.write_text(SCRAPE)
    script = ROOT / "tests" / "chart" / "metric_names.py"
    result = subprocess.run([sys.executable, script, "--scrape", scrape], capture_output=True, text=True)
    assert result.returncode == 1 and "missing: ccs_budget_forecast_ratio (used by dashboard, rules)" in result.stdout
    full = tmp_path / "full.txt"
    full.write_text("".join(f"{name} 1\n" for name in used_names()))
    result = subprocess.run([sys.executable, script, "--scrape", full], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
