#!/usr/bin/env python3
"""Checks that every metric the alert rules and the dashboard use is one the operator exports.

Usage (from the repository root):
  python tests/chart/metric_names.py --scrape scrape.txt          # a real /metrics scrape
  python tests/chart/metric_names.py --source src/metrics.rs ...  # names declared in the Rust sources

Exit status 1 lists the missing names. A scrape only shows labelled metrics that have been set at
least once, so scrape an operator that reconciled every kind (the demo does), not an idle one.
"""

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "charts" / "ccs-operator" / "files" / "alerts.yaml"
DASHBOARD = ROOT / "charts" / "ccs-operator" / "files" / "dashboard.json"
# Series Prometheus makes itself, not the operator.
PROMETHEUS_SERIES = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
            "and", "or", "unless", "offset", "inf", "nan"}


def names_in_promql(expr):
    """Metric names an expression selects: identifiers that are not functions, keywords or labels."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)  # label values
    text = re.sub(r"\{[^}]*\}", " ", text)  # matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, call = match.groups()
        if not call and name.lower() not in KEYWORDS:
            names.add(name)
    return names


def rules_expressions(path=RULES):
    import yaml  # only the rule file needs it; the CLI stays usable without it for dashboards

    groups = yaml.safe_load(Path(path).read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    recorded = {r["record"] for r in rules if "record" in r}
    return [r["expr"] for r in rules], recorded


def dashboard_expressions(path=DASHBOARD):
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    exprs.append(re.sub(r"^label_values\((\w+),.*\)$", r"\1", value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(Path(path).read_text()))
    return exprs


def used_names(rules_path=RULES, dashboard_path=DASHBOARD):
    """{metric name: [where used]} for names the operator must export (recorded series excluded)."""
    rule_exprs, recorded = rules_expressions(rules_path)
    used = {}
    for where, exprs in (("rules", rule_exprs), ("dashboard", dashboard_expressions(dashboard_path))):
        for expr in exprs:
            for name in names_in_promql(expr) - recorded - PROMETHEUS_SERIES:
                used.setdefault(name, set()).add(where)
    return {name: sorted(places) for name, places in used.items()}


def exported_from_scrape(text):
    """Series names a Prometheus text exposition offers (histograms with their suffixes)."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()[:4]
            names |= {name + s for s in HISTOGRAM_SUFFIXES} if kind in ("histogram", "summary") else {name}
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][\w:]*", line).group(0))
    return names


def exported_from_sources(paths):
    """Series names declared in Rust sources: "ccs_..." literals, histograms given to HistogramOpts."""
    names = set()
    for path in paths:
        text = Path(path).read_text()
        histograms = set(re.findall(r'HistogramOpts::new\(\s*"(ccs_\w+)"', text))
        for name in re.findall(r'"(ccs_\w+)"', text):
            names |= {name + s for s in HISTOGRAM_SUFFIXES} if name in histograms else {name}
    return names


def missing(used, exported):
    return sorted(name for name in used if name not in exported)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--scrape", type=Path, help="a /metrics scrape in the Prometheus text format")
    group.add_argument("--source", type=Path, nargs="+", help="Rust files declaring the metrics")
    args = parser.parse_args(argv)
    exported = exported_from_scrape(args.scrape.read_text()) if args.scrape else exported_from_sources(args.source)
    used = used_names()
    absent = missing(used, exported)
    for name in absent:
        print(f"missing: {name} (used by {', '.join(used[name])})")
    print(f"{len(used) - len(absent)}/{len(used)} metric names used by the rules and the dashboard are exported")
    return 1 if absent else 0


if __name__ == "__main__":
    sys.exit(main())
