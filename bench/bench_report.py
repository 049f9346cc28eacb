"""Benchmark `minfree report` on a long history: 24 h at 1 s samples must render into one HTML
file under 5 MB in under 5 s (issue 14).

Usage::

    python bench/bench_report.py [--hours 24] [--runs 3] [--minfree "CMD"]

The history is written through the real recorder's writer (``store.history.HistoryWriter``),
one synthetic reading a second: three zones of one node whose free memory swings through its
low and min watermarks twice a day with short dips, free blocks per order that fragment as
free memory falls, cumulative reclaim/compaction counters, PSI, and a failure report every
two hours. It is kept in bench/out/report/ and reused when it already covers the hours asked.
Each run is `minfree report --from HISTORY.db --window <hours>h -o OUT.html` as a child process
(start-up included); the figures are the median wall time of ``--runs`` runs and the size of
the file. Exit status: 0 when both bars hold, 1 when one does not.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree

SECONDS_BAR = 5.0
SIZE_BAR = 5_000_000   # bytes
ZONES = (("DMA", 3840, 3976, 8, 11, 14), ("DMA32", 716_000, 751_000, 1_700, 2_100, 2_500),
         ("Normal", 5_300_000, 5_400_000, 12_000, 15_000, 18_000))   # name, managed, present, min, low, high


def reading(t: float, mono: float, step: int):
    """A synthetic but self-consistent reading at Unix time ``t`` (``step`` seconds in)."""
    from minfree.proc.buddyinfo import BuddyRow
    from minfree.proc.psi import MemoryPressure, PsiLine
    from minfree.proc.system import MemoryReading
    from minfree.proc.vmstat import VmstatSample
    from minfree.proc.zoneinfo import ZoneInfo

    swing = 0.5 + 0.5 * math.cos(2 * math.pi * step / 43_200)       # twice a day
    dip = 1.0 if step % 3_600 > 120 else 0.35 + step % 3_600 / 300   # a short dip every hour
    zones, buddy = [], []
    for name, managed, present, low_min, low, high in ZONES:
        free = int(low_min * 0.6 + (high * 3 - low_min * 0.6) * swing * min(dip, 1.0)) + step % 7
        counts, left = [], free
        for order in range(11):   # fragmentation grows as free memory shrinks
            share = 0.5 if order < 10 else 1.0
            blocks = int(left * share * (0.4 + 0.6 * swing)) >> order if order else int(left * 0.3)
            counts.append(max(blocks, 0))
            left = max(left - (counts[-1] << order), 0)
        zones.append(ZoneInfo(0, name, free, low_min, low, high, promo=high + low_min, boost=0,
                              present=present, managed=managed))
        buddy.append(BuddyRow(0, name, tuple(counts)))
    counters = {"allocstall_normal": step // 50, "pgscan_kswapd": step * 40, "pgscan_direct": step // 3,
                "pgsteal_kswapd": step * 38, "kswapd_low_wmark_hit_quickly": step // 90,
                "compact_stall": step // 400, "compact_fail": step // 900, "compact_success": step // 500,
                "pageoutrun": step // 20, "oom_kill": 0, "pgalloc_normal": step * 5000}
    pressure = MemoryPressure(PsiLine(round(2 * (1 - swing), 2), 0.0, 0.0, step * 300),
                              PsiLine(round(0.5 * (1 - swing), 2), 0.0, 0.0, step * 80))
    return MemoryReading(t, VmstatSample(counters, mono), pressure, zones, buddy)


def write_history(path: Path, seconds: int, end: float | None = None, failures_every: int = 7_200) -> None:
    """``seconds`` one-second samples ending at ``end`` (default now) through the recorder's writer."""
    from minfree.actions.safefs import check_trusted
    from minfree.store.history import HistoryWriter, RunInfo

    end = time.time() if end is None else end
    start = end - seconds
    writer = HistoryWriter(str(path), retention=seconds + 86_400,
                           run=RunInfo(start, "bench-boot", "bench-host", "6.18.0-bench", 1.0, 4096),
                           trust=check_trusted)
    try:
        for step in range(seconds):
            writer.add(reading(start + step, 1000.0 + step, step))
            if step % failures_every == failures_every // 2:
                order = (0, 1, 3)[step // failures_every % 3]
                writer.add_failure(start + step, 1000.0 + step, "nginx", order, "0x820", "net-rx",
                                   f"nginx: order:{order} mode:0x820(GFP_ATOMIC) origin=net-rx")
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minfree", help="command that runs minfree (default: the one beside this Python)")
    args = parser.parse_args(argv)
    out = OUT_DIR / "report"
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    db = out / f"history-{args.hours:g}h.db"
    seconds = int(args.hours * 3600)
    if not db.exists():
        started = time.monotonic()
        write_history(db, seconds)
        print(f"wrote {seconds} samples to {db} in {time.monotonic() - started:.1f} s "
              f"({db.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    html = out / "report.html"
    command = [*resolve_minfree(args.minfree), "report", "--from", str(db), "--window", f"{seconds}s",
               "-o", str(html)]
    times = []
    for _ in range(args.runs):
        started = time.monotonic()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - started)
    result = {"hours": args.hours, "samples": seconds, "runs": args.runs, "seconds": times,
              "median_seconds": round(statistics.median(times), 3), "bytes": html.stat().st_size,
              "history_bytes": db.stat().st_size, "seconds_bar": SECONDS_BAR, "bytes_bar": SIZE_BAR}
    (out / "bench_report.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0 if result["median_seconds"] < SECONDS_BAR and result["bytes"] < SIZE_BAR else 1


if __name__ == "__main__":
    sys.exit(main())
