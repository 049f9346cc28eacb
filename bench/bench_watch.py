"""Benchmark the history recorder: `minfree watch --record --interval 1` against the bars
(< 1 % of one core, < 40 MB RSS), side by side with sysstat's `sadc 1` (the recorder behind
`sar`) in the same run.

Usage::

    python bench/bench_watch.py [--seconds 600] [--interval 1] [--minfree "CMD"]

Both recorders start together and run ``--seconds``. CPU is utime + stime from
/proc/PID/stat, taken over the whole run (start-up included) and over the steady part
(after the first ``--warmup`` seconds); memory is the peak resident set (VmHWM of
/proc/PID/status, which starts afresh at execve) and the largest VmRSS seen once a second;
``written`` is write_bytes of /proc/PID/io (what the recorder sent to the disk).
Everything goes to bench/out/watch/ (the history file, sadc's file, bench_watch.json).
Exit status: 0 when both bars hold, 1 when one does not, 2 when setup fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree

CPU_BAR = 0.01          # share of one core
BAR_SECONDS = 600.0     # the bar's run: 10 minutes
RSS_BAR_MB = 40.0       # megabytes (10^6 bytes)
SADC = ("/usr/lib/sysstat/sadc", "/usr/lib64/sa/sadc", "/usr/libexec/sa/sadc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Measured:
    name: str
    command: str
    seconds: float
    cpu_share: float          # whole run
    steady_cpu_share: float   # after the warm-up
    peak_rss_mb: float        # VmHWM
    max_rss_mb: float         # largest VmRSS sampled
    written_mb: float         # write_bytes of /proc/PID/io: what reached the block layer


class Watched:
    """A child process and its /proc figures."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name, self.argv = name, argv
        self.log = open(log, "wb")   # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        self.max_rss_kb = 0
        self.warm: tuple[float, int] | None = None

    def cpu_ticks(self) -> int:
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15)

    def status_kb(self, key: str) -> int:
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def poll(self, warmup: float) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early with status {self.process.returncode}")
        self.max_rss_kb = max(self.max_rss_kb, self.status_kb("VmRSS"))
        if self.warm is None and time.monotonic() - self.started >= warmup:
            self.warm = (time.monotonic(), self.cpu_ticks())

    def written_bytes(self) -> int:
        with open(f"/proc/{self.process.pid}/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes:"))

    def stop(self) -> Measured:
        ticks, now, peak = self.cpu_ticks(), time.monotonic(), self.status_kb("VmHWM")
        written = self.written_bytes()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            self.log.close()
        seconds = now - self.started
        warm_t, warm_ticks = self.warm or (self.started, 0)
        return Measured(self.name, " ".join(self.argv), round(seconds, 1), ticks / TICKS / seconds,
                        (ticks - warm_ticks) / TICKS / max(now - warm_t, 1e-9),
                        peak * 1024 / 1e6, self.max_rss_kb * 1024 / 1e6, written / 1e6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="minfree watch --record vs sadc: CPU and RSS")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds left out of the steady figure")
    parser.add_argument("--minfree", help='command for minfree, e.g. "python -m minfree"')
    args = parser.parse_args(argv)

    out = OUT_DIR / "watch"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, mode=0o700)
    out.chmod(0o700)
    db = out / "history.db"
    interval = f"{args.interval:g}"
    recorders = [Watched("minfree watch --record",
                         [*resolve_minfree(args.minfree), "watch", "--record", "--db", str(db), "--interval", interval],
                         out / "minfree.log")]
    sadc = next((p for p in SADC if os.access(p, os.X_OK)), None)
    if sadc is not None:
        recorders.append(Watched("sadc (sysstat)", [sadc, interval, str(out / "sa.data")],
                                 out / "sadc.log"))
    else:
        print("sadc not found (apt-get install sysstat): minfree measured alone")
    deadline = time.monotonic() + args.seconds
    try:
        while time.monotonic() < deadline:
            time.sleep(1.0)
            for recorder in recorders:
                recorder.poll(args.warmup)
    except RuntimeError as error:
        print(f"error: {error}")
        for recorder in recorders:
            recorder.process.kill()
        return 2
    results = [recorder.stop() for recorder in recorders]
    samples = sqlite3.connect(db).execute("SELECT count(*) FROM samples").fetchone()[0]
    mine = results[0]
    # the bar is over 10 minutes, start-up included; a shorter run (CI) is judged on the steady
    # part, since its start-up (imports: about 0.4 s of CPU) would weigh more than it does
    whole = args.seconds >= BAR_SECONDS
    cpu_ok = (mine.cpu_share if whole else mine.steady_cpu_share) < CPU_BAR
    rss_ok = mine.peak_rss_mb < RSS_BAR_MB
    print(f"recorders side by side for {args.seconds:g} s at {interval} s:")
    for r in results:
        print(f"  {r.name:24} CPU {r.cpu_share * 100:.3f} % of a core (steady {r.steady_cpu_share * 100:.3f} %), "
              f"peak RSS {r.peak_rss_mb:.1f} MB (largest sampled {r.max_rss_mb:.1f} MB), "
              f"written {r.written_mb:.1f} MB")
    if len(results) > 1:
        peer = results[1]
        print(f"  ratio minfree/sadc: CPU {mine.cpu_share / max(peer.cpu_share, 1e-9):.1f}x, "
              f"peak RSS {mine.peak_rss_mb / max(peer.peak_rss_mb, 1e-9):.1f}x")
    print(f"  samples recorded: {samples}; history file {db.stat().st_size / 1e6:.2f} MB")
    print(f"bars: CPU < {CPU_BAR * 100:g} % ({'whole run' if whole else 'steady part: a run shorter than 10 min'}) "
          f"{'PASS' if cpu_ok else 'FAIL'}; "
          f"RSS < {RSS_BAR_MB:g} MB {'PASS' if rss_ok else 'FAIL'}")
    (out / "bench_watch.json").write_text(json.dumps({
        "seconds": args.seconds, "interval": args.interval, "samples": samples,
        "results": [asdict(r) for r in results], "cpu_judged_on": "whole" if whole else "steady",
        "cpu_ok": cpu_ok, "rss_ok": rss_ok}, indent=1))
    return 0 if cpu_ok and rss_ok else 1


if __name__ == "__main__":
    sys.exit(main())
