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


def test_log_text_in_brackets_is_printed_not_taken_as_markup() -> None:
    """152 (linux-mm, Hocko, ext4 GFP_NOFS): the deciding frame's module "[ext4]" reached the
    console as rich markup and vanished; every line carrying log text is printed as is."""
    text, _ = text_of("152")
    assert "Where it came from: ext4/jbd2: ext4_mb_load_buddy [ext4]\n" in text
    assert "\noom-trash: page allocation failure: order:0, mode:0x50\n" in text


def test_cma_share_of_a_cut_dump_is_printed() -> None:
    """151 (unix.stackexchange 593335): the summary's CMA share is the reason given."""
    text, _ = text_of("151")
    assert ("Why it failed: the log has only part of the memory dump for this report (no zone "
            "lines), so the kernel's watermark check cannot be replayed; its summary shows 62,086 "
            "free pages, 60,234 of them (97%) CMA") in text


def test_a_report_whose_process_is_not_printed_is_listed_with_a_question_mark(tmp_path: Path) -> None:
    """A header with no "comm:" before it (a cut or damaged line; found by the fuzz test):
    the event list once raised TypeError on the missing process name."""
    log = tmp_path / "kern.log"
    log.write_text("[    1.000000] page allocation failure: order:0, mode:0x20\n")
    report = scan_inputs(expand_paths([str(log)]))
    assert [e.event.process for e in report.events] == [None]
    out = io.StringIO()
    render(report, Console(file=out, no_color=True, soft_wrap=True, width=200), every_event=True)
    assert " ? order:0" in out.getvalue()
