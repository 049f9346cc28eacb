"""The degrade order of ``minfree trace``, each rung made real: the kernel itself refuses the
piece (a seccomp filter returning EPERM for ``bpf`` or ``perf_event_open``, as a container's
seccomp profile does; a mount namespace without tracefs; a user namespace). Each run must
exit cleanly, say in one line per piece what is missing, use the next backend, and leave no
tracefs instance behind. No sysctl is changed (no lock needed)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from syscall_denial import deny, supported
from trace_runner import INSTANCES

pytestmark = [pytest.mark.live, pytest.mark.root]
TRACE = [sys.executable, "-m", "minfree", "trace", "--duration", "1"]
#: a private mount namespace (unshare's default propagation is private) without tracefs
NO_TRACEFS = ["unshare", "-m", "sh", "-c",
              "umount -l /sys/kernel/tracing; umount -l /sys/kernel/debug 2>/dev/null; exec \"$@\"", "-"]
NO_HIST = ("hist trigger: no hist triggers on this kernel (no events/kmem/mm_page_alloc/hist: "
           "CONFIG_HIST_TRIGGERS is off)")  # this VM's kernel: the rung between eBPF and perf is absent


@pytest.fixture(autouse=True)
def _needs_root_tracefs_seccomp():
    if os.geteuid() != 0 or not INSTANCES.is_dir() or not supported() or shutil.which("unshare") is None:
        pytest.skip("needs root, tracefs, x86-64 seccomp and unshare")


def _run(argv: list[str], *, prefix: list[str] = (), denied: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([*prefix, *TRACE, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=deny(*denied) if denied else None)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert not (INSTANCES / f"minfree-trace-{proc.pid}").exists()  # unshare and sh exec: the same pid
    assert not (INSTANCES / f"minfree-count-{proc.pid}").exists()  # the hist rung cleaned up too
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_without_tracefs_ebpf_counts_and_records() -> None:
    out = _run(["--json"], prefix=NO_TRACEFS)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sources"] == {"in-kernel count": "eBPF raw tracepoint program (failures and demand per order)",
                              "records": "eBPF ring buffer with kernel stacks"}
    assert len(doc["missing"]) == 1 and doc["missing"][0].startswith("tracefs is not mounted")
    assert doc["kswapd"] is None and doc["direct_reclaim"] is None and doc["kernel_log"] is not None
    assert doc["failed_total"] == doc["counted_in_kernel"] == doc["records"] + doc["lost"]


def test_without_ebpf_the_perf_counter_counts() -> None:
    out = _run(["--json"], denied=("bpf",))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sources"]["in-kernel count"].startswith("perf counting event")
    assert doc["sources"]["records"] == "tracefs instance with stack traces"
    assert doc["missing"] == ["eBPF counter: bpf(0): Operation not permitted (so no demand)", NO_HIST]
    assert doc["demand_per_s"] == {} and doc["failed_total"] == doc["counted_in_kernel"]


def test_without_ebpf_and_perf_the_tracefs_records_count() -> None:
    out = _run(["--json"], denied=("bpf", "perf_event_open"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sources"] == {"records": "tracefs instance with stack traces"}
    assert doc["missing"][1] == NO_HIST
    assert doc["missing"][2].startswith("in-kernel count: perf_event_open(tracepoint ")
    assert doc["missing"][2].endswith("Operation not permitted")
    assert doc["counted_in_kernel"] is None and doc["failed_total"] == doc["records"] + doc["lost"]


def test_in_a_user_namespace_perf_and_ebpf_are_refused() -> None:
    """Root mapped into a user namespace (a container): no CAP_BPF or CAP_PERFMON in the
    initial namespace, so the kernel refuses both; tracefs still admits uid 0 by its modes."""
    out = _run(["--json"], prefix=["unshare", "--user", "--map-root-user"])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["missing"][0] == "eBPF counter: bpf(0): Operation not permitted (so no demand)"
    assert doc["missing"][1] == NO_HIST
    assert doc["missing"][2].startswith("in-kernel count: perf_event_open(")
    assert doc["counted_in_kernel"] is None and doc["sources"]["records"].startswith("tracefs instance")


def test_tracefs_refusing_with_eperm_leaves_ebpf_counting() -> None:
    """What confidentiality lockdown does to tracefs (security_locked_down(LOCKDOWN_TRACEFS):
    EPERM), simulated: this VM is locked down in integrity mode only, and raising it to
    confidentiality cannot be undone before a reboot. Here mkdir fails with EPERM (seccomp), so
    the instance for the reclaim events cannot be made; the eBPF program still counts and
    records."""
    out = _run(["--json"], denied=("mkdir", "mkdirat"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sources"]["records"] == "eBPF ring buffer with kernel stacks"
    [line] = doc["missing"]
    assert re.fullmatch(rf"reclaim latencies: cannot create tracefs instance {INSTANCES}/minfree-trace-\d+: "
                        "Operation not permitted", line)
    assert doc["kswapd"] is None


def test_with_nothing_left_it_says_why_in_one_line_and_exits_1() -> None:
    out = _run([], prefix=NO_TRACEFS, denied=("bpf",))
    assert out.returncode == 1 and out.stdout == ""
    line = out.stderr.strip()
    assert "\n" not in line and line.startswith("minfree trace: nothing can count here: tracefs is not mounted")
    assert "eBPF counter: bpf(0): Operation not permitted" in line
    assert "hist triggers and perf need tracefs, which is not mounted" in line
