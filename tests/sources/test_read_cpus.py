import os
from pathlib import Path
import pytest
from minfree.sources.readers import read_online_cpus
from minfree.sources.root import SystemRoot

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


@pytest.mark.parametrize(("era", "count"), [
    ("6.18-live", 2), ("debian-5.10", None), ("ubuntu-4.15", 8), ("rhel7-3.10", 4), ("rhel6-2.6.32-sosreport", 16),
])
def test_count_per_era(era, count):
    cpus = read_online_cpus(SystemRoot(READERS / era))
    assert (None if cpus is None else cpus.count) == count


def test_cpuinfo_fallback_without_gap(tmp_path):
    (tmp_path / "proc").mkdir()
    live = (READERS / "6.18-live" / "proc" / "cpuinfo").read_text()
    (tmp_path / "proc" / "cpuinfo").write_text(live)
    root = SystemRoot(tmp_path)
    cpus = read_online_cpus(root)
    assert cpus.count == 2 and cpus.ids == (0, 1) and root.gaps == []   # no cpu/online: cpuinfo read


def test_malformed_online_falls_back(tmp_path):
    (tmp_path / "sys/devices/system/cpu").mkdir(parents=True)
    (tmp_path / "sys/devices/system/cpu/online").write_text("garbage\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nprocessor\t: 3\n")
    assert read_online_cpus(SystemRoot(tmp_path)).ids == (0, 3)


@pytest.mark.live
def test_live_matches_affinity_capable_count():
    cpus = read_online_cpus(SystemRoot("/"))
    assert cpus.count == os.cpu_count() or cpus.count >= len(os.sched_getaffinity(0))

