"""The exposition of fixed captured roots, byte for byte: a faster exporter must serve exactly
what it served before for the same readings (golden files in ``exposition/``).

Each root is a Debian guest capture (tests/fixtures/distro) with fixed network, PSI and
softnet files added, and a kernel log of two published reports (../shared/corpus) as
/dev/kmsg records, so every family the exporter writes has samples. Regenerate a golden file
only for an intended change of the output: ``MINFREE_PIN=write pytest tests/render/test_prometheus_pinned.py``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from minfree import __version__
from minfree.commands.exporter import Collector, KernelLogCounter
from minfree.render.prometheus import exposition, families, to_json
from minfree.sources.kmsg import KmsgCursor
from minfree.sources.root import SystemRoot

HERE = Path(__file__).resolve().parent
DISTRO = HERE.parent / "fixtures" / "distro"
CORPUS = HERE.parents[2] / "shared" / "corpus"   # ../shared beside the checkout
LOGS = ("001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log", "028-gh-coreos-489-4.3-mode0x120-no-trace.log")
CAPTURES = ("6.1.0-56-amd64-n1-thp-2g", "6.12.117+deb12-amd64-n2-movable256m-4g", "6.12.117+deb12-amd64-n4-thp-2g")

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9273610   41254    0    0    0     0          0         0  9273610   41254    0    0    0     0       0          0
  eth0: 884021931 612907    0   17    3     0          0         0 21981344  201337    0    0    0     0       0          0
"""
SNMP = """Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens RetransSegs
Tcp: 1 200 120000 -1 3511 4242
"""
NETSTAT = """TcpExt: PruneCalled TCPBacklogDrop TCPRcvQDrop TCPMemoryPressures
TcpExt: 12 3 250 2
"""
PSI = """some avg10=0.01 avg60=0.24 avg300=0.19 total=13787586
full avg10=0.00 avg60=0.18 avg300=0.13 total=5252588
"""
SOFTNET = ("0019e91d 00000002 00000005 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
           "00000000 00000000 00000000 00000000 00000000\n"
           "00186a46 00000007 00000004 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
           "00000000 00000000 00000001 00000000 00000000\n")


def kmsg(logs: list[Path]) -> bytes:
    """dmesg text logs as /dev/kmsg records (PRIORITY,SEQ,USEC,-;TEXT), one after the other."""
    lines = [line for log in logs for line in log.read_text(errors="replace").splitlines()]
    return b"".join(f"4,{seq},{seq * 1000},-;{line.split('] ', 1)[-1]}\n".encode()
                    for seq, line in enumerate(lines))


def pinned_root(tmp_path: Path, capture: str) -> Path:
    root = tmp_path / "root"
    shutil.copytree(DISTRO / capture, root)
    proc = root / "proc"
    for name, text in (("net/dev", NET_DEV), ("net/snmp", SNMP), ("net/netstat", NETSTAT),
                       ("pressure/memory", PSI), ("net/softnet_stat", SOFTNET)):
        (proc / name).parent.mkdir(parents=True, exist_ok=True)
        (proc / name).write_text(text)
    return root


def reading_of(tmp_path: Path, capture: str):
    root = pinned_root(tmp_path, capture)
    (tmp_path / "kmsg").write_bytes(kmsg([CORPUS / "logs" / name for name in LOGS]))
    with KmsgCursor(str(tmp_path / "kmsg")) as cursor:
        counter = KernelLogCounter(cursor)
        counter.poll(final=True)
        reading = Collector(SystemRoot(root), counter, clock=lambda: 1000.0).read()
    # a fixed in-kernel count (what the eBPF counter would read), as the files above are fixed
    reading.failed_allocations, reading.failed_allocations_by_order = 7, {0: 2, 1: 0, 9: 5}
    reading.failed_allocations_method = "ebpf"
    reading.failed_allocations_by_class = {("silent_blocking", 9): 5, ("silent_atomic", 0): 1, ("logged", 0): 1}
    return reading


@pytest.mark.skipif(not (CORPUS / "logs" / LOGS[0]).is_file(), reason="shared corpus missing")
@pytest.mark.parametrize("capture", CAPTURES)
def test_exposition_is_pinned(tmp_path: Path, capture: str) -> None:
    reading = reading_of(tmp_path, capture)
    text = exposition(families(reading)).replace(f'version="{__version__}"'.encode(), b'version="VERSION"')
    golden = HERE / "exposition" / f"{capture}.prom"
    if os.environ.get("MINFREE_PIN") == "write":
        golden.write_bytes(text)
    assert text == golden.read_bytes()
    # every family of the text has samples, the kernel log's and the network's included
    assert b"minfree_kernel_log_allocation_failures_total{" in text
    assert b'minfree_network_receive_drops_total{device="eth0"} 17.0' in text
    assert b'minfree_failed_allocations_total{order="9"} 5.0' in text
    assert b'minfree_failed_allocations_by_class_total{class="silent_blocking",order="9"} 5.0' in text
    # --once --json is the same families
    assert [m["name"] for m in to_json(list(families(reading)))["metrics"]] == [m.name for m in families(reading)]
