"""The watch screen and the history sentences, on a captured machine (6.1, two nodes, Movable)."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from minfree.analysis.rates import activity
from minfree.analysis.trends import trends
from minfree.proc.system import MemoryReading
from minfree.proc.vmstat import VmstatSample
from minfree.render.watch_json import sample_line
from minfree.render.watch_text import WatchStatus, render
from minfree.render.watch_trends import render as render_trends
from minfree.sources.root import SystemRoot
from minfree.sources.sampler import read_memory
from minfree.actions.safefs import check_trusted
from minfree.store.history import HistoryWriter, RunInfo, read_history

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "distro" / "6.1.0-56-amd64-n2-movable256m-4g"


def screen(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=120, no_color=True, highlight=False).print(renderable)
    return out.getvalue()


def captured() -> MemoryReading:
    reading = read_memory(SystemRoot(CAPTURE), clock=lambda: 100.0, wall=lambda: 1000.0)
    assert reading is not None
    return reading


def test_zones_marks_orders_and_state() -> None:
    reading = captured()
    normal1 = next(z for z in reading.zones if (z.node, z.zone) == (1, "Normal"))
    status = WatchStatus(host="db1", interval=1.0, page_size=4096, focus=3, paused=True, recording="/x/h.db",
                         kernel_log="/dev/kmsg: Operation not permitted")
    text = screen(render(reading, None, status))
    assert "PAUSED" in text and "recording to /x/h.db" in text
    row = next(line for line in text.splitlines() if "1/Normal" in line and line.startswith("▶"))
    assert f"{normal1.free * 4096 / 2**20:,.0f}" in row and row.split()[-2] == "ok"
    counts = next(r.counts for r in reading.buddy if (r.node, r.zone) == (1, "Normal"))
    blocks = next(line for line in text.splitlines() if line.startswith("blocks")).split()[1:]
    assert blocks == [f"{n:,}" for n in counts]
    assert "1/Normal: free blocks by order" in text
    assert "kernel log unavailable (/dev/kmsg: Operation not permitted)" in text
    assert any(line.split()[:5] == ["rates", "after", "the", "second", "sample"] for line in text.splitlines())


def test_rates_between_two_readings() -> None:
    before = captured()
    counters = dict(before.vmstat.counters)
    counters["compact_stall"] = counters.get("compact_stall", 0) + 30
    after = MemoryReading(1002.0, VmstatSample(counters, 102.0), before.psi, before.zones, before.buddy)
    rates = activity(before.vmstat, after.vmstat, before.psi, after.psi)
    text = screen(render(after, rates, WatchStatus(host="db1", interval=1.0, page_size=4096,
                                                   failures=["[5.0] asd: order:1"], failures_total=3)))
    words = next(line for line in text.splitlines() if "compact_stall " in line).split()
    assert words[words.index("compact_stall") + 1] == "15.0"   # 30 stalls in 2 s
    assert "failure reports since start: 3\n  [5.0] asd: order:1" in text
    line = sample_line(after, rates, 4096, [])
    assert '"compact_stall":15.0' in line


def test_history_sentences(tmp_path: Path) -> None:
    directory = tmp_path / "s"
    directory.mkdir(mode=0o700)
    reading = captured()
    writer = HistoryWriter(str(directory / "h.db"), 3600, RunInfo(1000.0, None, None, None, 1.0, 4096), trust=check_trusted)
    writer.add(reading)
    writer.close()
    found = trends(read_history(str(directory / "h.db"), 0.0, 2000.0, trust=check_trusted))
    out = io.StringIO()
    render_trends(found, "h.db", 3600, Console(file=out, width=200, no_color=True))
    text = out.getvalue()
    assert "History h.db: 1 samples in the last hour" in text
    assert "free in Normal (node 1) stayed above low in the last hour" in text
    assert "failure reports logged while recording: 0" in text
