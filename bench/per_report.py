"""What one failure report costs `minfree scan`, stage by stage (issue 10).

Usage::

    python bench/per_report.py [--mb 200] [--passes 2] [--profile FILE] \\
        [DENSE_LOG [SPARSE_LOG]]

Reads the first ``--mb`` MB of a log with many reports (default the generated
``bench/out/scan-1G-5000-dmesg.log``) and of one with few (``...-200-...``), cut at a line
end, and scans each in this one process (``LogScanner.scan_buffer``, as the mapped-file path
does), timing ``time.process_time()`` around four pipelines, each ``--passes`` times, every
run in a fresh process (what is memoised per process, such as a trace's origin, is paid again
as in a real scan; the lowest time is kept: the machine is shared):

  read     the line pipeline only (prepare does nothing)
  explain  + ``explain_event``
  json     + ``JsonStream.prepare`` (the event's JSON)
  scan     + what `scan --json` does besides (sizing: ``consider`` and ``evidence``)

The per-report figure of a stage is (dense - sparse) / (reports in dense - reports in sparse):
what does not depend on reports (the prefilter, newline counts) cancels out. ``--profile``
writes a cProfile of the ``scan`` pipeline over the dense slice.
"""
from __future__ import annotations

import argparse
import cProfile
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _slice(path: Path, size: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(size)
    return data[: data.rfind(b"\n") + 1]


def _pipelines():
    from minfree.analysis.explain import event_kernel, explain_event
    from minfree.analysis.log_sizing import StreamSizing, evidence
    from minfree.render.scan_json import JsonStream

    out = JsonStream(sys.stdout)

    def explain(event):
        return explain_event(event, event_kernel(event, None))

    def json_(event):
        return out.prepare(explain(event))

    def scan(event):
        sizing = scan.sizing
        explained = explain(event)
        sizing.consider(explained, 0)
        return out.prepare(explained), evidence(explained)

    scan.sizing = StreamSizing()
    return {"read": None, "explain": explain, "json": json_, "scan": scan}


def _run(data: bytes, prepare) -> tuple[float, int]:
    from minfree.logs.scanner import LogScanner

    found = []
    scanner = LogScanner("bench", found.append, prepare=prepare)
    start = time.process_time()
    scanner.scan_buffer(data)
    return time.process_time() - start, len(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dense", nargs="?", default=str(OUT / "scan-1G-5000-dmesg.log"))
    parser.add_argument("sparse", nargs="?", default=str(OUT / "scan-1G-200-dmesg.log"))
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--one", nargs=2, metavar=("PIPELINE", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = args.mb * 1_000_000
    pipelines = _pipelines()
    if args.one:
        seconds, count = _run(_slice(Path(args.one[1]), size), pipelines[args.one[0]])
        print(seconds, count)
        return 0
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_run, _slice(Path(args.dense), size), pipelines["scan"])
        profiler.dump_stats(args.profile)
    best: dict[tuple[str, str], float] = {}
    reports: dict[str, int] = {}
    for _ in range(args.passes):
        for name in pipelines:
            for label, log in (("dense", args.dense), ("sparse", args.sparse)):
                child = subprocess.run([sys.executable, __file__, "--mb", str(args.mb), "--one", name, log],
                                       check=True, capture_output=True, text=True)
                seconds, count = float(child.stdout.split()[0]), int(child.stdout.split()[1])
                reports[label] = count
                best[name, label] = min(seconds, best.get((name, label), seconds))
    extra = reports["dense"] - reports["sparse"]
    print(f"{args.mb} MB slices: {reports['dense']} reports vs {reports['sparse']}; "
          f"best of {args.passes} passes, process_time")
    print(f"{'pipeline':10} {'dense s':>8} {'sparse s':>9} {'per report':>11} {'stage':>8}")
    previous = 0.0
    for name in pipelines:
        per = (best[name, "dense"] - best[name, "sparse"]) / extra * 1e3
        print(f"{name:10} {best[name, 'dense']:8.3f} {best[name, 'sparse']:9.3f} {per:9.3f}ms {per - previous:6.3f}ms")
        previous = per
    return 0


if __name__ == "__main__":
    sys.exit(main())
