"""pagetypeinfo parser."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.model.wmark_check import FreeBlocks
from minfree.proc.buddyinfo import parse_buddyinfo
from minfree.proc.pagetypeinfo import parse_pagetypeinfo

LIVE = Path(__file__).parent.parent / "fixtures" / "proc" / "6.18-live"


def test_live_capture():
    info = parse_pagetypeinfo((LIVE / "pagetypeinfo").read_text())
    assert (info.pageblock_order, info.pages_per_block) == (9, 512)
    assert set(info.free[(0, "Normal")]) == {"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"}
    assert info.blocks[(0, "DMA32")]["Movable"] > 0
    # DMA does not change: the per-type rows add up to the buddyinfo row
    dma = FreeBlocks.from_pagetypeinfo(info.free[(0, "DMA")])
    assert dma.counts == parse_buddyinfo((LIVE / "buddyinfo").read_text())[0].counts


def test_old_era_and_capped():
    text = """Page block order: 9
Pages per block:  512

Free pages count per migrate type at order       0      1      2
Node    0, zone   Normal, type    Unmovable >100000      1      0
Node    0, zone   Normal, type      Reserve      0      0      2

Number of blocks type     Unmovable  Reclaimable      Movable      Reserve      Isolate
Node 0, zone   Normal           10            2          300            2            0
Number of mixed blocks    Unmovable  Reclaimable      Movable      Reserve      Isolate
Node 0, zone   Normal            1            0            0            0            0
"""
    info = parse_pagetypeinfo(text)
    assert info.free[(0, "Normal")]["Unmovable"] == (100000, 1, 0)
    assert info.capped == {(0, "Normal", "Unmovable", 0)}
    assert info.blocks[(0, "Normal")]["Movable"] == 300  # the mixed-blocks table does not overwrite it
    assert FreeBlocks.from_pagetypeinfo(info.free[(0, "Normal")]).types[2] == frozenset("R")


def test_unreadable_is_none():
    assert parse_pagetypeinfo(None) is None and parse_pagetypeinfo("") is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(text):
    parse_pagetypeinfo(text)
