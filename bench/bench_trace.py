"""Overhead of `minfree trace` on allocation-heavy workloads, against the 2 % goal.

Usage::

    python bench/bench_trace.py [--runs 15] [--reps 3] [--minfree "CMD"] [--workloads pagefault,tcp]
    python bench/bench_trace.py --in-process 200   # per-allocation cost, no process starts

Each workload runs in its own child process, with no tracer and under each mode of
`minfree trace` (the real command, started before and stopped with SIGTERM after), round by
round in rotating order so drift hits every mode alike. The cost is the workload's CPU time
(user + system, from wait4: the kernel time of its page allocations included); the tracer's
own CPU is reported beside it. Workloads:

- ``pagefault``: map 128 MiB of anonymous memory (no THP), write every page, unmap; 4 times
  (131072 order-0 page allocations per run): the most allocation-dense thing a process does.
- ``tcp``: 256 MiB through a loopback TCP connection in 64 KiB writes (skb heads, the
  socket's order-3 page frags): the receive/send path of a network service.

Modes: ``floor`` (not minfree: a raw tracepoint program of two instructions, ``r0 = 0;
exit``, attached by this script: what the kernel's dispatch of one eBPF program per
allocation costs before the program does anything), ``count-only`` (the in-kernel count:
one eBPF raw-tracepoint program, which also counts the demand), ``default`` (that program,
also recording each failure into a ring buffer, + a tracefs instance with the vmscan
events). Each round runs every mode once (rotating order), each ``--reps`` times per tracer
start; a round's ratio is the mode's median CPU over the no-tracer median of the same round
(paired, so drift over the run cancels). Reported: the median of the rounds' ratios, their
quartiles and extremes, and the best runs' ratio; the verdict uses the median ratio of the
default mode. Needs root. Exit status: 0 when the default mode's median ratio is within the
goal on every workload, 1 otherwise, 2 when setup fails.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree

GOAL = 1.02
FLOOR = "floor"
MODES = {"none": None, FLOOR: None, "count-only": ["--count-only"], "default": []}
INSTANCES = Path("/sys/kernel/tracing/instances")

#: Fault in 128 MiB of fresh small pages (32768 order-0 allocations); the child workload and
#: --in-process run the same code.
FAULT_IN = """
import ctypes, mmap
def fault_in(size=128 << 20):
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    m.madvise(mmap.MADV_NOHUGEPAGE)
    buf = (ctypes.c_char * size).from_buffer(m)
    ctypes.memset(ctypes.addressof(buf), 1, size)
    del buf
    m.close()
"""
PAGEFAULT = FAULT_IN + "for _ in range(4):\n    fault_in()\n"

TCP = """
import socket, threading
TOTAL, CHUNK = 256 << 20, 64 << 10
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
def sink():
    conn, _ = server.accept(); left = TOTAL
    while left > 0:
        data = conn.recv(1 << 20)
        if not data: break
        left -= len(data)
    conn.close()
