"""Benchmark a cold `minfree doctor --window 0 --json` against the 250 ms median bar.

Usage::

    python bench/bench_doctor.py [--runs 5] [--minfree "CMD"]

"Cold" means a new process each run (interpreter start, imports, reading /proc and /sys);
no cache is dropped. Exit codes 0-3 are doctor's verdicts (monitoring-plugin convention)
and count as successful runs; anything else, or output that is not JSON, is an error.
Exit status: 0 when the median is within the bar and every run succeeded, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree, run_timed

DOCTOR_BAR_SECONDS = 0.250
DOCTOR_EXIT_CODES = {0, 1, 2, 3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cold minfree doctor wall time vs 250 ms")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--minfree", help='command for minfree, e.g. "python -m minfree"')
    args = parser.parse_args(argv)

    OUT_DIR.mkdir(exist_ok=True)
    command = [*resolve_minfree(args.minfree), "doctor", "--window", "0", "--json"]
    output = OUT_DIR / "doctor.json"
    runs = [run_timed(command, output) for _ in range(args.runs)]
    errors = []
    for number, run in enumerate(runs, 1):
        if run.exit_code not in DOCTOR_EXIT_CODES:
            errors.append(f"run {number}: exit {run.exit_code}")
    try:
        json.loads(output.read_text())
    except ValueError as exc:
        err = Path(f"{output}.err").read_text(errors="replace").strip().splitlines()
        errors.append(f"last output is not JSON ({exc}){': ' + err[-1] if err else ''}")

    median = statistics.median(r.seconds for r in runs)
    within = median <= DOCTOR_BAR_SECONDS
    verdict = "FAIL (errors below)" if errors else ("PASS" if within else "FAIL")
    print(f"doctor benchmark: {shlex.join(command)}")
    print("runs (ms): " + " ".join(f"{r.seconds * 1000:.0f}" for r in runs))
    print(f"median {median * 1000:.0f} ms (bar {DOCTOR_BAR_SECONDS * 1000:.0f} ms)  "
          f"{verdict}; peak RSS {max(r.peak_rss_kb for r in runs) / 1024:.1f} MiB")
    for error in errors:
        print(f"error: {error}")
    return 0 if within and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
