from pathlib import Path
import pytest
from minfree.sources.root import SystemRoot
from minfree.sources.readers import read_thp

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_live_fixture_with_mthp_sizes():
    thp = read_thp(SystemRoot(READERS / "6.18-live"))
    assert (thp.enabled, thp.defrag, thp.shmem_enabled) == ("madvise", "madvise", "never")
    assert thp.khugepaged_defrag is True and thp.khugepaged["pages_to_scan"] == 4096
    assert thp.per_size_enabled[2048] == "inherit" and 16 in thp.per_size_enabled
    assert thp.directory == "sys/kernel/mm/transparent_hugepage"


def test_rhel6_redhat_path_and_yes_no_flag():
    root = SystemRoot(READERS / "rhel6-2.6.32-sosreport")
    thp = read_thp(root)
    assert thp.directory == "sys/kernel/mm/redhat_transparent_hugepage" and thp.enabled == "always" and thp.defrag == "always"
    assert thp.khugepaged_defrag is True and thp.shmem_enabled is None and thp.per_size_enabled == {}
    assert root.gaps == []


def test_310_and_415_layouts():
    thp = read_thp(SystemRoot(READERS / "rhel7-3.10"))
    assert thp.enabled == "always" and thp.khugepaged_defrag is True and thp.shmem_enabled is None
    thp = read_thp(SystemRoot(READERS / "ubuntu-4.15"))
    assert (thp.enabled, thp.defrag, thp.shmem_enabled) == ("madvise", "madvise", "never")


def test_no_thp_is_one_gap(tmp_path):
    root = SystemRoot(tmp_path)
    assert read_thp(root) is None
    assert root.gaps == [("sys/kernel/mm/transparent_hugepage/enabled", "missing")]


@pytest.mark.live
def test_live_thp():
    thp = read_thp(SystemRoot("/"))
    raw = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    assert f"[{thp.enabled}]" in raw

