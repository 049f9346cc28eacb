"""What the in-kernel failure counter adds to `doctor` and `watch` (root), side by side in one
process with doctor's own work: medians of ``--runs`` interleaved runs of

- ``doctor``: an in-process ``diagnose(root, window=0)`` (reading and judging, no window);
- ``open``: ``FailureCounter.open()`` (what doctor does before its window, watch at start;
  the first one, with the imports a cold doctor pays, is printed apart);
- ``enable+read+close``: what doctor does around its window;
- ``read``: what watch does every interval (median of 100 reads).

Usage (root)::

    sudo .venv/bin/python bench/bench_failcount.py [--runs 21]

Reported as ratios: counter cost / doctor's own work, and watch's read / a 1 s interval.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_failcount: needs root (eBPF)", file=sys.stderr)
        return 1
    from minfree.commands.doctor import diagnose
    from minfree.sources.failcount import FailureCounter
    from minfree.sources.root import SystemRoot

    root = SystemRoot("/")
    doctor, opened, around, reads = [], [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        diagnose(root, window=0)
        t1 = time.perf_counter()
        counter, why = FailureCounter.open()
        t2 = time.perf_counter()
        if counter is None:
            print(f"bench_failcount: no counter: {why}", file=sys.stderr)
            return 1
        counter.enable()
        for _ in range(100):
            t = time.perf_counter()
            counter.read()
            reads.append(time.perf_counter() - t)
        t3 = time.perf_counter()
        counter.read()
        counter.close()
        t4 = time.perf_counter()
        doctor.append(t1 - t0)
        opened.append(t2 - t1)
        around.append(t4 - t3)
    ms = {name: statistics.median(v) * 1e3 for name, v in
          (("doctor", doctor), ("open", opened), ("read+close", around), ("read", reads))}
    print(f"counter ({counter.kind}): open {ms['open']:.2f} ms, read+close {ms['read+close']:.2f} ms, "
          f"read {ms['read']:.3f} ms; doctor --window 0 in-process {ms['doctor']:.2f} ms")
    print(f"first open in this process (the imports a cold doctor pays once): {opened[0] * 1e3:.1f} ms")
    print(f"doctor: counter / doctor's own work = {(ms['open'] + ms['read+close']) / ms['doctor']:.2f}x "
          f"(+{ms['open'] + ms['read+close']:.1f} ms on a {1000:.0f} ms window)")
    print(f"watch at 1 s: read / interval = {ms['read'] / 1000 * 100:.3f} % of one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
