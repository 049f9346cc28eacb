"""buddyinfo parser."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.proc.buddyinfo import parse_buddyinfo

LIVE = Path(__file__).parent.parent / "fixtures" / "proc" / "6.18-live"


def test_live_capture():
    rows = parse_buddyinfo((LIVE / "buddyinfo").read_text())
    assert [r.zone for r in rows] == ["DMA", "DMA32", "Normal"]
    assert all(len(r.counts) == 11 for r in rows)
    assert rows[0].free_pages == 3840  # DMA is untouched: equals zoneinfo "pages free"


def test_skips_malformed_rows():
    text = "Node 0, zone Normal 1 2 x\nNode 0, zone DMA32 1 2 3\nNode , zone X 1"
    assert [(r.zone, r.counts) for r in parse_buddyinfo(text)] == [("DMA32", (1, 2, 3))]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(text):
    parse_buddyinfo(text)
