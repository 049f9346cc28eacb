"""``minfree trace`` as a user meets it: modes, errors, a closed pipe, cleanup."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from nonblocking_load import fill_unread_socket
from trace_runner import INSTANCES, start_trace

pytestmark = [pytest.mark.live, pytest.mark.root]
TRACE = [sys.executable, "-m", "minfree", "trace"]


@pytest.fixture
def root_and_tracefs():
    if os.geteuid() != 0 or not INSTANCES.is_dir():
        pytest.skip("needs root and tracefs")


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    """Run trace; check that it removed its tracefs instance."""
    proc = subprocess.Popen([*TRACE, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert not (INSTANCES / f"minfree-trace-{proc.pid}").exists()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_count_only_counts_in_the_kernel_without_records(root_and_tracefs) -> None:
    out = _run(["--duration", "1", "--count-only", "--json"])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["counted_in_kernel"] == doc["failed_total"] and doc["records"] == 0
    assert "in-kernel count" in doc["sources"] and "records" not in doc["sources"]


def test_demand_counts_non_blocking_allocations_per_order(root_and_tracefs) -> None:
    proc = start_trace("--duration", "3", "--interval", "1", "--json")
    fill_unread_socket()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert set(doc["demand_per_s"]) >= {str(o) for o in range(11)}
    # the unread socket's page fragments: order 3 without direct reclaim
    assert doc["demand_per_s"]["3"] > 0 and doc["atomic_pages_per_s"] >= 8 * doc["demand_per_s"]["3"]
    assert sum(sum(i["demand"].values()) for i in doc["intervals"]) == pytest.approx(
        sum(doc["demand_per_s"].values()) * doc["window_s"], rel=1e-3)


def test_text_output_and_a_closed_pipe(root_and_tracefs) -> None:
    """``minfree trace --follow | head -n 1``: exit 0 once the reader is gone, instance removed."""
    script = f"({' '.join(TRACE)} --follow --interval 0.2 & pid=$!; echo $pid >&2; wait $pid; echo $? >&2) | head -n 1"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "NO_COLOR": "1"})
    pid, status = out.stderr.split()
    assert "failed" in out.stdout and "\x1b[" not in out.stdout
    assert status == "0"  # and nothing else on stderr: no traceback
    assert not (INSTANCES / f"minfree-trace-{pid}").exists()


def test_not_root_is_one_line_and_exit_1() -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to drop it")
    out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *TRACE, "--duration", "1"],
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "needs root" in out.stderr


@pytest.mark.parametrize("argv", [["--duration", "0"], ["--interval", "-1"], ["--duration", "x"]])
def test_bad_arguments_are_usage_errors(argv) -> None:
    out = subprocess.run([*TRACE, *argv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "error" in out.stderr and "Traceback" not in out.stderr
