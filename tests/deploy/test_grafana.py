"""The Grafana dashboard: every query it holds is valid PromQL (promtool parses each as a
recording rule) and reads only metrics the exporter serves. Running them against a real
Prometheus is tests/commands/test_exporter_prometheus.py."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "minfree-dashboard.json"
PROMTOOL = shutil.which("promtool")
#: Grafana's variables, as a query sees them once Grafana has substituted them.
VARIABLES = {"$instance": "127.0.0.1:9723", "$zone": "Normal", "$__rate_interval": "1m"}


def dashboard_queries() -> list[str]:
    """Every query of the dashboard (panels, annotations, template variables), variables substituted."""
    doc = json.loads(DASHBOARD.read_text())
    found = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    found += [a["expr"] for a in doc["annotations"]["list"]]
    for var in doc["templating"]["list"]:
        query = var.get("query")
        if isinstance(query, dict):   # label_values(metric{...}, label): its selector is PromQL
            found.append(re.match(r"label_values\((.*),\s*\w+\)$", query["query"]).group(1))
    out = []
    for query in found:
        for name, value in VARIABLES.items():
            query = query.replace(name, value)
        assert "$" not in query, query
        out.append(query)
    return out


def test_dashboard_covers_what_the_issue_asks():
    titles = " | ".join(p["title"] for p in json.loads(DASHBOARD.read_text())["panels"])
    for words in ("vs watermarks", "Free blocks per order", "headroom", "failures"):
        assert words in titles
    heatmaps = [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] == "heatmap"]
    assert heatmaps and heatmaps[0]["targets"][0]["format"] == "heatmap"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: .ci/run installs Debian's prometheus")
def test_every_query_parses(tmp_path):
    queries = dashboard_queries()
    rules = "groups:\n  - name: dashboard\n    rules:\n" + "".join(
        f"      - record: dashboard:query_{i}\n        expr: {json.dumps(q)}\n" for i, q in enumerate(queries))
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(rules)
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


def test_queries_read_only_metrics_the_exporter_serves():
    from minfree.commands.exporter import Collector, _kernel_log
    from minfree.sources.root import SystemRoot

    kernel_log, gap = _kernel_log()
    served = {m.name + ("_total" if m.type == "counter" else "")
              for m in Collector(SystemRoot("/"), kernel_log, gap).collect()}
    for query in dashboard_queries():
        for metric in re.findall(r"\b(minfree_[a-z0-9_]+)", query):
            assert metric in served, (metric, query)
