"""A real Prometheus (Debian's) on loopback scrapes a real ``minfree exporter``: the series
arrive, a PromQL query returns the expected ones, the shipped rules load, and every query of
the Grafana dashboard runs (promtool query instant) and returns data."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from test_grafana import dashboard_queries  # noqa: E402

from hugetlb_squeeze import grow_pool_past_memory, hugetlb_pool, order9_failures_recorded, vmstat  # noqa: E402,F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
pytestmark = [
    pytest.mark.live, pytest.mark.slow,
    pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None,
                       reason="Debian's prometheus missing (.ci/run installs it)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def query(base: str, promql: str) -> list[dict]:
    doc = get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def wait(what, check, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prometheus")
    exporter_port, prom_port = free_port(), free_port()
    exporter = subprocess.Popen([sys.executable, "-m", "minfree", "exporter", "--listen", f"127.0.0.1:{exporter_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {ROOT / 'deploy' / 'prometheus' / 'minfree-rules.yml'}\n"
        "scrape_configs:\n  - job_name: minfree\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n")
    server = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp / "prometheus.log").open("w"))
    base = f"http://127.0.0.1:{prom_port}"
    try:
        wait("prometheus ready", lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=5).status == 200)
        # three scrapes at least: rate() and increase() need two samples in their window
        wait("three scrapes", lambda: len(query(base, 'count_over_time(up{job="minfree"}[1m])')) == 1
             and float(query(base, 'count_over_time(up{job="minfree"}[1m])')[0]["value"][1]) >= 3
             and query(base, 'up{job="minfree"}')[0]["value"][1] == "1")
        yield base, f"127.0.0.1:{exporter_port}"
    finally:
        for proc in (server, exporter):
            proc.terminate()
            proc.wait(timeout=30)


def test_query_returns_the_expected_series(prometheus):
    base, instance = prometheus
    result = query(base, 'minfree_atomic_request_ok{order="1"}')
    assert [(r["metric"]["instance"], r["metric"]["node"], r["metric"]["job"]) for r in result] == \
        [(instance, "0", "minfree")]
    assert result[0]["value"][1] in ("0", "1")
    normal = query(base, 'minfree_atomic_headroom_bytes{zone="Normal"}')
    assert sorted(int(r["metric"]["order"]) for r in normal) == list(range(11))


def test_rules_are_loaded(prometheus):
    base, _ = prometheus
    groups = get(f"{base}/api/v1/rules")["data"]["groups"]
    assert [g["name"] for g in groups] == ["minfree"]
    assert all(rule["health"] == "ok" for rule in groups[0]["rules"]), groups[0]["rules"]


def test_every_dashboard_query_runs_and_returns_data(prometheus):
    base, instance = prometheus
    for promql in dashboard_queries():
        promql = promql.replace("127.0.0.1:9723", instance)
        done = subprocess.run([PROMTOOL, "query", "instant", base, promql], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (promql, done.stderr)
        if "kernel_log" not in promql:   # failures and related messages exist only once logged
            assert done.stdout.strip(), promql


def scraped_after(base: str, promql: str, after: float) -> float:
    """The value of the one series ``promql`` selects in the first scrape Prometheus took after
    the wall-clock time ``after``."""
    found: list[float] = []

    def ready() -> bool:
        result = query(base, f"timestamp({promql})")
        if len(result) == 1 and float(result[0]["value"][1]) > after:
            (sample,) = query(base, f"{promql} and timestamp({promql}) > {after}")
            found.append(float(sample["value"][1]))
            return True
        return False

    wait(f"a scrape of {promql} after {after}", ready, seconds=30)
    return found[0]


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="the in-kernel counter and the squeeze need root")
def test_in_kernel_failures_rise_by_exactly_the_kernels_count(prometheus, hugetlb_pool):
    """A real squeeze (the hugetlb pool grown past memory: order-9 allocations that fail
    silently) while Prometheus scrapes the exporter: the order-9 series rises by what
    /proc/vmstat htlb_buddy_alloc_fail counted (exactly, unless something else failed at order 9), the silent failures the kernel log never shows."""
    base, instance = prometheus
    series = f'minfree_failed_allocations_total{{instance="{instance}", order="9"}}'
    assert query(base, f'minfree_failed_allocations_available{{instance="{instance}", method="ebpf"}}')
    with order9_failures_recorded() as recorded:
        kernel_before, now = vmstat("htlb_buddy_alloc_fail"), time.time()
        before = scraped_after(base, series, now)
        grow_pool_past_memory()
        kernel_after, now = vmstat("htlb_buddy_alloc_fail"), time.time()
        after = scraped_after(base, series, now)
    assert kernel_after - kernel_before >= 1
    recorded.bounds(kernel_after - kernel_before, after - before)
