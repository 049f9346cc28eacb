"""Benchmark `minfree fleet doctor` on 50 hosts against the same command on one host.

Usage (root: the hosts are network namespaces with a real sshd each)::

    python bench/bench_fleet.py [--hosts 50] [--runs 3] [--forks 50] [--minfree "CMD"]

Every host is a namespace made by ``tests/fleet/sshd.py`` with its own OpenSSH server, serving a
capture of ``../shared/kernel-failures`` (alternately the exhausted 5.10 node with six failure
reports and the recovered 6.1 one). The one-host and the N-host runs are the same command on
a plain host list, with ``--forks`` (default: as many as hosts); each is timed cold (a new
process, a new ssh session per host; bytecode caches written by a first untimed run, as an
installed minfree has them), ``--runs`` times interleaved so that load on the machine moves
both alike; the ratio is of the medians. Each run's CPU is reported on both sides: the
client's (minfree and its ssh processes, from ``wait4``) and the servers' (every test sshd
with its finished sessions), and from them what each added host costs and the least wall
time the machine's cores allow for N hosts. Note: the servers and the client share this machine's cores, so the
N-host run also pays every host's sshd, key exchange and remote python3 here. OpenSSH 9's
default key exchange (sntrup761x25519, post-quantum) costs the client about six times the CPU
of curve25519-sha256; minfree keeps whatever the user's ssh configuration chooses, and
``--kex`` sets the test client's KexAlgorithms to compare.

Bar (DESIGN.md): N hosts in at most 3x the wall time of one. Exit status: 0 when within the
bar and every run answered for every host, 1 otherwise, 2 when the hosts cannot be set up.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fleet"))
import sshd  # noqa: E402  (the test hosts, shared with tests/fleet)
from captures import KERNEL_FAILURES, make_capture  # noqa: E402

RATIO_BAR = 3.0
CAPTURES = (("5.10.262-1node-2g", "01-e1", True), ("6.1.192-1node-2g", "04-r1", False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="minfree fleet doctor: N hosts vs 1")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--forks", type=int, help="sessions at a time (default: --hosts)")
    parser.add_argument("--kex", metavar="ALGORITHMS",
                        help="the client's KexAlgorithms, e.g. curve25519-sha256 (default: OpenSSH's own)")
    parser.add_argument("--minfree", help='command for minfree, e.g. "python -m minfree"')
    args = parser.parse_args(argv)
    why = sshd.available() or (None if KERNEL_FAILURES.is_dir() else f"{KERNEL_FAILURES} is missing")
    if why:
        print(f"fleet benchmark: cannot run: {why}", file=sys.stderr)
        return 2
    OUT_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as work:
        fleet = sshd.Fleet(Path(work), kex=args.kex)
        try:
            roots = [make_capture(Path(work) / f"root{i}", *c[:2], failing=c[2]) for i, c in enumerate(CAPTURES)]
            for number in range(args.hosts):
                fleet.add(f"node{number:02d}", roots[number % len(roots)])
            return measure(args, fleet)
        finally:
            fleet.close()


@dataclass(slots=True)
class Run:
    seconds: float
    client_cpu: float      # minfree and its ssh clients (wait4 of the command)
    server_cpu: float      # every test host's sshd, shell and collector


def run_once(argv: list[str], output: Path, fleet: sshd.Fleet) -> tuple[Run, int]:
    """One cold run with stdout to ``output``: wall time, the command's CPU with its children
    (the ssh clients), the servers' CPU over the same run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}   # as users run it
    before = fleet.server_cpu_seconds()
    with open(output, "wb") as out, open(f"{output}.err", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    time.sleep(0.2)                 # each sshd reaps its session's processes
    server = fleet.server_cpu_seconds() - before
    return Run(seconds, usage.ru_utime + usage.ru_stime, server), os.waitstatus_to_exitcode(status)


def measure(args: argparse.Namespace, fleet: sshd.Fleet) -> int:
    names = list(fleet.hosts)
    lists = {}
    for label, chosen in (("1", names[:1]), (str(len(names)), names)):
        path = Path(fleet.workdir) / f"hosts-{label}"
        path.write_text(fleet.inventory(chosen))
        lists[label] = path
    base = [*resolve_minfree(args.minfree), "fleet", "doctor", "--json", "--ssh-config", str(fleet.ssh_config),
            "--forks", str(args.forks or len(names))]
    runs: dict[str, list[Run]] = {label: [] for label in lists}
    errors = []
    load = os.getloadavg()[0]
    run_once([*base, "-i", str(lists["1"])], OUT_DIR / "fleet-warmup.json", fleet)   # bytecode caches
    for _ in range(args.runs):
        for label, path in lists.items():
            output = OUT_DIR / f"fleet-{label}.json"
            run, code = run_once([*base, "-i", str(path)], output, fleet)
            runs[label].append(run)
            try:
                doc = json.loads(output.read_text())
            except ValueError:
                errors.append(f"{label} host(s): exit {code}, output is not JSON")
                continue
            failed = doc["summary"]["failed"]
            if failed or doc["summary"]["answered"] != int(label):
                errors.append(f"{label} host(s): {len(failed)} did not answer: "
                              + "; ".join(f"{h['name']}: {h['error']}" for h in doc["hosts"] if h["error"])[:300])
    many = str(len(names))
    median = {label: statistics.median(r.seconds for r in rs) for label, rs in runs.items()}
    ratio = median[many] / median["1"]
    within = ratio <= RATIO_BAR
    print(f"fleet benchmark: {shlex.join(base)} -i HOSTS  (key exchange: {fleet.kex or 'OpenSSH default'}; "
          f"{args.runs} runs of each, interleaved; load average before: {load:.1f})")
    for label, rs in runs.items():
        print(f"{label:>3} host(s): wall (s) " + " ".join(f"{r.seconds:.2f}" for r in rs)
              + f"  median {median[label]:.2f};  CPU (s) client "
              + " ".join(f"{r.client_cpu:.2f}" for r in rs) + ", servers "
              + " ".join(f"{r.server_cpu:.2f}" for r in rs))
    # the arithmetic: what each added host costs on each side, and the wall time two cores need
    one = {side: statistics.median(getattr(r, side) for r in runs["1"]) for side in ("client_cpu", "server_cpu")}
    all_ = {side: statistics.median(getattr(r, side) for r in runs[many]) for side in ("client_cpu", "server_cpu")}
    added = len(names) - 1
    per_host = {side: (all_[side] - one[side]) / added * 1000 for side in one}
    cores = os.cpu_count() or 1
    floor = (all_["client_cpu"] + all_["server_cpu"]) / cores
    print(f"per added host: client {per_host['client_cpu']:.0f} ms CPU (minfree + ssh), servers "
          f"{per_host['server_cpu']:.0f} ms CPU (sshd + shell + collector); {many} hosts need "
          f"{all_['client_cpu'] + all_['server_cpu']:.2f} CPU s = at least {floor:.2f} s on {cores} cores "
          f"({floor / median['1']:.1f}x one host's wall)")
    verdict = "FAIL (errors below)" if errors else ("PASS" if within else "FAIL")
    print(f"ratio of medians {ratio:.2f}x (bar {RATIO_BAR:.1f}x)  {verdict}")
    for error in errors:
        print(f"error: {error}")
    return 0 if within and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
