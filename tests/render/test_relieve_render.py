"""relieve's outputs: the JSON gives fragmentation indices as numbers (as doctor --json does),
the text as debugfs prints them; both from one measurement."""
from __future__ import annotations

import io

from rich.console import Console

from minfree.actions.relieve import Relief, fragmentation
from minfree.render.relieve_json import to_json
from minfree.render.relieve_text import render

# this machine's /proc/buddyinfo (6.18), before and after `echo 1 > /proc/sys/vm/compact_memory`
BEFORE = "Node 0, zone   Normal    605   1572    499    722    397    116     51     35     18     23    199\n"
AFTER = "Node 0, zone   Normal   1450   1330    979    813    347    122     45     30     12     22    200\n"
RELIEF = Relief("compact", 0.0401, None, fragmentation(BEFORE), fragmentation(AFTER))


def test_json_indices_are_numbers_like_doctor():
    doc = to_json(RELIEF)
    before, after = doc["before"][0], doc["after"][0]
    indices = before["unusable_index"] + before["extfrag_index"] + after["unusable_index"] + after["extfrag_index"]
    assert all(type(v) is float for v in indices)
    assert before["unusable_index"][3] == 0.023 and after["unusable_index"][3] == 0.032
    assert before["extfrag_index"] == [-1.0] * 11  # a free block of every order: not applicable
    assert (before["free_pages"], after["free_pages"]) == (249489, 249842)
    assert doc["schema"] == 1 and doc["action"] == "compact" and doc["sync_seconds"] is None


def test_text_shows_debugfs_figures():
    out = io.StringIO()
    render(RELIEF, Console(file=out, no_color=True, soft_wrap=True))
    text = out.getvalue()
    assert text.splitlines()[0] == "compact: 0.040 s"
    assert "node 0 Normal: free 249489 -> 249842 pages" in text
    assert "order 3: unusable 0.023 -> 0.032, extfrag -1.000 -> -1.000" in text
    assert "order 10: unusable 0.183 -> 0.180" in text
