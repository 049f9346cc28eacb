"""The per-report cost the dense scan bars allow, from parts measured on this machine (issue 10).

Usage::

    python bench/scan_floor.py [--runs 5] [--minfree-src SRC]

Needs the 1 GiB logs ``bench_scan.py --keep`` leaves in ``bench/out`` (200 and 5000 reports per
GiB, plain and ``.zst``). It measures, lowest of ``--runs`` each (CPU: ``time.process_time`` or
the children's user + system; wall: the reference pipelines, median):

  reference    wall of ``grep -c`` on the plain 5000/GiB log and of ``zstdcat | grep -c`` on
               its ``.zst`` (what the bars are ratios of)
  decode       CPU of decoding the ``.zst`` with the ``zstandard`` module, as minfree does
  scan         CPU of ``minfree scan --json`` of each plain log in ONE process (no split), so
               that per report = (CPU 5000 - CPU 200) / 4800 and base = CPU 200 - 200 reports
  encode       CPU of ``json`` encoding each event of the dense output from ready-made dicts:
               the C encoder's own cost for the schema's ~7 KB an event, before any parsing

and prints, for each dense bar, the CPU the bar leaves on this machine's cores (bar x reference
wall x cores: both cores busy for the whole run, nothing decoded twice, no start-up: a bound no
real run reaches), what is left for the reports once decoding and the base scan are paid, and so
the most a report may cost against what one costs now.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_scan import DENSE_SCAN_BAR, GZIP_BAR, PATTERN, warm
from bench_scan import OUT_DIR as OUT

SPARSE, DENSE = 200, 5000

#: One scan in one process: the split into two halves is turned off, the CPU of the scan printed.
_ONE_PROCESS = """
import sys, time
from minfree.sources import logscan
logscan.PARALLEL_MIN_BYTES = 1 << 62
from minfree.cli import main
start = time.process_time()
with open(sys.argv[2], "w") as sys.stdout:
    main(["scan", "--json", sys.argv[1]])
print(time.process_time() - start, file=sys.stderr)
"""


def _wall(command: str) -> float:
    """Wall seconds of a shell pipeline, its output to a file (GNU grep stops at the first match
    when its output is /dev/null)."""
    with open(OUT / "scan_floor.txt", "w") as out:
        start = time.monotonic()
        subprocess.run(["bash", "-c", command], check=True, stdout=out)
        return time.monotonic() - start


def _decode_cpu(path: Path) -> float:
    import zstandard

    start = time.process_time()
    with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
        while reader.read(4 << 20):
            pass
    return time.process_time() - start


def _scan_cpu(log: Path, output: Path, src: str | None) -> float:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if src:
        env["PYTHONPATH"] = src
    done = subprocess.run([sys.executable, "-c", _ONE_PROCESS, str(log), str(output)], env=env,
                          check=True, stderr=subprocess.PIPE, text=True)
    return float(done.stderr.split()[-1])


def _encode_cpu(output: Path) -> tuple[float, int]:
    from minfree.render.scan_json import _compact as encode   # the encoder scan --json uses

    events = json.loads(output.read_text())["events"]
    start = time.process_time()
    for event in events:
        encode(event)
    return (time.process_time() - start) / len(events), len(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--minfree-src", help="the src of the minfree to measure (default: the installed one)")
    args = parser.parse_args()
    sparse, dense = (OUT / f"scan-1G-{n}-dmesg.log" for n in (SPARSE, DENSE))
    packed = dense.with_name(dense.name + ".zst")
    missing = [p for p in (sparse, dense, packed) if not p.exists()]
    if missing:
        print(f"missing {', '.join(map(str, missing))}: run bench/bench_scan.py --failures {DENSE} --keep "
              f"(and --failures {SPARSE}) first", file=sys.stderr)
        return 2
    for path in (sparse, dense, packed):
        warm(path)   # in the page cache, as bench_scan.py leaves them: no figure waits for the disk
    grep = statistics.median(_wall(f"grep -c '{PATTERN}' {dense}") for _ in range(args.runs))
    zgrep = statistics.median(_wall(f"zstdcat {packed} | grep -c '{PATTERN}'") for _ in range(args.runs))
    decode = min(_decode_cpu(packed) for _ in range(args.runs))
    scratch = OUT / "scan_floor.json"
    cpu = {n: min(_scan_cpu(log, scratch, args.minfree_src) for _ in range(args.runs))
           for n, log in ((SPARSE, sparse), (DENSE, dense))}
    per_report = (cpu[DENSE] - cpu[SPARSE]) / (DENSE - SPARSE)
    base = cpu[SPARSE] - SPARSE * per_report
    encode, events = _encode_cpu(scratch)
    scratch.unlink()
    (OUT / "scan_floor.txt").unlink()
    if events != DENSE:
        print(f"the dense scan found {events} reports, not {DENSE}", file=sys.stderr)
        return 1
    cores = os.cpu_count() or 1
    print(f"reference (median of {args.runs}): grep -c {grep:.3f} s, zstdcat | grep -c {zgrep:.3f} s")
    print(f"lowest of {args.runs}: .zst decode {decode:.3f} s CPU; one-process scan CPU {cpu[SPARSE]:.3f} s "
          f"({SPARSE}/GiB), {cpu[DENSE]:.3f} s ({DENSE}/GiB)")
    print(f"a report now: {per_report * 1e3:.3f} ms CPU (of which JSON encoding alone, from ready dicts: "
          f"{encode * 1e3:.3f} ms); base scan of 1 GiB: {base:.3f} s CPU")
    print(f"{'bar':24} {'CPU allowed':>11} {'left for reports':>16} {'a report may cost':>17} {'cut needed':>10}")
    for name, reference, decoding in (("plain <= 4x grep", grep, 0.0), (".zst <= 1.3x zstdcat|grep", zgrep, decode)):
        allowed = (DENSE_SCAN_BAR if name.startswith("plain") else GZIP_BAR) * reference * cores
        left = allowed - decoding - base
        budget = left / DENSE
        print(f"{name:24} {allowed:9.3f} s {left:14.3f} s {budget * 1e3:14.3f} ms {per_report / budget:9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
