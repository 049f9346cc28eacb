"""Benchmark `minfree scan` against grep/zgrep on a 1 GiB kernel log, in one run.

Usage::

    python bench/bench_scan.py [--size 1G] [--failures 200] [--keep] [--minfree "CMD"] [--runs 3]
                               [--before "CMD"]

Steps: generate (or reuse, with --keep) bench/out/scan-SIZE.log, its .gz and a 100 MiB log
(bench/gen_log.py, with ground-truth sidecars); read them once to warm the page cache;
then time, interleaved round by round:

  (a) grep -c 'page allocation failure' F      > out.txt
  (b) minfree scan --json F                    > out.json
  (c) zgrep -c 'page allocation failure' F.gz  > out2.txt
  (d) minfree scan --json F.gz                 > out3.json
  (f) zstdcat F.zst | grep -c '...'            > out4.txt   (when zstd is installed)
  (g) minfree scan --json F.zst                > out5.json
  and, with --before CMD, (b), (d) and (g) run by CMD too (e.g. a checkout of the code
  before a change), in the same rounds.

Output always goes to a file: GNU grep stops at the first match when stdout is /dev/null.
Peak RSS comes from GNU time (see run_timed).
Bars (issue 10): b/a <= 1.5 up to 1000 reports per GiB, <= 4.0 above; d/c and g/f <= 1.3,
on the medians of the runs; memory flat (peak RSS on the big file <= 1.5x the peak on the
100 MiB file). Correctness: the events in every scan's output equal the sidecar (count, and
process/order/mode at the same 1-based line numbers).
Exit status 0 when every bar and check passes, 1 otherwise, 2 on a setup error.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gen_log

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
PATTERN = "page allocation failure"
SCAN_BAR = 1.5          # up to DENSE_FROM reports per GiB
DENSE_SCAN_BAR = 4.0    # above it: the cost of each report counts
DENSE_FROM = 1000
GZIP_BAR = 1.3          # .gz vs zgrep -c, .zst vs zstdcat | grep -c
FLAT_BAR = 1.5
SMALL_SIZE = "100M"
MIB = 1024 * 1024


def resolve_minfree(spec: str | None) -> list[str]:
    """The command that runs minfree: --minfree, else `minfree` on PATH or beside this
    Python (a venv's console script), else `python -m minfree`."""
    if spec:
        return shlex.split(spec)
    found = shutil.which("minfree") or shutil.which("minfree", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "minfree"]


@dataclass(slots=True)
class Run:
    """One timed child process."""

    seconds: float
    peak_rss_kb: int
    exit_code: int
    cpu_seconds: float | None = None   # user + system of the command and its children (GNU time)


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_timed(argv: list[str], stdout_path: Path) -> Run:
    """Run argv with stdout to a file; wall time and the command's peak RSS.

    Linux keeps ru_maxrss across execve(), so a child forked from this (large) Python
    would report at least our own RSS; the peak is therefore taken by GNU time (a small
    process) when it is installed, else from wait4() as an upper bound.
    """
    rss_file = Path(f"{stdout_path}.rss")
    wrapped = [GNU_TIME, "-f", "%U %S %M", "-o", str(rss_file), *argv] if GNU_TIME else argv
    with open(stdout_path, "wb") as out, open(f"{stdout_path}.err", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(wrapped, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss
    cpu = None
    if GNU_TIME:
        fields = rss_file.read_text().split()
        if len(fields) >= 3 and fields[-1].isdigit():
            peak, cpu = int(fields[-1]), float(fields[-3]) + float(fields[-2])
    return Run(seconds, peak, child.returncode, cpu)


@dataclass(slots=True)
class Measure:
    """All runs of one command."""

    label: str
    argv: list[str]
    output: Path
    runs: list[Run] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def median_cpu(self) -> float | None:
        cpu = [r.cpu_seconds for r in self.runs if r.cpu_seconds is not None]
        return statistics.median(cpu) if cpu else None

    @property
    def peak_rss_kb(self) -> int:
        return max(r.peak_rss_kb for r in self.runs)

    def stderr_tail(self) -> str:
        err = Path(f"{self.output}.err").read_text(errors="replace").strip().splitlines()
        return err[-1] if err else ""


def ensure_log(path: Path, size: str, failures: int, fmt: str, seed: int, gzip: bool) -> dict:
    """Generate PATH (and PATH.gz) unless a matching one with its sidecar is already there."""
    sidecar = Path(f"{path}.truth.json")
    wanted = {"generator": gen_log.GENERATOR_VERSION, "requested_size": gen_log.parse_size(size), "failures": failures, "format": fmt, "seed": seed}
    truth = json.loads(sidecar.read_text()) if sidecar.exists() and path.exists() else None
    if truth is None or any(truth.get(k) != v for k, v in wanted.items()) or truth["size"] != path.stat().st_size:
        result = gen_log.generate(path, wanted["requested_size"], failures, fmt, seed)
        truth = result.truth
        rate = result.bytes_written / result.seconds / 1e6
        print(f"generated {path.name}: {result.bytes_written} bytes in {result.seconds:.2f}s ({rate:.0f} MB/s)")
        Path(f"{path}.gz").unlink(missing_ok=True)
    gz = Path(f"{path}.gz")
    if gzip and not gz.exists():
        start = time.perf_counter()
        gen_log.gzip_file(path)
        print(f"compressed {gz.name}: {gz.stat().st_size} bytes in {time.perf_counter() - start:.1f}s")
    return truth


def warm(path: Path) -> None:
    """Read a file once so every measured command finds it in the page cache."""
    with open(path, "rb", buffering=0) as fh:
        while fh.read(16 * MIB):
            pass


def compare_events(scan_output: Path, truth: dict) -> list[str]:
    """Differences between scan's JSON events and the sidecar; empty when they agree."""
    try:
        report = json.loads(scan_output.read_text())
        found = report["events"]
        by_line = {int(e["line"]): e for e in found}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{scan_output.name}: not a scan JSON report ({type(exc).__name__}: {exc})"]
    problems = []
    expected = truth["events"]
    if len(found) != len(expected):
        problems.append(f"{len(found)} events reported, {len(expected)} expected")
    for event in expected:
        got = by_line.get(event["line"])
        if got is None:
            problems.append(f"line {event['line']}: missing ({event['process']} order {event['order']})")
            continue
        for key in ("process", "order"):
            if got.get(key) != event[key]:
                problems.append(f"line {event['line']}: {key} {got.get(key)!r} != {event[key]!r}")
        # The sidecar's mode is the text as printed; scan may give it as "mode" or, with a
        # bare hex "mode", as "mode_text".
        if event["mode"] not in (got.get("mode"), got.get("mode_text")):
            problems.append(f"line {event['line']}: mode {got.get('mode_text', got.get('mode'))!r} "
                            f"!= {event['mode']!r}")
    truth_lines = {e["line"] for e in expected}
    extra = sorted(set(by_line) - truth_lines)
    if extra:
        problems.append(f"invented events at lines {extra[:10]}")
        shifted = {line + 1 for line in by_line} == truth_lines or {line - 1 for line in by_line} == truth_lines
        if shifted:
            problems.append("hint: every line is off by one (the sidecar numbers lines from 1)")
    return problems


def related_summary(scan_output: Path, truth: dict) -> str:
    """Related non-events: scan's counts beside the sidecar's (informational)."""
    try:
        related = json.loads(scan_output.read_text()).get("related", {})
    except (OSError, ValueError, AttributeError):
        return "related: no report"
    parts = []
    for kind, lines in truth["related"].items():
        value = related.get(kind) if isinstance(related, dict) else None
        count = len(value) if isinstance(value, list) else value
        expected = len(lines)
        if kind == "suppressed_reports" and isinstance(value, int) and value != expected:
            expected = f"{expected} lines, {truth['suppressed_callbacks']} callbacks"
        parts.append(f"{kind} {count if count is not None else '-'}/{expected}")
    return "related (scan/truth): " + ", ".join(parts)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="minfree scan vs grep/zgrep (see module docstring)")
    parser.add_argument("--size", default="1G")
    parser.add_argument("--small-size", default=SMALL_SIZE, help="log for the flat-memory check")
    parser.add_argument("--failures", type=int, default=200)
    parser.add_argument("--format", choices=gen_log.FORMATS, default="dmesg")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minfree", help='command for minfree, e.g. "python -m minfree"')
    parser.add_argument("--keep", action="store_true", help="keep the generated logs for reuse")
    parser.add_argument("--before", help='another minfree command timed in the same rounds, e.g. '
                                         '"env PYTHONPATH=/tmp/old/src python -m minfree"')
    args = parser.parse_args(argv)

    OUT_DIR.mkdir(exist_ok=True)
    minfree = resolve_minfree(args.minfree)
    big = OUT_DIR / f"scan-{args.size}-{args.failures}-{args.format}.log"
    small = OUT_DIR / f"scan-{args.small_size}-{args.failures}-{args.format}.log"
    gz = Path(f"{big}.gz")
    zst = Path(f"{big}.zst") if shutil.which("zstd") else None
    try:
        truth = ensure_log(big, args.size, args.failures, args.format, args.seed, gzip=True)
        small_failures = max(1, args.failures * gen_log.parse_size(args.small_size) // gen_log.parse_size(args.size))
        small_truth = ensure_log(small, args.small_size, small_failures, args.format, args.seed, gzip=False)
        if zst is not None and not (zst.exists() and zst.stat().st_mtime >= big.stat().st_mtime):
            subprocess.run(["zstd", "-q", "-f", "-T0", str(big), "-o", str(zst)], check=True)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    os.sync()  # let writeback of freshly generated files finish before timing
    for path in (big, gz, small, *([zst] if zst else [])):
        warm(path)

    measures = [
        Measure("(a) grep -c", ["grep", "-c", PATTERN, str(big)], OUT_DIR / "out.txt"),
        Measure("(b) minfree scan", [*minfree, "scan", "--json", str(big)], OUT_DIR / "out.json"),
        Measure("(c) zgrep -c", ["zgrep", "-c", PATTERN, str(gz)], OUT_DIR / "out2.txt"),
        Measure("(d) minfree scan .gz", [*minfree, "scan", "--json", str(gz)], OUT_DIR / "out3.json"),
        Measure(f"(e) minfree scan {args.small_size}", [*minfree, "scan", "--json", str(small)],
                OUT_DIR / "out-small.json"),
    ]
    if zst is not None:
        measures += [
            Measure("(f) zstdcat | grep -c", ["sh", "-c", f'zstdcat "$0" | grep -c "{PATTERN}"', str(zst)],
                    OUT_DIR / "out4.txt"),
            Measure("(g) minfree scan .zst", [*minfree, "scan", "--json", str(zst)], OUT_DIR / "out5.json"),
        ]
    before = shlex.split(args.before) if args.before else None
    if before:
        measures += [Measure(f"{m.label} before", [*before, *m.argv[len(minfree):]], Path(f"{m.output}.before"))
                     for m in measures if m.argv[:len(minfree)] == minfree and m is not measures[4]]
    for _ in range(args.runs):
        for measure in measures:
            measure.runs.append(run_timed(measure.argv, measure.output))
    grep_a, scan_b, zgrep_c, scan_d, scan_small = measures[:5]
    scan_bar = SCAN_BAR if args.failures * (1 << 30) <= DENSE_FROM * truth["size"] else DENSE_SCAN_BAR

    print(f"\nscan benchmark: {big.name} ({truth['size']} bytes, {truth['lines']} lines, "
          f"{len(truth['events'])} failures), gz {gz.stat().st_size} bytes")
    print(f"minfree: {shlex.join(minfree)}")
    print(f"{'command':<31}{'median':>9}{'best':>9}{'CPU':>9}  {'peak RSS':>10}  all runs (s)")
    for m in measures:
        runs = " ".join(f"{r.seconds:.3f}" for r in m.runs)
        codes = {r.exit_code for r in m.runs} - {0}
        note = f"  exit {sorted(codes)}: {m.stderr_tail()}" if codes else ""
        cpu = f"{m.median_cpu:>8.2f}s" if m.median_cpu is not None else f"{'-':>9}"
        print(f"{m.label:<31}{m.median:>8.3f}s{m.best:>8.3f}s{cpu}  {m.peak_rss_kb / 1024:>7.1f} MiB  {runs}{note}")

    grep_count = int((OUT_DIR / "out.txt").read_text().strip() or -1)
    zgrep_count = int((OUT_DIR / "out2.txt").read_text().strip() or -1)
    counts_ok = grep_count == zgrep_count == len(truth["events"])
    ratio_plain = scan_b.median / grep_a.median
    ratio_gz = scan_d.median / zgrep_c.median
    rss_ratio = scan_b.peak_rss_kb / max(1, scan_small.peak_rss_kb)
    problems = {
        "plain": compare_events(scan_b.output, truth),
        "gzip": compare_events(scan_d.output, truth),
        "small": compare_events(scan_small.output, small_truth),
    }
    ratios = {"scan_vs_grep": ratio_plain, "scan_gz_vs_zgrep": ratio_gz, "rss_big_vs_small": rss_ratio}
    checks = {
        "scan_vs_grep": ratio_plain <= scan_bar,
        "scan_gz_vs_zgrep": ratio_gz <= GZIP_BAR,
        "memory_flat": rss_ratio <= FLAT_BAR,
        "grep_counts_match_truth": counts_ok,
        "events_plain": not problems["plain"],
        "events_gzip": not problems["gzip"],
        "events_small": not problems["small"],
    }
    if zst is not None:
        zstd_f, scan_g = measures[5:7]
        ratios["scan_zst_vs_zstdcat_grep"] = scan_g.median / zstd_f.median
        problems["zstd"] = compare_events(scan_g.output, truth)
        checks["scan_zst_vs_zstdcat_grep"] = ratios["scan_zst_vs_zstdcat_grep"] <= GZIP_BAR
        checks["events_zstd"] = not problems["zstd"]
    print(f"\nratios of medians ({args.runs} interleaved runs each):")
    print(f"ratio b/a = {ratio_plain:.2f}x  (bar {scan_bar}x)  {verdict(checks['scan_vs_grep'])}")
    print(f"ratio d/c = {ratio_gz:.2f}x  (bar {GZIP_BAR}x)  {verdict(checks['scan_gz_vs_zgrep'])}")
    if zst is not None:
        print(f"ratio g/f = {ratios['scan_zst_vs_zstdcat_grep']:.2f}x  (bar {GZIP_BAR}x)  "
              f"{verdict(checks['scan_zst_vs_zstdcat_grep'])}")
    for m in measures:
        if m.label.endswith(" before"):
            now = next(n for n in measures if n.label == m.label[:-len(" before")])
            ratios[m.label] = m.median / now.median
            print(f"{m.label}: {m.median:.3f}s, {m.peak_rss_kb / 1024:.1f} MiB -> now {now.median:.3f}s, "
                  f"{now.peak_rss_kb / 1024:.1f} MiB ({m.median / now.median:.2f}x faster)")
    print(f"memory: peak RSS {scan_b.peak_rss_kb / 1024:.1f} MiB on {args.size} vs "
          f"{scan_small.peak_rss_kb / 1024:.1f} MiB on {args.small_size} = {rss_ratio:.2f}x "
          f"(flat: <= {FLAT_BAR}x)  {verdict(checks['memory_flat'])}")
    print(f"grep -c {grep_count}, zgrep -c {zgrep_count}, truth {len(truth['events'])}  "
          f"{verdict(counts_ok)}")
    for name, found in problems.items():
        head = f"events ({name}): " + ("match the sidecar" if not found else f"{len(found)} problem(s)")
        print(f"{head}  {verdict(not found)}")
        for line in found[:8]:
            print(f"    {line}")
    print(related_summary(scan_b.output, truth))

    summary = {
        "log": str(big), "bytes": truth["size"], "minfree": minfree,
        "measures": {m.label: [asdict(r) for r in m.runs] for m in measures},
        "ratios": ratios,
        "checks": checks, "problems": problems,
    }
    (OUT_DIR / "bench_scan.json").write_text(json.dumps(summary, indent=1) + "\n")
    if not args.keep:
        for path in (big, gz, small, *([zst] if zst else [])):
            for leftover in (path, Path(f"{path}.truth.json")):
                leftover.unlink(missing_ok=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
