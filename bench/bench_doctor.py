"""Cold `minfree doctor --window 0 --json` against the floor: a Python process that only reads
the same files (DESIGN.md speed bar: doctor's median at most 3x the floor's).

Usage::

    python bench/bench_doctor.py [--runs 11] [--minfree "CMD"] [--baseline "CMD"]

"Cold" means a new process each run (interpreter start, imports, reading /proc and /sys);
no cache is dropped. The floor is measured side by side, run for run (interleaved): the same
interpreter, started the same way, reading every file doctor read in the same order, listing
the same directories, following the same links and draining /dev/kmsg without blocking as
doctor does. The list is taken from one in-process doctor run through a recording root.
``--baseline`` runs a second minfree (e.g. an older checkout:
``--baseline "env PYTHONPATH=/tmp/old/src .venv/bin/python -m minfree"``) in the same rounds, so
that before and after are compared side by side; the verdict is the first one's.
Exit codes 0-3 are doctor's verdicts and count as successful runs; anything else, or output
that is not JSON, is an error. Exit status: 0 when the ratio is within the bar and every run
succeeded, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import sys
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree, run_timed

RATIO_BAR = 3.0
DOCTOR_EXIT_CODES = {0, 1, 2, 3}

# The floor: open and read each file, list each directory, read each link, stat each path,
# then drain /dev/kmsg without blocking: what doctor does, with no parsing and no imports.
FLOOR = r"""
import os, sys, json
ops = json.load(open(sys.argv[1]))
for op, path in ops:
    try:
        if op == "read":
            with open(path, "rb") as f: f.read()
        elif op == "list": os.listdir(path)
        elif op == "link": os.readlink(path)
        elif op == "exists": os.path.lexists(path)
    except OSError:
        pass
fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
while True:
    try:
        if not os.read(fd, 8192): break
    except BlockingIOError: break
    except BrokenPipeError: continue
os.close(fd)
"""


def doctor_operations() -> list[tuple[str, str]]:
    """What one in-process `doctor --window 0` does to the live root, in order."""
    from minfree.commands.doctor import diagnose
    from minfree.sources.root import SystemRoot

    ops: list[tuple[str, str]] = []

    class Recording(SystemRoot):
        __slots__ = ()

        def read_bytes(self, rel, *, optional=False):
            ops.append(("read", "/" + rel))
            return super().read_bytes(rel, optional=optional)

        def listdir(self, rel, *, optional=False):
            ops.append(("list", "/" + rel))
            return super().listdir(rel, optional=optional)

        def readlink(self, rel, *, optional=False):
            ops.append(("link", "/" + rel))
            return super().readlink(rel, optional=optional)

        def exists(self, rel):
            ops.append(("exists", "/" + rel))
            return super().exists(rel)

    with Recording("/") as root:
        diagnose(root, window=0)
    return ops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cold minfree doctor vs a read-only Python process")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--minfree", help='command for minfree, e.g. "python -m minfree"')
    parser.add_argument("--baseline", help="another minfree command measured in the same rounds (before/after)")
    args = parser.parse_args(argv)

    OUT_DIR.mkdir(exist_ok=True)
    ops_file = OUT_DIR / "doctor-floor-ops.json"
    ops = doctor_operations()
    ops_file.write_text(json.dumps(ops))
    minfree = resolve_minfree(args.minfree)
    doctor = [*minfree, "doctor", "--window", "0", "--json"]
    python = Path(minfree[0]).with_name("python") if Path(minfree[0]).name == "minfree" else Path(sys.executable)
    floor = [str(python if python.exists() else sys.executable), "-c", FLOOR, str(ops_file)]
    baseline = [*shlex.split(args.baseline), "doctor", "--window", "0", "--json"] if args.baseline else None
    output = OUT_DIR / "doctor.json"
    doctor_runs, floor_runs, baseline_runs = [], [], []
    cpu: dict[str, list[float]] = {"doctor": [], "floor": [], "baseline": []}

    def timed(name: str, argv: list[str], out: Path):
        """run_timed, and the CPU the run took (user + sys of every process it reaped)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = run_timed(argv, out)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return run

    for _ in range(args.runs):   # interleaved: drift hits all alike
        doctor_runs.append(timed("doctor", doctor, output))
        floor_runs.append(timed("floor", floor, OUT_DIR / "doctor-floor.out"))
        if baseline:
            baseline_runs.append(timed("baseline", baseline, OUT_DIR / "doctor-baseline.json"))
    errors = [f"doctor run {n}: exit {r.exit_code}" for n, r in enumerate(doctor_runs, 1)
              if r.exit_code not in DOCTOR_EXIT_CODES]
    errors += [f"floor run {n}: exit {r.exit_code}" for n, r in enumerate(floor_runs, 1) if r.exit_code]
    errors += [f"baseline run {n}: exit {r.exit_code}" for n, r in enumerate(baseline_runs, 1)
               if r.exit_code not in DOCTOR_EXIT_CODES]
    try:
        json.loads(output.read_text())
    except ValueError as exc:
        errors.append(f"last doctor output is not JSON ({exc})")

    doctor_median = statistics.median(r.seconds for r in doctor_runs)
    floor_median = statistics.median(r.seconds for r in floor_runs)
    ratio = doctor_median / floor_median
    within = ratio <= RATIO_BAR
    print(f"doctor: {shlex.join(doctor)}")
    print(f"floor:  the same interpreter reading the same {len(ops)} paths and /dev/kmsg")
    print("doctor runs (ms): " + " ".join(f"{r.seconds * 1000:.0f}" for r in doctor_runs))
    print("floor runs (ms):  " + " ".join(f"{r.seconds * 1000:.0f}" for r in floor_runs))
    print(f"median doctor {doctor_median * 1000:.0f} ms, floor {floor_median * 1000:.0f} ms: "
          f"{ratio:.2f}x (bar {RATIO_BAR:.0f}x)  {'FAIL (errors below)' if errors else 'PASS' if within else 'FAIL'}; "
          f"doctor peak RSS {max(r.peak_rss_kb for r in doctor_runs) / 1024:.1f} MiB")
    # for information: CPU time is less moved than wall time by other work on the machine
    cpu_median = {name: statistics.median(times) for name, times in cpu.items() if times}
    print(f"CPU (user+sys) medians: doctor {cpu_median['doctor'] * 1000:.0f} ms, floor "
          f"{cpu_median['floor'] * 1000:.0f} ms: {cpu_median['doctor'] / cpu_median['floor']:.2f}x"
          + (f"; baseline {cpu_median['baseline'] * 1000:.0f} ms" if "baseline" in cpu_median else ""))
    if baseline_runs:
        baseline_median = statistics.median(r.seconds for r in baseline_runs)
        print(f"baseline: {shlex.join(baseline)}")
        print("baseline runs (ms): " + " ".join(f"{r.seconds * 1000:.0f}" for r in baseline_runs))
        print(f"median baseline {baseline_median * 1000:.0f} ms: {baseline_median / floor_median:.2f}x the floor; "
              f"doctor takes {doctor_median / baseline_median:.2f}x the baseline's time")
    for error in errors:
        print(f"error: {error}")
    return 0 if within and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
