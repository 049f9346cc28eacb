from pathlib import Path
import pytest
from minfree.sources.root import SystemRoot
from recording_root import RecordingRoot
from minfree.proc.sysctl import VM_SYSCTL_NAMES
from minfree.sources.specs import LOWMEM_RESERVE_RATIO
from minfree.sources.readers import read_lowmem_reserve_ratio, read_vm_sysctls

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_live_fixture():
    root = SystemRoot(READERS / "6.18-live")
    vm = read_vm_sysctls(root)
    assert vm.min_free_kbytes == 67584 and vm.watermark_scale_factor == 10
    assert vm.watermark_boost_factor == 15000 and vm.defrag_mode == 0
    assert vm.vfs_cache_pressure_denom == 100 and vm.compaction_proactiveness == 20
    assert vm.extra_free_kbytes is None and vm.percpu_pagelist_fraction is None
    assert root.gaps == []



def test_lowmem_reserve_ratio_is_not_part_of_the_bulk_read():
    """The bulk read never touches lowmem_reserve_ratio (on a live kernel the read recomputes protection)."""
    root = RecordingRoot(READERS / "6.18-live")
    read_vm_sysctls(root)
    assert LOWMEM_RESERVE_RATIO.path not in root.touched and "lowmem_reserve_ratio" not in VM_SYSCTL_NAMES
    assert read_lowmem_reserve_ratio(root) == (256, 256, 32, 0, 0)
    assert root.touched[-1] == LOWMEM_RESERVE_RATIO.path


def test_rhel6_extra_free_kbytes_and_three_ratios():
    root = SystemRoot(READERS / "rhel6-2.6.32-sosreport")
    vm = read_vm_sysctls(root)
    assert vm.extra_free_kbytes == 0 and vm.meminfo_legacy_layout == 1
    assert vm.watermark_scale_factor is None and vm.watermark_boost_factor is None
    assert vm.percpu_pagelist_fraction == 0
    assert read_lowmem_reserve_ratio(root) == (256, 256, 32)
    assert root.gaps == []


def test_missing_universal_knobs_are_gaps():
    root = SystemRoot(READERS / "ubuntu-4.15")
    vm = read_vm_sysctls(root)
    assert vm.min_free_kbytes == 67584 and vm.watermark_scale_factor == 10
    assert ("proc/sys/vm/swappiness", "missing") in root.gaps
    assert ("proc/sys/vm/watermark_boost_factor", "missing") not in root.gaps


def test_unparseable_value_is_a_gap(tmp_path):
    (tmp_path / "proc/sys/vm").mkdir(parents=True)
    (tmp_path / "proc/sys/vm/min_free_kbytes").write_text("lots\n")
    (tmp_path / "proc/sys/vm/swappiness").write_text("60\n")
    root = SystemRoot(tmp_path)
    vm = read_vm_sysctls(root)
    assert vm.min_free_kbytes is None and vm.swappiness == 60
    assert ("proc/sys/vm/min_free_kbytes", "unparseable") in root.gaps


def test_empty_root_gives_none(tmp_path):
    assert read_vm_sysctls(SystemRoot(tmp_path)) is None


@pytest.mark.live
def test_live_sysctls_match_proc():
    vm = read_vm_sysctls(SystemRoot("/"))
    assert vm.min_free_kbytes == int(Path("/proc/sys/vm/min_free_kbytes").read_text())
    assert vm.swappiness == int(Path("/proc/sys/vm/swappiness").read_text())

