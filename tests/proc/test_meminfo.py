from pathlib import Path
from hypothesis import given, strategies as st
from minfree.proc.meminfo import parse_meminfo, parse_node_meminfo

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_rhel6_mem_available_printed_last_when_layout_not_legacy():
    text = (READERS / "rhel6-2.6.32-sosreport" / "proc" / "meminfo").read_text()
    info = parse_meminfo(text + "MemAvailable:   12000000 kB\n")
    assert info.mem_available_kb == 12000000


def test_garbage_lines_skipped():
    info = parse_meminfo("MemTotal: lots kB\nMemFree:\nweird line\nX: 5 MB\nMemFree: 10 kB\n: 3 kB\n")
    assert info.kb == {"MemFree": 10} and info.counts == {}


@given(st.text())
def test_never_raises(text):
    parse_meminfo(text)
    parse_node_meminfo(text)

