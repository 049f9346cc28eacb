"""unusable_index / extfrag_index against debugfs text captured on this machine."""

from pathlib import Path

from hypothesis import given, strategies as st

from minfree.model.fragmentation import extfrag_index, format_index, indices_by_order, unusable_index
from minfree.proc.buddyinfo import parse_buddyinfo
from minfree.proc.extfrag import parse_extfrag

LIVE = Path(__file__).parent.parent / "fixtures" / "proc" / "6.18-live"


def test_fixture_snapshot_matches_debugfs():
    # buddyinfo, unusable_index and extfrag_index were read back-to-back twice and agreed.
    buddy = {(r.node, r.zone): r.counts for r in parse_buddyinfo((LIVE / "buddyinfo").read_text())}
    for name, fn in (("unusable_index", unusable_index), ("extfrag_index", extfrag_index)):
        rows = parse_extfrag((LIVE / name).read_text())
        assert rows
        for row in rows:
            counts = buddy[(row.node, row.zone)]
            assert tuple(fn(counts, o) for o in range(len(counts))) == row.values, (name, row.zone)


def test_hand_computed_values():
    # free_pages = 4 + 2*2 = 8, total blocks 6, order 2: no suitable block
    counts = [4, 2, 0]
    assert unusable_index(counts, 0) == 0
    assert unusable_index(counts, 1) == (8 - 2 * 2) * 1000 // 8 == 500
    assert unusable_index(counts, 2) == 1000
    assert extfrag_index(counts, 2) == 1000 - (1000 + 8 * 1000 // 4) // 6 == 500
    assert extfrag_index(counts, 1) == -1000
    assert format_index(extfrag_index(counts, 1)) == "-1.000"
    assert (unusable_index([], 0), extfrag_index([], 0)) == (1000, 0)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=13))
def test_indices_by_order_equal_the_per_order_functions(counts):
    """The one-pass table of every order is the kernel's per-order arithmetic."""
    orders = range(len(counts))
    assert indices_by_order(counts) == (tuple(unusable_index(counts, o) for o in orders),
                                        tuple(extfrag_index(counts, o) for o in orders))
