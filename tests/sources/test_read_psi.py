from pathlib import Path
import pytest
from minfree.proc.psi import PsiLine
from minfree.sources.readers import read_psi
from minfree.sources.root import SystemRoot

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_live_fixture_zeros():
    psi = read_psi(SystemRoot(READERS / "6.18-live"))
    assert psi.some == PsiLine(0.0, 0.0, 0.0, 0) and psi.full == PsiLine(0.0, 0.0, 0.0, 0)


def test_510_values():
    psi = read_psi(SystemRoot(READERS / "debian-5.10"))
    assert psi.some == PsiLine(1.53, 0.87, 0.21, 48211021)
    assert psi.full.total_us == 12004511


@pytest.mark.parametrize("era", ["rhel6-2.6.32-sosreport", "rhel7-3.10", "ubuntu-4.15"])
def test_absent_before_420_is_a_gap(era):
    root = SystemRoot(READERS / era)
    assert read_psi(root) is None
    assert root.gaps == [("proc/pressure/memory", "missing")]


@pytest.mark.live
def test_live_psi():
    root = SystemRoot("/")
    psi = read_psi(root)
    if psi is None:
        assert root.gaps and root.gaps[0][0] == "proc/pressure/memory"
    else:
        assert psi.some is not None and psi.some.total_us >= 0

