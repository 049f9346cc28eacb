"""What explaining, rendering and sizing one report costs, without the reading around it.

Usage::

    python bench/explain_stages.py [--mb 80] [--passes 15] [--before SRC] [DENSE_LOG]

``per_report.py`` times whole scans and subtracts: the reading (~0.6 ms a report) and its noise
(15-25 % on this shared machine) swamp the ~0.2 ms of the stages after it. Here each worker
reads the first ``--mb`` MB of the dense log once, keeps its events, and then times only the stages over them, as per_report.py's
pipelines make them (``explain``; ``json`` = + the event's JSON; ``scan`` = + sizing), each run
with minfree's memos emptied and each event's trace lines first asked of ``trace_line_kind`` (as
the assembler did just before, in a scan). Runs alternate between this tree and ``--before``;
the stages in a new order each pass; the lowest of ``--passes`` is kept, less the run that only
asks the trace lines.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import per_report

STAGES = ("explain", "json", "scan")


def _worker(path: Path, size: int) -> None:
    """Answer a stage name per stdin line with "SECONDS REPORTS"."""
    from minfree.logs.scanner import LogScanner
    from minfree.logs.trace import trace_line_kind

    events: list = []
    LogScanner("bench", events.append).scan_buffer(per_report._slice(path, size))
    pipelines = {**per_report._pipelines(), "none": lambda event: None}
    gc.collect()   # not gc.freeze(): per_report._forget finds the memos to empty among gc's objects
    for request in sys.stdin:
        stage = pipelines[request.strip()]
        per_report._forget()
        start = time.process_time()
        for event in events:
            for line in event.trace_lines:
                trace_line_kind(line)
            stage(event)
        print(time.process_time() - start, len(events), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dense", nargs="?", default=str(per_report.OUT / "scan-1G-5000-dmesg.log"))
    parser.add_argument("--mb", type=int, default=80)
    parser.add_argument("--passes", type=int, default=15)
    parser.add_argument("--before", metavar="SRC", help="the src directory of another checkout")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(Path(args.dense), args.mb * 1_000_000)
        return 0
    trees = {"this tree": None, **({"before": args.before} if args.before else {})}
    workers = {}
    for who, src in trees.items():
        env = dict(os.environ, **({"PYTHONPATH": src} if src else {}))
        workers[who] = subprocess.Popen([sys.executable, __file__, "--mb", str(args.mb), "--worker", args.dense],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    best: dict[str, dict[str, float]] = {who: {} for who in workers}
    reports = 0
    order = ["none", *STAGES]
    for _ in range(args.passes):
        random.shuffle(order)   # a busy spell of the machine does not always hit the same stage
        for stage in order:
            for who, worker in workers.items():
                worker.stdin.write(stage + "\n")
                worker.stdin.flush()
                seconds, count = worker.stdout.readline().split()
                reports = int(count)
                best[who][stage] = min(float(seconds), best[who].get(stage, float("inf")))
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()
    print(f"{reports} reports of {args.mb} MB, lowest of {args.passes} runs each (process_time, interleaved)")
    per = {who: {s: (b[s] - b["none"]) / reports * 1e6 for s in STAGES} for who, b in best.items()}
    for who, stages in per.items():
        print(f"{who:10} " + "  ".join(f"{s} {us:6.1f} us" for s, us in stages.items()))
    if args.before:
        print("this tree / before: " + ", ".join(f"{s} {per['this tree'][s] / per['before'][s]:.2f}x" for s in STAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
