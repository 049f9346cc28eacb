"""Node id lists (``%*pbl``), the format of node/online, possible and has_memory."""
from hypothesis import given, strategies as st

from minfree.proc.numa import parse_id_list


def test_overlapping_ranges_merge():
    assert parse_id_list("0-1,1-2") == (0, 1, 2)


@given(st.text())
def test_never_raises(text):
    parse_id_list(text)
