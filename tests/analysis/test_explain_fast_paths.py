"""The fast paths of explaining and rendering a report give exactly what the general paths give
(issue 10), over every report of the corpus logs, the captures of real failing kernels and a
generated log of every era:

* :func:`verdict._free_blocks` takes a buddy line whose block sizes are the page size doubled
  from order 0 on as printed; each entry put at its size's order (:func:`verdict._by_size`, the
  code it replaced) and a frozenset made for each order's letters is the oracle, also on lines
  cut or printed out of order;
* :func:`scan_json._call_trace` looks each frame's JSON up by the frame's values; ``json.dumps``
  of the frame's fields (:func:`~minfree.model.record.asdict`) is the oracle.
"""
from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

from minfree.analysis import verdict
from minfree.logs.events import Event
from minfree.logs.scanner import LogScanner
from minfree.logs.trace import parse_trace
from minfree.model.record import asdict
from minfree.model.wmark_check import FreeBlocks
from minfree.render import scan_json

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parents[1] / "shared"
LOGS = sorted([*(SHARED / "corpus" / "logs").glob("*"), *(ROOT / "corpus" / "logs").glob("*"),
               *(SHARED / "kernel-failures").glob("*/dmesg.txt")])


def _generated(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("gen_log", ROOT.parent / "bench" / "gen_log.py")
    gen_log = sys.modules.setdefault("gen_log", importlib.util.module_from_spec(spec))
    if not hasattr(gen_log, "generate"):
        spec.loader.exec_module(gen_log)
    gen_log.generate(out / "dmesg.log", 1 << 20, 40, "dmesg", seed=7)
    return out / "dmesg.log"


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    found: list[Event] = []
    for path in [*LOGS, _generated(tmp_path_factory.mktemp("gen"))]:
        LogScanner(path.name, found.append).scan(io.BytesIO(path.read_bytes()))
    assert len(found) > 60
    return found


# Lines no kernel prints whole: cut before order 0, an order missing, an order twice, sizes out
# of order, blocks smaller than a page; each must go the entry-by-entry way.
IRREGULAR = [
    ([(3, 8, ""), (1, 16, "M")], 4),
    ([(5, 4, "UM"), (2, 16, "M"), (1, 32, "")], 4),
    ([(5, 4, ""), (2, 8, ""), (7, 8, "")], 4),
    ([(1, 16, "E"), (4, 4, "U"), (2, 8, "")], 4),
    ([(9, 2, ""), (3, 4, "")], 4),
    ([(12, 64, "UME"), (3, 128, "H"), (0, 512, "")], 64),
]


def blocks_by_size(buddy: list[tuple[int, int, str]], page_kb: int) -> FreeBlocks:
    """A buddy line's blocks, each entry put at its size's order, a set made for its letters."""
    counts, letters = verdict._by_size(buddy, page_kb)
    if not any(letters):
        return FreeBlocks(tuple(counts))
    return FreeBlocks(tuple(counts), tuple(frozenset(types) for types in letters))


def test_buddy_lines_read_as_entry_by_entry(events: list[Event]) -> None:
    lines = [(zone.buddy, dump.page_kb or 4) for event in events if event.dump is not None
             for dump in [event.dump.result()] for zone in dump.zones if zone.buddy]
    assert len(lines) > (150 if (SHARED / "corpus").exists() else 100)   # 131 from this checkout's own logs
    regular = 0
    for buddy, page_kb in [*lines, *IRREGULAR]:
        assert verdict._free_blocks(buddy, page_kb) == blocks_by_size(buddy, page_kb), buddy
        regular += [kb for _, kb, _ in buddy] == [page_kb << o for o in range(len(buddy))]
    assert regular >= len(lines) - 5   # the fast path is the common one


def test_call_trace_pieces_are_each_frames_json(events: list[Event]) -> None:
    traces = [parse_trace(event.trace_lines) for event in events if event.trace_lines]
    assert sum(map(len, traces)) > 1000
    for frames in traces:
        whole = json.dumps([asdict(frame) for frame in frames], separators=(",", ":"))
        assert f"[{scan_json._call_trace(frames)}]" == whole
