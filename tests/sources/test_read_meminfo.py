from pathlib import Path
import pytest
from minfree.sources.readers import read_meminfo, read_node_meminfo
from minfree.sources.root import SystemRoot

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_live_fixture():
    info = read_meminfo(SystemRoot(READERS / "6.18-live"))
    assert info.mem_total_kb == 24684084
    assert info.kb["KReclaimable"] == 22960 and info.kb["SecPageTables"] == 0
    assert info.counts == {"HugePages_Total": 0, "HugePages_Free": 0, "HugePages_Rsvd": 0, "HugePages_Surp": 0}


def test_rhel6_legacy_layout_has_no_mem_available():
    info = read_meminfo(SystemRoot(READERS / "rhel6-2.6.32-sosreport"))
    assert info.mem_available_kb is None
    assert info.kb["AnonHugePages"] == 1953792 and info.kb["HardwareCorrupted"] == 0
    assert "KReclaimable" not in info.kb


def test_rhel7_has_mem_available():
    assert read_meminfo(SystemRoot(READERS / "rhel7-3.10")).mem_available_kb == 12402248


def test_node_meminfo_two_nodes():
    root = SystemRoot(READERS / "rhel6-2.6.32-sosreport")
    node1 = read_node_meminfo(root, 1)
    assert (node1.node, node1.mem_total_kb, node1.mem_free_kb) == (1, 8388608, 210924)
    assert read_node_meminfo(root, 7) is None
    assert root.gaps == [("sys/devices/system/node/node7/meminfo", "missing")]


@pytest.mark.live
def test_live_meminfo_and_node0():
    root = SystemRoot("/")
    info = read_meminfo(root)
    assert info.mem_total_kb > 0 and info.mem_free_kb <= info.mem_total_kb
    node0 = read_node_meminfo(root, 0)
    if node0 is not None:
        assert node0.node == 0 and node0.mem_total_kb > 0

