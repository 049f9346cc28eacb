from pathlib import Path
import pytest
from minfree.proc.numa import NodeMemory
from minfree.sources.readers import read_numa
from minfree.sources.root import SystemRoot

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_single_node():
    numa = read_numa(SystemRoot(READERS / "6.18-live"))
    assert numa.online == (0,) and numa.possible == (0,) and numa.memory_nodes == (0,)
    assert numa.nodes == (NodeMemory(0, 4024524, 3796932),)


def test_rhel6_two_nodes_without_has_memory():
    root = SystemRoot(READERS / "rhel6-2.6.32-sosreport")
    numa = read_numa(root)
    assert numa.online == (0, 1) and numa.has_memory is None and numa.memory_nodes == (0, 1)
    assert [n.mem_total_kb for n in numa.nodes] == [8372224, 8388608]
    assert root.gaps == []


def test_non_numa_kernel(tmp_path):
    root = SystemRoot(tmp_path)
    assert read_numa(root) is None
    assert root.gaps == [("sys/devices/system/node/online", "missing")]


@pytest.mark.live
def test_live_numa():
    numa = read_numa(SystemRoot("/"))
    assert numa is not None and 0 in numa.online
    assert all(n.mem_total_kb and n.mem_total_kb > 0 for n in numa.nodes if n.node in numa.memory_nodes)

