"""`minfree fleet trace` against real OpenSSH servers in network namespaces. The hosts share
this kernel, so a real failure (the hugetlb squeeze, tests/commands/hugetlb_squeeze.py) during
the window must reach every host's records, counted as the kernel counts it; the remote
tracer's tracefs instance is gone afterwards, also when the run is interrupted."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from minfree.analysis.failure_classes import SILENT_BLOCKING
from minfree.cli import main
from minfree.sources.ssh import BOOTSTRAP, RemoteError, SshOptions
from minfree.sources.ssh_tracer import INSTANCE_PREFIX
from minfree.sources.ssh_trace import TRACER, trace_host

import sshd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from hugetlb_squeeze import grow_pool_past_memory, hugetlb_pool, vmstat  # noqa: E402,F401 (a fixture)

INSTANCES = Path("/sys/kernel/tracing/instances")
pytestmark = [pytest.mark.slow, pytest.mark.live, pytest.mark.root,
              pytest.mark.skipif(sshd.available() is not None or not INSTANCES.is_dir(),
                                 reason=sshd.available() or "tracefs is not mounted")]


def ours() -> set[str]:
    return {p.name for p in INSTANCES.iterdir() if p.name.startswith(INSTANCE_PREFIX)}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    hosts = sshd.Fleet(tmp_path_factory.mktemp("trace"))
    try:
        for name in ("t1", "t2"):
            hosts.add(name, None)
        hosts.add("down", None, start=False)
        yield hosts
    finally:
        hosts.close()


def test_a_squeeze_in_the_window_reaches_every_host_as_the_kernel_counts_it(fleet, hugetlb_pool, capsys) -> None:
    before_instances = ours()
    result = {}

    def run() -> None:
        result["code"] = main(["fleet", "trace", "--hosts", "t1,t2,down", "--duration", "5", "--json",
                               "--ssh-config", str(fleet.ssh_config), "--connect-timeout", "5"])

    tracer = threading.Thread(target=run)
    tracer.start()
    deadline = time.monotonic() + 20
    while len(ours() - before_instances) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ours() - before_instances) == 2           # each host's own instance, tracing
    before = vmstat("htlb_buddy_alloc_fail")
    grow_pool_past_memory()
    squeezed = vmstat("htlb_buddy_alloc_fail") - before
    tracer.join(timeout=60)
    doc = json.loads(capsys.readouterr().out)
    assert result["code"] == 1 and squeezed >= 1          # 1: a host did not answer
    assert ours() == before_instances                     # every instance removed
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert "Connection refused" in hosts["down"]["error"] and doc["summary"]["failed"] == ["down"]
    for name in ("t1", "t2"):
        host = hosts[name]
        assert host["error"] is None and host["kernel"] == os.uname().release
        mine = [f for f in host["failures"] if f["pid"] == os.getpid()]
        # classified with minfree trace's code: the pool's order-9 __GFP_NOWARN allocations
        assert len(mine) == squeezed, host
        assert all(f["order"] == 9 and f["class"] == SILENT_BLOCKING for f in mine)
        assert host["failed_total"] == host["records"] + host["lost"] >= squeezed
        assert host["missing"] == []                      # call sites: the stacktrace trigger ran
    rows = {row["name"]: row for row in doc["nodes"]}
    assert set(rows) == {"t1", "t2"} and all(row["traced_s"] == 5.0 for row in rows.values())
    assert all(row["by_class"].get(SILENT_BLOCKING, 0) >= squeezed for row in rows.values())
    timeline = [t for t in doc["timeline"] if t["host"] in rows and t["origin"] == SILENT_BLOCKING]
    assert len(timeline) >= 2 * squeezed and timeline == sorted(timeline, key=lambda t: t["at"])


def test_ctrl_c_removes_every_remote_instance(fleet) -> None:
    before_instances = ours()
    child = subprocess.Popen([sys.executable, "-m", "minfree", "fleet", "trace", "--hosts", "t1,t2",
                              "--duration", "120", "--ssh-config", str(fleet.ssh_config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while len(ours() - before_instances) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(ours() - before_instances) == 2
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 130
        deadline = time.monotonic() + 10          # each tracer sees its session end, and cleans up
        while ours() != before_instances and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ours() == before_instances
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_the_tracer_removes_its_instance_on_sigterm() -> None:
    """The remote program itself (as the bootstrap runs it on a host), signalled mid-window."""
    from minfree.sources.ssh import _payload

    before_instances = ours()
    tracer = subprocess.Popen([sys.executable, "-I", "-S", "-c", BOOTSTRAP], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert tracer.stdin is not None and tracer.stdout is not None
        tracer.stdin.write(_payload(TRACER) + b"60\n")
        tracer.stdin.flush()
        deadline = time.monotonic() + 20
        while not ours() - before_instances and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(ours() - before_instances) == 1
        tracer.send_signal(signal.SIGTERM)
        assert tracer.wait(timeout=20) == 0
        assert ours() == before_instances
        assert b"Traceback" not in tracer.stderr.read()
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()


def test_a_host_that_cannot_trace_is_named_with_its_reason(fleet) -> None:
    """The tracer's own words come back as the host's failure (here: a window over a day,
    which the command line never sends)."""
    host = fleet.hosts["t1"]
    with pytest.raises(RemoteError, match="^cannot trace there: the window is not a number of seconds$"):
        trace_host(host.address, None, None, SshOptions(str(fleet.ssh_config), timeout=20), 5e6)
