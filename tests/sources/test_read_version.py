import platform
from pathlib import Path
import pytest
from minfree.sources.root import SystemRoot
from minfree.sources.readers import read_version

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


@pytest.mark.parametrize(("era", "release", "major_minor"), [
    ("6.18-live", "6.18.44-fc-v669", (6, 18)),
    ("debian-5.10", "5.10.0-28-amd64", (5, 10)),
    ("ubuntu-4.15", "4.15.0-213-generic", (4, 15)),
    ("rhel7-3.10", "3.10.0-1160.el7.x86_64", (3, 10)),
    ("rhel6-2.6.32-sosreport", "2.6.32-642.6.2.el6.x86_64", (2, 6)),
])
def test_release_per_era(era, release, major_minor):
    version = read_version(SystemRoot(READERS / era))
    assert version.release == release
    assert (version.version.major, version.version.minor) == major_minor


def test_falls_back_to_osrelease_without_gap(tmp_path):
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_text("6.1.0-18-amd64\n")
    root = SystemRoot(tmp_path)
    assert read_version(root).release == "6.1.0-18-amd64"
    assert root.gaps == []


def test_nothing_gives_one_gap(tmp_path):
    root = SystemRoot(tmp_path)
    assert read_version(root) is None
    assert root.gaps == [("proc/version", "missing")]


@pytest.mark.live
def test_live_matches_uname():
    assert read_version(SystemRoot("/")).release == platform.release()

