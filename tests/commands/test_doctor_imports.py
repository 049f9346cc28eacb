"""`minfree doctor --json` on a host whose kernel log holds no report imports none of what only
a report, text output or another command needs: the start-up cost the doctor benchmark
measures (bench/bench_doctor.py), guarded without timing.

Each run is a new process in its own mount namespace, with a kernel log of the test's choosing
bind-mounted over /dev/kmsg (the live ring buffer may hold anything, test reports included);
everything else doctor reads is the live host's."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kernel_failures import kernel_failure_cases

pytestmark = [pytest.mark.live, pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or not os.access("/proc/zoneinfo", os.R_OK),
    reason="needs root, unshare(1) and /proc/zoneinfo")]

# Only a report in the log, text output, --history, other commands or archives need these.
NOT_FOR_A_CLEAN_LOG = (
    "minfree.logs", "minfree.sources.logscan", "minfree.sources.logfiles", "minfree.analysis.explain",
    "minfree.analysis.origin", "minfree.analysis.verdict", "minfree.model.gfp", "minfree.tracing",
    "minfree.analysis.trends", "minfree.store.history", "minfree.render.console", "minfree.render.doctor_text",
    "minfree.commands.watch", "minfree.commands.exporter", "minfree.commands.fleet", "minfree.sources.ssh",
    "hyperscan", "numpy", "rich", "prometheus_client", "sqlite3", "tarfile", "zipfile", "pickle",
    "multiprocessing", "subprocess", "tempfile", "stringzilla",
    "typing", "datetime", "pathlib",   # ~4, ~2 and ~4 ms of a cold start; annotations and Protocols are for type checkers
    "dataclasses", "inspect",   # ~12 ms with what inspect imports; minfree's records do without (model/record.py)
    "shutil",   # ~3 ms; argparse's formatter imports it for the terminal width unless given one (cli._Parser)
)

# Runs the real CLI, then prints its exit code, its JSON and every module it imported.
RUN_DOCTOR = """
import contextlib, io, json, sys
from minfree.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["doctor", "--window", "0", "--since", "boot", "--json"])
print(json.dumps({"code": code, "report": json.loads(out.getvalue()), "modules": sorted(sys.modules)}))
"""


def _doctor_with_log(log: bytes, tmp_path: Path) -> tuple[dict, set[str]]:
    kmsg = tmp_path / "kmsg"
    kmsg.write_bytes(log)
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" /dev/kmsg && exec "$2" -c "$3"', "sh", str(kmsg), sys.executable, RUN_DOCTOR],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["code"] in (0, 1, 2, 3)
    return result["report"], set(result["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


CLEAN_LOG = (b"5,0,0,-;Linux version 6.18.0 (gcc) #1 SMP\n"
             b"6,1,1946,-;NODE_DATA(0) allocated [mem 0x63ffd5500-0x63fffffff]\n"
             b"6,2,2513,-;eth0: link up\n"
             # written by a test into /dev/kmsg: user space's facility, not a kernel report
             b"12,3,7122680401,-;mftest41de905f: page allocation failure: order:1, mode:0x820(GFP_ATOMIC)\n")


def test_a_clean_log_imports_no_log_machinery_nor_rich(tmp_path: Path) -> None:
    report, modules = _doctor_with_log(CLEAN_LOG, tmp_path)
    assert report["failures_in_log"]["events"] == 0 and report["failures_in_log"]["related"] == {}
    assert _loaded(modules, NOT_FOR_A_CLEAN_LOG) == []
    if not any(f["id"] == "high_order_depletion" for f in report["findings"]):
        # slabinfo is read (and its parser imported) only for the finding that cites slab caches
        assert _loaded(modules, ("minfree.proc.slabinfo",)) == []


@pytest.mark.skipif(not kernel_failure_cases(), reason="../shared/kernel-failures not found")
def test_a_log_with_reports_is_scanned(tmp_path: Path) -> None:
    """The same run on a real /dev/kmsg capture holding six reports (6.1): they are counted, so
    the check above does not pass only because nothing is ever scanned."""
    capture = next(c for c in kernel_failure_cases() if c.name.startswith("6.1")) / "kmsg.txt"
    report, modules = _doctor_with_log(capture.read_bytes(), tmp_path)
    assert report["failures_in_log"]["events"] == 6
    assert "minfree.logs.scanner" in modules and "minfree.analysis.explain" in modules
