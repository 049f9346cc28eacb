"""relieve on a temp root: one write through the sysctl writer, buddyinfo measured before and
after through the root; nothing is written when the measurement cannot start."""
from __future__ import annotations

import pytest

from minfree.actions.relieve import DROP_CACHES_COST, relieve

# this machine's /proc/buddyinfo (6.18)
BUDDYINFO = """\
Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
Node 0, zone    DMA32      4      1      2      2      2      2      1      4      4      2    752
Node 0, zone   Normal    605   1572    499    722    397    116     51     35     18     23    199
"""


@pytest.fixture
def root(tmp_path):
    (tmp_path / "proc/sys/vm").mkdir(parents=True)
    (tmp_path / "proc/buddyinfo").write_text(BUDDYINFO)
    for knob in ("compact_memory", "drop_caches"):
        (tmp_path / "proc/sys/vm" / knob).write_text("")
    return tmp_path


def test_compact_writes_one_and_measures_every_zone(root):
    relief = relieve("compact", root)
    assert (root / "proc/sys/vm/compact_memory").read_text() == "1\n"
    assert (root / "proc/sys/vm/drop_caches").read_text() == ""
    assert [(z.node, z.zone) for z in relief.after] == [(0, "DMA"), (0, "DMA32"), (0, "Normal")]
    normal = relief.before[2]
    assert normal.free_blocks[:3] == (605, 1572, 499) and normal.free_pages == relief.after[2].free_pages
    assert normal.unusable[10] == 183 and normal.extfrag[10] == -1000  # debugfs: 0.183, -1.000
    assert relief.sync_seconds is None and relief.notes == []


def test_drop_caches_syncs_writes_three_and_says_what_it_costs(root):
    relief = relieve("drop_caches", root)
    assert (root / "proc/sys/vm/drop_caches").read_text() == "3\n"
    assert relief.sync_seconds is not None and relief.seconds >= relief.sync_seconds
    assert relief.notes == [DROP_CACHES_COST] and "cold cache" in DROP_CACHES_COST


def test_unreadable_buddyinfo_writes_nothing(root):
    (root / "proc/buddyinfo").unlink()
    with pytest.raises(OSError, match="proc/buddyinfo"):
        relieve("compact", root)
    assert (root / "proc/sys/vm/compact_memory").read_text() == ""


def test_unknown_action_is_refused(root):
    with pytest.raises(ValueError):
        relieve("defrag", root)
