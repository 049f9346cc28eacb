"""render.scan_text on real reports: the explanation a reader gets (tests/corpus, cited)."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from minfree.analysis.advice import advice
from minfree.commands.scan import scan_inputs
from minfree.render.scan_text import render
from minfree.sources.logfiles import expand_paths

LOGS = Path(__file__).resolve().parents[1] / "corpus" / "logs"


def text_of(prefix: str) -> tuple[str, list]:
    (path,) = LOGS.glob(prefix + "-*.log")
    report = scan_inputs(expand_paths([str(path)]))
    out = io.StringIO()
    render(report, Console(file=out, no_color=True, soft_wrap=True, width=200), every_event=False)
    return out.getvalue(), report.events


def test_oom_victim_is_summarised_and_the_advice_printed() -> None:
    """148 (le9-patch#5): the OOM kill before Xorg's failure, in the summary and the event."""
    text, (event,) = text_of("148")
    assert "OOM kills next to failure reports: tail (pid 18339, anon-rss 4,186,492 kB)" in text
    assert "Nearby: the OOM killer killed tail (pid 18339, anon-rss 4,186,492 kB)" in text
    assert "What to do: " + advice(event) in text
    assert "Kernel: 5.10.8" in text


def test_suspend_report_reads_as_one() -> None:
    """149 (ROCm/amdgpu#174): GFP_NOIO during suspend."""
    text, _ = text_of("149")
    assert "may sleep but not start I/O (GFP_NOIO)" in text
    assert "the log says the OOM killer was disabled" in text
