#!/usr/bin/env python3
"""CPU per scrape: ``minfree exporter`` beside Debian's prometheus-node-exporter, in one run.

node_exporter runs with only the collectors that read what minfree reads (buddyinfo,
zoneinfo, vmstat, meminfo, pressure). Both listen on loopback; the scrapes alternate, one to
each, so that both see the same machine at the same time. CPU is the kernel's own account of
each process (the sum of /proc/PID/task/*/schedstat run time, nanoseconds, every thread:
node_exporter's Go runtime threads count too).

    .venv/bin/python bench/bench_exporter.py [--scrapes 300] [--busy | --no-memo] [--json]

``--busy``: a child allocates, touches and frees 16-128 MiB over and over while the scrapes
run, so that the free lists change between scrapes as on a busy host (minfree's memos of
unchanged zones then miss, some of the time). ``--no-memo``: the worst case, every scrape as if
every zone and every family had changed since the last one (minfree started with its three
memos replaced by the functions they wrap). Prints per-scrape CPU of each, the ratio minfree / node_exporter (the bar: <= 1; exit 1
above it), and each exporter's series count. Needs prometheus-node-exporter (.ci/run
installs it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

NODE_EXPORTER = ("prometheus-node-exporter", "node_exporter")
COLLECTORS = ("buddyinfo", "zoneinfo", "vmstat", "meminfo", "pressure")
#: --no-memo: minfree's memos of unchanged inputs (zone depths, fragmentation indices, the
#: text of unchanged families) replaced by the plain functions before the exporter starts
NO_MEMO = """
import sys
from minfree.analysis import headroom
from minfree.model.depth import request_depths
from minfree.model.fragmentation import indices_by_order
from minfree.render import prometheus
headroom._zone_depths = request_depths
prometheus._indices = indices_by_order
prometheus._Layout.last_rows = property(lambda layout: None, lambda layout, rows: None)
from minfree.cli import main
sys.exit(main(sys.argv[1:]))
"""
#: --busy: memory churned between scrapes: a mapping of a random 16-128 MiB is touched, held
#: for 10 ms and freed, over and over, so the free lists differ from one scrape to the next
CHURN = """
import mmap, random, time
while True:
    size = random.randrange(16, 128) << 20
    m = mmap.mmap(-1, size)
    m.madvise(mmap.MADV_NOHUGEPAGE)   # order-0 pages: the low orders' lists change
    for i in range(0, size, 4096):
        m[i] = 1
    time.sleep(0.01)
    m.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ns(pid: int) -> int:
    """Run time of every thread of ``pid`` so far (schedstat: ns on CPU)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as handle:
                total += int(handle.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass   # a thread that ended: its time is lost to both sides alike
    return total


def scrape(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def wait_ready(url: str, proc: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        try:
            scrape(url)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not answer on {url}")


def series(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scrapes", type=int, default=300, help="scrapes of each exporter (default 300)")
    worst = parser.add_mutually_exclusive_group()
    worst.add_argument("--busy", action="store_true", help="churn memory while scraping (memos miss)")
    worst.add_argument("--no-memo", action="store_true", help="minfree without its memos: every scrape misses")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()
    binary = next((shutil.which(name) for name in NODE_EXPORTER if shutil.which(name)), None)
    if binary is None:
        print("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)", file=sys.stderr)
        return 2
    node_port, minfree_port = free_port(), free_port()
    node = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{node_port}", "--collector.disable-defaults",
         *(f"--collector.{c}" for c in COLLECTORS)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    minfree = subprocess.Popen(
        [sys.executable, *(("-c", NO_MEMO) if args.no_memo else ("-m", "minfree")), "exporter", "--listen", f"127.0.0.1:{minfree_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    churn = subprocess.Popen([sys.executable, "-c", CHURN]) if args.busy else None
    try:
        targets = {"node_exporter": (node, f"http://127.0.0.1:{node_port}/metrics"),
                   "minfree": (minfree, f"http://127.0.0.1:{minfree_port}/metrics")}
        for name, (proc, url) in targets.items():
            wait_ready(url, proc, name)
            for _ in range(10):   # warm-up: first reads, imports, the kernel log's first drain
                scrape(url)
        used = {name: 0 for name in targets}
        sizes = {}
        for _ in range(args.scrapes):
            for name, (proc, url) in targets.items():
                before = cpu_ns(proc.pid)
                sizes[name] = series(scrape(url))
                used[name] += cpu_ns(proc.pid) - before
        per = {name: used[name] / args.scrapes / 1e6 for name in targets}
        result = {
            "scrapes": args.scrapes,
            "cpu_ms_per_scrape": {name: round(value, 3) for name, value in per.items()},
            "ratio_minfree_to_node_exporter": round(per["minfree"] / per["node_exporter"], 2),
            "series": sizes,
            "node_exporter_collectors": list(COLLECTORS),
            "busy": args.busy,
            "no_memo": args.no_memo,
        }
    finally:
        for proc in (node, minfree, churn):
            if proc is None:
                continue
            proc.terminate()
            proc.wait(timeout=10)
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("minfree", "node_exporter"):
            print(f"{name:14} {per[name]:7.3f} ms CPU per scrape, {sizes[name]} series")
        print(f"ratio minfree / node_exporter: {result['ratio_minfree_to_node_exporter']} (bar: <= 1)")
    return 0 if per["minfree"] <= per["node_exporter"] else 1


if __name__ == "__main__":
    sys.exit(main())
