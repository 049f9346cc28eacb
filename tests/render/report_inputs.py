"""Inputs of every kind ``minfree report`` reads, made from real captures: a snapshot of a real
Debian 6.1 boot that logged failure reports (../shared/kernel-failures), its log alone, a
history written through the recorder's own writer, and a fleet run's JSON built by fleet's own
functions from three such hosts (one of them set differently: an outlier)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1] / "bench"), str(HERE.parent / "fleet")]

from bench_report import write_history  # noqa: E402
from captures import make_capture  # noqa: E402

CASE, STEP = "6.1.192-1node-2g", "01-e1"
#: A comm and a trace frame that would run script in a page that did not escape them.
HOSTILE_COMM = "<svg/onload=x>"
HOSTILE_FRAME = "evil</script><script>alert(1)</script>"


def snapshot(tmp: Path) -> Path:
    return make_capture(tmp / "snap", CASE, STEP, failing=True)


def logs(tmp: Path) -> Path:
    """The capture's kernel log with one report's comm and a frame made hostile."""
    root = make_capture(tmp / "logsrc", CASE, STEP, failing=True)
    text = (root / "var" / "log" / "dmesg").read_text(errors="replace")
    text = text.replace(";swapper/0: page allocation failure", f";{HOSTILE_COMM}: page allocation failure", 1)
    text = text.replace("; warn_alloc+", f"; {HOSTILE_FRAME}+", 1)
    out = tmp / "kern.log"
    out.write_text(text)
    return out


def history(tmp: Path, hours: float = 2.0) -> Path:
    path = tmp / "history.db"
    write_history(path, int(hours * 3600), failures_every=1800)
    return path


def fleet(tmp: Path) -> Path:
    """``minfree fleet doctor --json`` of three hosts, built with the functions fleet runs."""
    from minfree.analysis.fleet import HostOutcome, build_cluster, fleet_status, node_from_doctor
    from minfree.commands.doctor import diagnose
    from minfree.render.doctor_json import to_json
    from minfree.render.fleet_json import document, host_entry
    from minfree.sources.root import SystemRoot

    rows, logs_, entries = [], [], []
    for i, failing in enumerate((True, False, False)):
        root_dir = make_capture(tmp / f"host{i}", CASE, STEP, failing=failing)
        if i == 2:   # a host set apart: min_free_kbytes differs from its peers'
            (root_dir / "proc" / "sys" / "vm" / "min_free_kbytes").write_text("262144\n")
        name = f"db{i + 1}" if i else HOSTILE_COMM
        with SystemRoot(root_dir) as root:
            report = diagnose(root, window=0)
        rows.append(node_from_doctor(name, report))
        if report.failures is not None:
            logs_.append((name, report.failures, None))
        entries.append(host_entry(HostOutcome(name, f"10.0.0.{i + 1}", None, 0.1), to_json(report)))
    entries.append(host_entry(HostOutcome("db4", "10.0.0.4", "ssh: connection refused", 5.0), None))
    view = build_cluster(rows, logs_)
    doc = document("doctor", entries, view, fleet_status([r.status for r in rows if r.status], 1))
    out = tmp / "run.json"
    out.write_text(json.dumps(doc))
    return out