t = threading.Thread(target=sink); t.start()
client = socket.create_connection(server.getsockname()); block = b"x" * CHUNK
for _ in range(TOTAL // CHUNK): client.sendall(block)
client.close(); t.join()
"""
WORKLOADS = {"pagefault": PAGEFAULT, "tcp": TCP}


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _counting(pid: int) -> bool:
    """Whether the tracer holds its in-kernel counter: an eBPF link, else perf events."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return "anon_inode:bpf_link" in links or links.count("anon_inode:[perf_event]") >= (os.cpu_count() or 1)


def _start_tracer(command: list[str], extra: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen([*command, "trace", "--follow", "--json", "--interval", "3600", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    events = INSTANCES / f"minfree-trace-{proc.pid}" / "events"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tracer exited: {proc.stderr.read().decode(errors='replace')}")
        counting = _counting(proc.pid)
        try:  # the instance's events are enabled just before the window opens
            records = "--count-only" in extra or any(e.read_text().startswith("1") for e in events.glob("*/*/enable"))
        except OSError:
            records = False
        if counting and records:
            time.sleep(0.3)
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("tracer never started counting")


def _stop_tracer(proc: subprocess.Popen) -> float:
    proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"tracer exit {proc.returncode}: {proc.stderr.read().decode(errors='replace')}")
    return _cpu(usage)


def _workload(code: str) -> tuple[float, float]:
    start = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("workload failed")
    return _cpu(usage), time.monotonic() - start


def _floor() -> list[int]:
    """Attach the do-nothing program to mm_page_alloc; close the fds to detach."""
    from minfree.sources.bpf import _insn, attach

    fds: list[int] = []
    attach(_insn(0xB7, dst=0, imm=0) + _insn(0x95), "mm_page_alloc", fds)
    return fds


def _round(command: list[str], workload: str, mode: str, reps: int) -> list[dict[str, float]]:
    """``reps`` runs of the workload under one start of the mode's tracer."""
    fds = _floor() if mode == FLOOR else []
    tracer = None if MODES[mode] is None else _start_tracer(command, MODES[mode])
    runs = []
    try:
        for _ in range(reps):
            cpu, wall = _workload(WORKLOADS[workload])
            runs.append({"cpu": cpu, "wall": wall})
    finally:
        for fd in fds:
            os.close(fd)
        tracer_cpu = _stop_tracer(tracer) if tracer is not None else 0.0
    for run in runs:
        run["tracer_cpu"] = tracer_cpu
    return runs


def _fault_in() -> float:
    """CPU seconds of this process for one :data:`FAULT_IN` run."""
    namespace: dict = {}
    exec(FAULT_IN, namespace)  # noqa: S102 (this file's own constant)
    before = resource.getrusage(resource.RUSAGE_SELF)
    namespace["fault_in"]()
    return _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(before)


def in_process(pairs: int) -> int:
    """The kernel-side cost per allocation, without process starts: the programs minfree
    loads (``sources.bpf``: the counter, and the counter with records, default's hot path)
    and the do-nothing floor are attached and detached around single 128 MiB fault-in runs
    in this process, rotating; each run's ratio is against the no-hook run of its rotation."""
    from minfree.sources.bpf import RawTracepointCounter

    hooks = {"none": lambda: None, FLOOR: _floor, "count-only": lambda: RawTracepointCounter(0x400),
             "default": lambda: RawTracepointCounter(0x400, records=True)}
    names = list(hooks)
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for number in range(pairs):
        for name in names[number % len(names):] + names[:number % len(names)]:
            hook = hooks[name]()
            try:
                cpu[name].append(_fault_in())
            finally:
                for fd in hook if isinstance(hook, list) else []:
                    os.close(fd)
                if isinstance(hook, RawTracepointCounter):
                    hook.close()
    print(f"in-process: {pairs} rotations, one 128 MiB fault-in run (32768 allocations) per mode each; "
          f"no-hook median {statistics.median(cpu['none']):.4f} s")
    for name in names[1:]:
        ratios = [c / b for c, b in zip(cpu[name], cpu["none"])]
        q1, median, q3 = statistics.quantiles(ratios, n=4)
        print(f"  {name:10} ratio median x{median:.4f} IQR {q1:.3f}-{q3:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="minfree trace overhead vs no tracer (goal < 2 %)")
    parser.add_argument("--runs", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--reps", type=int, default=3, help="workload runs per tracer start (default 3)")
    parser.add_argument("--minfree", help='command for minfree, e.g. "python -m minfree"')
    parser.add_argument("--workloads", default="pagefault,tcp")
    parser.add_argument("--in-process", type=int, metavar="N",
                        help="instead: the kernel-side cost per allocation, N rotations in this process")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_trace needs root (minfree trace does)", file=sys.stderr)
        return 2
    if args.in_process:
        return in_process(args.in_process)
    command = resolve_minfree(args.minfree)
    workloads = [w for w in args.workloads.split(",") if w in WORKLOADS]
    names = list(MODES)
    # results[workload][mode][round] = the round's runs
    results: dict[str, dict[str, list[list[dict[str, float]]]]] = {w: {m: [] for m in MODES} for w in workloads}
    try:
        for number in range(args.runs):
            order = names[number % len(names):] + names[:number % len(names)]
            for workload in workloads:
                for mode in order:
                    results[workload][mode].append(_round(command, workload, mode, args.reps))
    except (RuntimeError, OSError) as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    OUT_DIR.mkdir(exist_ok=True)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    ok = True
    print(f"minfree trace overhead: {args.runs} rounds x {args.reps} runs per mode, paired by round "
          f"(workload CPU s; ratio = mode / no tracer in the same round)")
    for workload in workloads:
        rounds = results[workload]
        base = [statistics.median(r["cpu"] for r in runs) for runs in rounds["none"]]
        best_base = min(r["cpu"] for runs in rounds["none"] for r in runs)
        summary[workload] = {}
        for mode in names:
            cpus = [statistics.median(r["cpu"] for r in runs) for runs in rounds[mode]]
            ratios = sorted(c / b for c, b in zip(cpus, base))
            q1, median, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            best_ratio = min(r["cpu"] for runs in rounds[mode] for r in runs) / best_base
            tracer = statistics.median(runs[0]["tracer_cpu"] for runs in rounds[mode])
            summary[workload][mode] = {"cpu_s": statistics.median(cpus), "ratio": median, "q1": q1, "q3": q3,
                                       "min": ratios[0], "max": ratios[-1], "best_ratio": best_ratio,
                                       "tracer_cpu_s": tracer}
            verdict = ""
            if mode == "default":
                verdict = "PASS" if median < GOAL else "OVER"
                ok = ok and median < GOAL
            print(f"  {workload:9} {mode:10} cpu {statistics.median(cpus):6.3f}  ratio median x{median:.3f} "
                  f"IQR {q1:.3f}-{q3:.3f} range {ratios[0]:.3f}-{ratios[-1]:.3f}  best x{best_ratio:.3f} "
                  f"{verdict:4} tracer cpu {tracer:5.3f}")
    (OUT_DIR / "bench_trace.json").write_text(json.dumps({"runs": results, "summary": summary}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
