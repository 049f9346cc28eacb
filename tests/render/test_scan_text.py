"""render.scan_text on real reports: the explanation a reader gets (tests/corpus, cited)."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from rich.console import Console

from minfree.analysis.advice import advice
from minfree.cli import main
from minfree.commands.scan import scan_inputs
from minfree.render.scan_json import report_to_json
from minfree.render.scan_text import render
from minfree.sources.logfiles import Input, expand_paths
from minfree.sources.readers import read_boot_time
from minfree.sources.root import SystemRoot

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
needs_shared = pytest.mark.skipif(not (SHARED / "kernel-failures").is_dir() or not (SHARED / "corpus").is_dir(),
                                  reason="../shared (corpus, kernel-failures) not beside the checkout")


def _scan_text(paths: list[str], **report_fields) -> tuple[str, object]:
    report = scan_inputs(expand_paths(paths))
    for name, value in report_fields.items():
        setattr(report, name, value)
    out = io.StringIO()
    render(report, Console(file=out, no_color=True, soft_wrap=True, width=80), every_event=False)
    return out.getvalue(), report


@needs_shared
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


@needs_shared
def test_printk_stamps_are_uptime_unless_the_boot_time_is_known() -> None:
    """A real 6.1 dmesg (kernel-failures): uptime labelled as such; with btime, UTC times."""
    dmesg = str(SHARED / "kernel-failures" / "6.1.192-1node-1g" / "dmesg.txt")
    text, _ = _scan_text([dmesg])
    assert "  seen       dmesg.txt: uptime 00:00:06 .. uptime 00:01:11" in text.splitlines()
    assert "dmesg.txt:564  no host in log, uptime 00:00:47" in text
    text, _ = _scan_text([dmesg], boot_time=1764686310)
    assert "  seen       dmesg.txt: 2025-12-02 14:38:36 UTC .. 2025-12-02 14:39:41 UTC" in text.splitlines()


@needs_shared
def test_journald_realtime_is_a_utc_time_in_text_and_json(tmp_path: Path) -> None:
    """journalctl -o json records carry __REALTIME_TIMESTAMP (usec since the epoch, UTC): the
    real 6.1 reports relaid as journald records read as dates, not as 1700000006639167."""
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


def test_repeats_are_counted_and_said_not_called_distinct(tmp_path: Path) -> None:
    """Corpus 133 (syslog, host dill) with the header repeated by syslogd: 4 reports, 1 printed."""
    (path,) = LOGS.glob("133-*.log")
    lines = path.read_text().splitlines(keepends=True)
    log = tmp_path / "kern.log"
    log.write_text("".join(lines[:2]) + "Mar 22 21:11:58 dill kernel: last message repeated 3 times\n"
                   + "".join(lines[2:]))
    text, _ = _scan_text([str(log)])
    assert text.splitlines()[1] == "4 page allocation failure report(s) (1 printed in full, 3 more as 'last message repeated')"
    assert "distinct" not in text
    assert "  hosts      dill (4)" in text.splitlines()
    assert "  seen       dill: Mar 22 21:11:57" in text.splitlines()   # a syslog stamp, as printed


@needs_shared
def test_the_live_log_is_dated_with_this_boots_btime(monkeypatch, capsys) -> None:
    """`minfree scan` with no path reads the live log, whose printk stamps are this boot's: they
    are dated with /proc/stat btime. Real /dev/kmsg records of a real 6.1 kernel stand in for
    the running kernel's log (the source is substituted; the command's path is the real one)."""
    kmsg = (SHARED / "kernel-failures" / "6.1.192-1node-1g" / "kmsg.txt").read_bytes()
    monkeypatch.setattr("minfree.sources.logfiles.live_inputs", lambda: [Input("/dev/kmsg", "kmsg", lambda: io.BytesIO(kmsg))])
    btime = read_boot_time(SystemRoot("/"))
    assert btime is not None
    assert main(["scan", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["events"][0]
    assert first["wall_clock"] == datetime.fromtimestamp(btime + first["uptime_s"], timezone.utc).isoformat(timespec="microseconds")
    assert main(["scan"]) == 0
    assert " UTC .. " in next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  seen "))
