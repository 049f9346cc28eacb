"""doctor counts the failed page allocations of its window in the kernel (the eBPF counter,
else perf): a real failure (``hugetlb_squeeze``) is counted per order exactly as /proc/vmstat
``htlb_buddy_alloc_fail`` rises over the same window; nothing is left behind."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hugetlb_squeeze import grow_pool_past_memory, hugetlb_pool, order9_failures_recorded, vmstat  # noqa: F401 (a fixture)
from minfree.commands.doctor import diagnose
from minfree.render.doctor_json import to_json
from minfree.sources.root import SystemRoot
from trace_runner import wait_until_counting

pytestmark = [pytest.mark.live]
DOCTOR = [sys.executable, "-m", "minfree", "doctor"]


def _bpf_fds(pid: int | str = "self") -> list[str]:
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("anon_inode:bpf") or target.startswith("anon_inode:[perf_event]"):
            out.append(target)
    return out


@pytest.mark.root
def test_doctor_counts_a_real_failure_like_the_kernels_counter(hugetlb_pool) -> None:
    with order9_failures_recorded() as recorded:
        proc = subprocess.Popen([*DOCTOR, "--json", "--window", "5"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_until_counting(proc, lambda: "anon_inode:bpf_link" in _bpf_fds(proc.pid), "doctor")
            before = vmstat("htlb_buddy_alloc_fail")
            grow_pool_past_memory()
            ours = vmstat("htlb_buddy_alloc_fail") - before
            out, err = proc.communicate(timeout=60)
            window_total = vmstat("htlb_buddy_alloc_fail") - before
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode in (0, 1, 2), err
    failed = json.loads(out)["failed_allocations"]
    assert ours >= 1
    assert failed["counter"] == "ebpf" and failed["unavailable"] is None and failed["window_s"] >= 4.9
    # every hugetlb failure of the window is an order-9 failure the counter saw (and any other
    # order-9 failure the host had meanwhile), and the total is the sum of the orders
    assert window_total >= ours
    recorded.bounds(window_total, failed["by_order"]["9"])
    assert failed["total"] == sum(failed["by_order"].values())
    finding = next(f for f in json.loads(out)["findings"] if f["id"] == "failed_allocations")
    assert finding["evidence"]["by_order"]["9"] == failed["by_order"]["9"]
    # order 9 has a fallback (the pool stays smaller): a fragmentation signal, not an alarm
    if set(finding["evidence"]["by_order"]) == {"9"}:
        assert finding["severity"] == "info"


@pytest.mark.root
def test_the_counter_is_closed_after_the_window() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tracing = Path("/sys/kernel/tracing")
    event = tracing / "events" / "kmem" / "mm_page_alloc"

    def tracers() -> tuple:
        """What another tracer set up: no file of it is ours to write."""
        return ((event / "enable").read_text(), (event / "filter").read_text(),
                (tracing / "tracing_on").read_text(), (tracing / "set_event").read_text())

    before, other = _bpf_fds(), tracers()
    report = to_json(diagnose(SystemRoot("/"), window=0.3, kernel_log=False))
    assert report["failed_allocations"]["counter"] == "ebpf"
    assert report["failed_allocations"]["total"] is not None
    assert _bpf_fds() == before and tracers() == other


@pytest.mark.root
def test_without_ebpf_the_perf_counter_counts(hugetlb_pool, monkeypatch) -> None:
    """The stated fallback on a real failure: no eBPF -> perf, the total without orders."""
    from minfree.sources import bpf
    from minfree.sources.perf import PerfUnavailable

    def refused(*args, **kwargs):
        raise PerfUnavailable(1, "bpf(5): Operation not permitted")

    monkeypatch.setattr(bpf, "RawTracepointCounter", refused)
    seen = {}

    def squeeze() -> None:
        time.sleep(1.0)
        seen["before"] = vmstat("htlb_buddy_alloc_fail")
        grow_pool_past_memory()
        seen["ours"] = vmstat("htlb_buddy_alloc_fail") - seen["before"]

    worker = threading.Thread(target=squeeze)
    worker.start()
    try:
        report = to_json(diagnose(SystemRoot("/"), window=4, kernel_log=False))
    finally:
        worker.join()
    failed = report["failed_allocations"]
    assert failed["counter"] == "perf" and failed["by_order"] is None
    assert failed["total"] >= seen["ours"] >= 1
    assert _bpf_fds() == []


def test_no_count_without_root_or_a_window() -> None:
    window0 = to_json(diagnose(SystemRoot("/"), window=0, kernel_log=False))["failed_allocations"]
    assert window0 == {"counter": None, "window_s": None, "total": None, "by_order": None,
                       "unavailable": "--window 0: no window to count over"}
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return
    out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *DOCTOR,
                          "--json", "--window", "0.2"], capture_output=True, text=True, timeout=60, cwd="/")
    failed = json.loads(out.stdout)["failed_allocations"]
    assert failed["total"] is None and failed["unavailable"].startswith("not root"), out.stderr
    assert "failed_allocations" not in {f["id"] for f in json.loads(out.stdout)["findings"]}


def test_doctor_window_0_loads_nothing_of_the_counter() -> None:
    code = ("import sys; from minfree.cli import main; main(['doctor', '--window', '0', '--json']); "
            "print([m for m in ('minfree.sources.failcount', 'minfree.sources.bpf', 'minfree.sources.perf', 'ctypes') "
            "if m in sys.modules], file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr
