"""What one failure report costs `minfree scan`, stage by stage (issue 10).

Usage::

    python bench/per_report.py [--mb 200] [--passes 7] [--before SRC] [--profile FILE] \\
        [DENSE_LOG [SPARSE_LOG]]

Reads the first ``--mb`` MB of a log with many reports (default the generated
``bench/out/scan-1G-5000-dmesg.log``) and of one with few (``...-200-...``), cut at a line
end, and scans each in one process (``LogScanner.scan_buffer``, as the mapped-file path does),
timing ``time.process_time()`` around four pipelines:

  read     the line pipeline only (prepare does nothing)
  explain  + ``explain_event``
  json     + ``JsonStream.prepare`` (the event's JSON)
  scan     + what `scan --json` does besides (sizing: ``consider`` and ``evidence``)

Each run starts with minfree's memoised functions emptied (``functools`` caches), so what is
made once per distinct trace or frame is paid as in a real scan. ``--before SRC`` (the ``src``
of another checkout) runs the same pipelines in a second worker process, alternating run by
run with this one, so that the noise of a shared machine hits both alike. Every pipeline runs
``--passes`` times per log and worker; the lowest time is kept.

The per-report figure of a stage is (dense - sparse) / (reports in dense - reports in sparse):
what does not depend on reports (the prefilter, newline counts) cancels out. The Python
function calls per report of the ``scan`` pipeline (counted by cProfile, the same on every run)
are printed too: on a busy machine they show a change that the times cannot. ``--profile``
writes a cProfile of the ``scan`` pipeline over the dense slice (this tree only).
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
PIPELINES = ("read", "explain", "json", "scan")


def _slice(path: Path, size: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(size)
    return data[: data.rfind(b"\n") + 1]


def _pipelines():
    from minfree.analysis.explain import event_kernel, explain_event
    from minfree.analysis.log_sizing import StreamSizing, evidence
    from minfree.render.scan_json import JsonStream

    out = JsonStream(sys.stdout)
    sizing = StreamSizing()

    def explain(event):
        return explain_event(event, event_kernel(event, None))

    def json_(event):
        return out.prepare(explain(event))

    def scan(event):
        explained = explain(event)
        sizing.consider(explained, 0)
        return out.prepare(explained), evidence(explained)

    return {"read": None, "explain": explain, "json": json_, "scan": scan}


def _forget() -> None:
    """Empty every memoised minfree function: each run pays what a fresh scan pays."""
    for thing in gc.get_objects():
        memo = isinstance(thing, functools._lru_cache_wrapper) or hasattr(type(thing), "cache_clear")   # or a map of memdump's
        if memo and (getattr(thing, "__module__", "") or "").startswith("minfree"):
            thing.cache_clear()


def _run(data: bytes, prepare) -> tuple[float, int]:
    from minfree.logs.scanner import LogScanner

    found = []
    scanner = LogScanner("bench", found.append, prepare=prepare)
    start = time.process_time()
    scanner.scan_buffer(data)
    return time.process_time() - start, len(found)


def _worker(logs: dict[str, bytes]) -> None:
    """Answer "PIPELINE LABEL" lines on stdin with "SECONDS REPORTS"."""
    pipelines = _pipelines()
    _run(logs["sparse"], pipelines["scan"])   # once per process: imports, regex compiles (not timed)
    for request in sys.stdin:
        name, label = request.split()
        _forget()
        if name == "calls":   # function calls of the whole scan pipeline: a measure free of noise
            profiler = cProfile.Profile()
            _, count = profiler.runcall(_run, logs[label], pipelines["scan"])
            profiler.create_stats()
            print(sum(calls for calls, *_ in profiler.stats.values()), count, flush=True)
            continue
        seconds, count = _run(logs[label], pipelines[name])
        print(seconds, count, flush=True)


class _Worker:
    def __init__(self, args: argparse.Namespace, src: str | None) -> None:
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = src
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--mb", str(args.mb), "--worker", args.dense, args.sparse],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def run(self, name: str, label: str) -> tuple[float, int]:
        self.process.stdin.write(f"{name} {label}\n")
        self.process.stdin.flush()
        seconds, count = self.process.stdout.readline().split()
        return float(seconds), int(count)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _table(title: str, best: dict[tuple[str, str], float], reports: dict[str, int]) -> dict[str, float]:
    extra = reports["dense"] - reports["sparse"]
    print(f"{title}\n{'pipeline':10} {'dense s':>8} {'sparse s':>9} {'per report':>11} {'stage':>8}")
    per_report, previous = {}, 0.0
    for name in PIPELINES:
        per = (best[name, "dense"] - best[name, "sparse"]) / extra * 1e3
        print(f"{name:10} {best[name, 'dense']:8.3f} {best[name, 'sparse']:9.3f} {per:9.3f}ms {per - previous:6.3f}ms")
        per_report[name], previous = per, per
    return per_report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dense", nargs="?", default=str(OUT / "scan-1G-5000-dmesg.log"))
    parser.add_argument("sparse", nargs="?", default=str(OUT / "scan-1G-200-dmesg.log"))
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--before", metavar="SRC", help="the src directory of another checkout")
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.passes < 1 or args.mb < 1:
        parser.error("--passes and --mb are at least 1")
    size = args.mb * 1_000_000
    if args.worker:
        _worker({"dense": _slice(Path(args.dense), size), "sparse": _slice(Path(args.sparse), size)})
        return 0
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_run, _slice(Path(args.dense), size), _pipelines()["scan"])
        profiler.dump_stats(args.profile)
    workers = {"this tree": _Worker(args, None)}
    if args.before:
        workers["before"] = _Worker(args, args.before)
    best: dict[str, dict[tuple[str, str], float]] = {who: {} for who in workers}
    reports: dict[str, int] = {}
    for _ in range(args.passes):
        for name in PIPELINES:
            for label in ("dense", "sparse"):
                for who, worker in workers.items():
                    seconds, count = worker.run(name, label)
                    if reports.setdefault(label, count) != count:
                        raise SystemExit(f"{who} found {count} reports in the {label} slice, not {reports[label]}")
                    best[who][name, label] = min(seconds, best[who].get((name, label), seconds))
    calls = {who: {label: worker.run("calls", label)[0] for label in ("dense", "sparse")}
             for who, worker in workers.items()}
    for worker in workers.values():
        worker.close()
    print(f"{args.mb} MB slices: {reports['dense']} reports vs {reports['sparse']}; lowest of "
          f"{args.passes} runs each (process_time, runs interleaved)")
    results = {who: _table(who, best[who], reports) for who in workers}
    extra = reports["dense"] - reports["sparse"]
    for who in workers:
        print(f"{who}: {(calls[who]['dense'] - calls[who]['sparse']) / extra:,.0f} Python function calls per report (scan)")
    if args.before:
        print("per report, this tree / before: " + ", ".join(
            f"{name} {results['this tree'][name] / results['before'][name]:.2f}x" for name in PIPELINES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
