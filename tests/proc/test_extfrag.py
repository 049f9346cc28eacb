"""debugfs extfrag parser."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.proc.extfrag import parse_extfrag

LIVE = Path(__file__).parent.parent / "fixtures" / "proc" / "6.18-live"


def test_live_captures():
    unusable = parse_extfrag((LIVE / "unusable_index").read_text())
    extfrag = parse_extfrag((LIVE / "extfrag_index").read_text())
    assert [r.zone for r in unusable] == [r.zone for r in extfrag] == ["DMA", "DMA32", "Normal"]
    assert unusable[0].values[9:] == (66, 200)
    assert all(-1000 <= v <= 1000 for r in unusable + extfrag for v in r.values)


def test_6_1_padded_format():
    row = parse_extfrag("Node 0, zone   Normal  0.000  0.912 -1.000")[0]
    assert row.values == (0, 912, -1000)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(text):
    parse_extfrag(text)
