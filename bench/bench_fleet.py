"""Benchmark `minfree fleet doctor` on 50 hosts against the same command on one host.

Usage (root: the hosts are network namespaces with a real sshd each)::

    python bench/bench_fleet.py [--hosts 50] [--runs 3] [--forks 50] [--minfree "CMD"]

Every host is a namespace made by ``tests/fleet/sshd.py`` with its own OpenSSH server, serving a
capture of ``../shared/kernel-failures`` (alternately the exhausted 5.10 node with six failure
reports and the recovered 6.1 one). The one-host and the N-host runs are the same command on
a plain host list, with ``--forks`` (default: as many as hosts); each is timed cold (a new
process, a new ssh session per host), best of ``--runs``, interleaved so that load on the
machine moves both alike. Note: the servers and the client share this machine's cores, so the
N-host run also pays every host's sshd, key exchange and remote python3 here. The key exchange
dominates: OpenSSH 9's default (sntrup761x25519, post-quantum) costs about six times the CPU of
curve25519-sha256 on both ends; ``--kex`` sets the client's KexAlgorithms to compare.

Bar (DESIGN.md): N hosts in at most 3x the wall time of one. Exit status: 0 when within the
bar and every run answered for every host, 1 otherwise, 2 when the hosts cannot be set up.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path

from bench_scan import OUT_DIR, resolve_minfree, run_timed

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


def measure(args: argparse.Namespace, fleet: sshd.Fleet) -> int:
    names = list(fleet.hosts)
    lists = {}
    for label, chosen in (("1", names[:1]), (str(len(names)), names)):
        path = Path(fleet.workdir) / f"hosts-{label}"
        path.write_text(fleet.inventory(chosen))
        lists[label] = path
    base = [*resolve_minfree(args.minfree), "fleet", "doctor", "--json", "--ssh-config", str(fleet.ssh_config),
            "--forks", str(args.forks or len(names))]
    seconds: dict[str, list[float]] = {label: [] for label in lists}
    errors = []
    for _ in range(args.runs):
        for label, path in lists.items():
            output = OUT_DIR / f"fleet-{label}.json"
            run = run_timed([*base, "-i", str(path)], output)
            seconds[label].append(run.seconds)
            try:
                doc = json.loads(output.read_text())
            except ValueError:
                errors.append(f"{label} host(s): exit {run.exit_code}, output is not JSON")
                continue
            failed = doc["summary"]["failed"]
            if failed or doc["summary"]["answered"] != int(label):
                errors.append(f"{label} host(s): {len(failed)} did not answer: "
                              + "; ".join(f"{h['name']}: {h['error']}" for h in doc["hosts"] if h["error"])[:300])
    one, many = min(seconds["1"]), min(seconds[str(len(names))])
    ratio = many / one
    within = ratio <= RATIO_BAR
    print(f"fleet benchmark: {shlex.join(base)} -i HOSTS  (key exchange: {fleet.kex or 'OpenSSH default'})")
    for label, runs in seconds.items():
        print(f"{label:>3} host(s): runs (s) " + " ".join(f"{s:.2f}" for s in runs) + f"  best {min(runs):.2f}")
    verdict = "FAIL (errors below)" if errors else ("PASS" if within else "FAIL")
    print(f"ratio {ratio:.2f}x (bar {RATIO_BAR:.1f}x)  {verdict}")
    for error in errors:
        print(f"error: {error}")
    return 0 if within and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
