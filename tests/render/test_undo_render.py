"""undo's outputs name every value and file changed back, and say when a value found had been
changed again after minfree wrote it."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from minfree.actions.journal import Entry
from minfree.actions.undo import FileRestored, Restoration, UndoResult, ValueRestored
from minfree.render.undo_json import to_json
from minfree.render.undo_text import render

CONFIG = Path("/srv/config")
RESULT = UndoResult(True, Entry("20250101T120000.000000Z-42", "t", "undone", "r", str(CONFIG)),
                    ["reverted 20250101T120000.000000Z-42"], Restoration(
    values=[ValueRestored("min_free_kbytes", 90112, 67584, 90112),
            ValueRestored("watermark_scale_factor", 70, 10, 50)],
    files=[FileRestored(CONFIG / "etc/sysctl.d/99-minfree.conf", "removed"),
           FileRestored(CONFIG / "etc/sysctl.conf", "restored")]))


def test_text_names_each_value_and_file():
    out = io.StringIO()
    render(RESULT, Console(file=out, no_color=True, soft_wrap=True))
    assert out.getvalue().splitlines() == [
        "reverted 20250101T120000.000000Z-42",
        "  vm.min_free_kbytes 90112 -> 67584",
        "  vm.watermark_scale_factor 70 -> 10 (the change wrote 50: the later value 70 is reverted too)",
        "  /srv/config/etc/sysctl.d/99-minfree.conf: removed (the change created it)",
        "  /srv/config/etc/sysctl.conf: restored from its backup",
    ]


def test_json_names_each_value_and_file():
    doc = to_json(RESULT)
    assert doc["values"][1] == {"key": "vm.watermark_scale_factor", "found": 70, "restored": 10, "written": 50}
    assert doc["files"] == [{"path": "/srv/config/etc/sysctl.d/99-minfree.conf", "action": "removed"},
                            {"path": "/srv/config/etc/sysctl.conf", "action": "restored"}]
    assert doc["ok"] and doc["entry"] == "20250101T120000.000000Z-42" and doc["problems"] == []


def test_incomplete_undo_says_what_was_not_restored():
    failed = UndoResult(False, RESULT.entry, ["vm.min_free_kbytes: Invalid argument"],
                        Restoration(problems=["vm.min_free_kbytes: Invalid argument"]))
    out = io.StringIO()
    render(failed, Console(file=out, no_color=True, soft_wrap=True))
    assert out.getvalue().splitlines() == ["undo of 20250101T120000.000000Z-42 is incomplete",
                                           "  NOT restored: vm.min_free_kbytes: Invalid argument"]
