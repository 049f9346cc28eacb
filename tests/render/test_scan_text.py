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


SHARED = Path(__file__).resolve().parents[3] / "shared"


def _scan_text(paths: list[str], **report_fields) -> tuple[str, object]:
    report = scan_inputs(expand_paths(paths))
    for name, value in report_fields.items():
        setattr(report, name, value)
    out = io.StringIO()
    render(report, Console(file=out, no_color=True, soft_wrap=True, width=80), every_event=False)
    return out.getvalue(), report


def test_directory_summary_names_no_file_as_a_host_and_stays_short() -> None:
    """The shared corpus (17 logs, none naming a host): no file name in the hosts row, no
    'distinct', rows for kernels and verdicts, and one 'seen' line per clock instead of one per file."""
    text, report = _scan_text([str(SHARED / "corpus" / "logs")])
    lines = text.splitlines()
    assert lines[1] == "23 page allocation failure report(s)"
    hosts = next(line for line in lines if line.startswith("  hosts "))
    assert hosts.split(None, 1)[1] == "no host in log (23)"
    assert any(line.startswith("  kernels    not printed (7), 5.2.0-next-20190711+ (3)") for line in lines)
    assert "  verdicts   no dump to replay (20), below watermark (2), fragmented (1)" in lines
    seen = [line for line in lines if line.startswith("  seen ")]
    assert seen == ["  seen       11 logs stamped only with uptime, no boot time to date them (--events lists each)",
                    "  seen       5 logs without timestamps"]
    assert all(e.event.source.endswith(".log") for e in report.events)   # the file stays the source


def test_printk_stamps_are_uptime_unless_the_boot_time_is_known() -> None:
    """A real 6.1 dmesg (kernel-failures): uptime labelled as such; with btime, UTC times."""
    dmesg = str(SHARED / "kernel-failures" / "6.1.192-1node-1g" / "dmesg.txt")
    text, _ = _scan_text([dmesg])
    assert "  seen       dmesg.txt: uptime 00:00:06 .. uptime 00:01:11" in text.splitlines()
    assert "dmesg.txt:564  no host in log, uptime 00:00:47" in text
    text, _ = _scan_text([dmesg], boot_time=1764686310)
    assert "  seen       dmesg.txt: 2025-12-02 14:38:36 UTC .. 2025-12-02 14:39:41 UTC" in text.splitlines()


def test_journald_realtime_is_a_utc_time_in_text_and_json(tmp_path: Path) -> None:
    """journalctl -o json records carry __REALTIME_TIMESTAMP (usec since the epoch, UTC): the
    real 6.1 reports relaid as journald records read as dates, not as 1700000006639167."""
    import json
    import re

    from minfree.render.scan_json import report_to_json

    records = []
    for line in (SHARED / "kernel-failures" / "6.1.192-1node-1g" / "dmesg.txt").read_text(errors="replace").splitlines():
        match = re.match(r"\[\s*(\d+)\.(\d+)\] ?(.*)", line)
        if match:
            usec = int(match.group(1)) * 1_000_000 + int(match.group(2))
            records.append(json.dumps({"__REALTIME_TIMESTAMP": str(1_700_000_000_000_000 + usec),
                                       "_SOURCE_MONOTONIC_TIMESTAMP": str(usec), "_TRANSPORT": "kernel",
                                       "PRIORITY": "4", "MESSAGE": match.group(3)}))
    log = tmp_path / "journal.json"
    log.write_text("\n".join(records) + "\n")
    text, report = _scan_text([str(log)])
    assert "  seen       journal.json: 2023-11-14 22:13:26 UTC .. 2023-11-14 22:14:31 UTC" in text.splitlines()
    assert "1700000" not in text
    first = report_to_json(report)["events"][0]
    assert first["time"] == "1700000006639167"
    assert (first["wall_clock"], first["uptime_s"]) == ("2023-11-14T22:13:26.639167+00:00", 6.639167)
