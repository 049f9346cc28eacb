"""`minfree scan` end to end through the CLI: inputs of every kind, errors, JSON schema, follow."""
from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from minfree.cli import main
from minfree.commands.follow import follow
from minfree.commands.scan import running_gfp, scan_inputs
from minfree.model.gfp import TRACEFS_LAYOUT, RunningGfp, decode, layout_for, layout_from_table
from minfree.model.kversion import parse_release
from minfree.sources.logfiles import Input
from minfree.tracing.gfp_format import parse_format

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "logs"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not beside the checkout")

SYSLOG = """\
Nov  6 11:44:53 db1.example.com kernel: [69774.700393] asd: page allocation failure. order:1, mode:0x20
Nov  6 11:44:53 db1.example.com kernel: [69774.700434] Pid: 4711, comm: asd Not tainted 2.6.32-642.6.2.el6.x86_64 #1
Nov  6 11:44:53 db1.example.com kernel: [69774.700435] Call Trace:
Nov  6 11:44:53 db1.example.com kernel: [69774.700436]  <IRQ>  [<ffffffff8112c207>] ? __alloc_pages_nodemask+0x757/0x8d0
Nov  6 11:44:53 db1.example.com kernel: [69774.700437]  [<ffffffff8143ae32>] ? sk_clone+0x22/0x2e0
Nov  6 11:44:53 db1.example.com kernel: [69774.700438]  [<ffffffff814a046d>] ? tcp_v4_syn_recv_sock+0x4d/0x310
Nov  6 11:44:54 db2 kernel: [1234.000001] cld: page allocation failure. order:1, mode:0x20
Nov  6 11:44:54 db2 kernel: last message repeated 3 times
Nov  6 11:44:55 db2 kernel: [1235.000001] Out of memory: Killed process 99 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB
Nov  6 11:44:55 db2 sshd[99]: Accepted publickey for root
"""


def run(capsys, *argv: str, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_multi_host_syslog_gives_per_host_events(tmp_path: Path, capsys) -> None:
    log = tmp_path / "messages"
    log.write_text(SYSLOG)
    code, out, _ = run(capsys, "scan", "--json", str(log))
    report = json.loads(out)
    assert code == 0
    events = [(e["host"], e["process"], e["order"], e["mode"], e["repeated"]) for e in report["events"]]
    assert events == [("db1.example.com", "asd", 1, "0x20", 0), ("db2", "cld", 1, "0x20", 3)]
    first = report["events"][0]
    assert first["kernel"] == "2.6.32-642.6.2.el6.x86_64" and first["pid"] == 4711
    assert first["gfp_flags"] == ["GFP_ATOMIC"] and first["origin"]["category"] == "tcp-accept"
    assert [f["function"] for f in first["call_trace"]][:2] == ["__alloc_pages_nodemask", "sk_clone"]
    assert report["related"] == {"oom_kill": 1} and report["related_by_host"] == {"db2": {"oom_kill": 1}}
    for key in ("source", "line", "host", "time", "process", "pid", "order", "mode", "gfp_flags",
                "kernel", "origin", "verdict", "call_trace", "zones"):
        assert key in first
    assert [e["line"] for e in report["events"]] == [1, 7]


def test_text_summary_names_hosts_and_explains(tmp_path: Path, capsys) -> None:
    log = tmp_path / "messages"
    log.write_text(SYSLOG)
    code, out, _ = run(capsys, "scan", "--events", str(log))
    assert code == 0
    assert "db1.example.com (1)" in out and "db2 (4)" in out     # repeated reports count
    assert "GFP_ATOMIC" in out and "What to do" in out


def test_stdin_and_compressed_input_give_the_same_events(tmp_path: Path, capsys, monkeypatch) -> None:
    packed = tmp_path / "kern.log.1.gz"
    packed.write_bytes(gzip.compress(SYSLOG.encode()))
    _, from_gz, _ = run(capsys, "scan", "--json", str(packed))
    _, from_stdin, _ = run(capsys, "scan", "--json", "-", stdin=SYSLOG.encode(), monkeypatch=monkeypatch)
    strip = lambda doc: [{k: v for k, v in e.items() if k != "source"} for e in json.loads(doc)["events"]]  # noqa: E731
    assert strip(from_gz) == strip(from_stdin) and len(strip(from_gz)) == 2


def test_truncated_archive_keeps_what_was_read(tmp_path: Path, capsys) -> None:
    body = ("[1.000000] filler line for the archive\n" * 20000 + SYSLOG).encode()
    packed = gzip.compress(body)
    broken = tmp_path / "kern.log.2.gz"
    broken.write_bytes(packed[: len(packed) - 40])
    code, out, _ = run(capsys, "scan", "--json", str(broken))
    report = json.loads(out)
    assert code == 0 and report["errors"] and "kern.log.2.gz" in report["errors"][0]


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    for argv in (["scan", str(tmp_path / "missing.log")], ["scan", str(junk)],
                 ["scan", "--kernel", "not-a-kernel", str(junk)], ["scan", "--follow", str(junk)]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and err.startswith("minfree: error:") and err.count("\n") == 1, argv


def test_binary_junk_and_gigantic_lines_are_skipped_not_fatal(tmp_path: Path, capsys) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(b"\xff\xfe\x00garbage\x01\x02\n" + b"x" * (3 << 20) + b"\n" + SYSLOG.encode()
                    + os.urandom(4096).replace(b"\n", b" ") + b"\n")
    code, out, _ = run(capsys, "scan", "--json", str(log))
    report = json.loads(out)
    assert code == 0 and [e["process"] for e in report["events"]] == ["asd", "cld"]
    assert report["skipped_lines"] >= 1
    assert [e["line"] for e in report["events"]] == [3, 9]


@needs_corpus
def test_kernel_option_decodes_a_bare_mode(tmp_path: Path, capsys) -> None:
    log = tmp_path / "bare.log"
    log.write_text("java: page allocation failure: order:0, mode:0x120\n")
    _, out, _ = run(capsys, "scan", "--json", "--kernel", "4.3.0", str(log))
    event = json.loads(out)["events"][0]
    assert event["gfp_flags"] == ["GFP_ATOMIC", "__GFP_COLD"] and event["gfp"]["exact"]


@needs_corpus
def test_corpus_directory_through_the_cli(capsys) -> None:
    code, out, _ = run(capsys, "scan", "--json", str(CORPUS))
    report = json.loads(out)
    truth = json.loads((CORPUS.parent / "truth.json").read_text())
    assert code == 0 and len(report["events"]) == sum(t["event_count"] for t in truth.values())
    with_verdict = {e["source"].rsplit("/", 1)[-1][:3]: e["verdict"]["reason"]
                    for e in report["events"] if e["verdict"]}
    assert with_verdict["006"] == "below_watermark"      # Normal free 5168 pages <= floor
    assert with_verdict["002"] == "fragmented"           # free above the floor, no order-1 block


def _follow(tmp_path: Path, records: list[bytes], running: RunningGfp, json_lines: bool = True,
            boot_time: float | None = None) -> list[str]:
    """What `minfree scan --follow` prints for the first event of ``records`` (a fifo stands in
    for /dev/kmsg)."""
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb", buffering=0) as sink:
            for record in records:
                sink.write(record)

    threading.Thread(target=writer, daemon=True).start()
    out = io.StringIO()
    follow(json_lines=json_lines, kernel=None, out=out, running=running, path=str(fifo), max_events=1,
           from_end=False, boot_time=boot_time)
    return out.getvalue().splitlines()


KMSG_RECORDS = [
    b"4,100,69774700393,-;asd: page allocation failure. order:1, mode:0x20\n",
    b"4,101,69774700434,-;Call Trace:\n SUBSYSTEM=net\n",
    b"4,102,69774700435,-; [<ffffffff8143ae32>] ? sk_clone+0x22/0x2e0\n",
    b"6,103,69780000000,-;eth0: link up\n",
    b"6,104,69780000001,-;eth0: link up\n",
    b"6,105,69780000002,-;eth0: link up\n",
]
# this machine's tracefs mm_page_alloc format (Linux 6.18.44), the running kernel of RUNNING_6_18
FORMAT_6_18 = (Path(__file__).resolve().parents[1] / "fixtures" / "tracefs"
               / "mm_page_alloc-6.18.format").read_text()
RUNNING_6_18 = RunningGfp("6.18.44-fc-v1045", layout_from_table(parse_format(FORMAT_6_18)))


def test_follow_reports_events_as_they_arrive(tmp_path: Path) -> None:
    event = json.loads(_follow(tmp_path, KMSG_RECORDS, running_gfp())[0])
    assert (event["process"], event["order"], event["mode"], event["time"]) == ("asd", 1, "0x20", "69774.700393")
    assert event["call_trace"][0]["function"] == "sk_clone"


def test_follow_decodes_with_the_running_kernels_own_table(tmp_path: Path) -> None:
    records = [KMSG_RECORDS[0].replace(b"mode:0x20", b"mode:0x820"), *KMSG_RECORDS[1:]]
    event = json.loads(_follow(tmp_path, records, RUNNING_6_18)[0])
    assert event["gfp"]["layout"] == TRACEFS_LAYOUT and event["gfp_flags"] == ["GFP_ATOMIC"]
    assert event["kernel"] == "6.18.44-fc-v1045"


def test_follow_text_is_one_line_per_event(tmp_path: Path) -> None:
    (line,) = _follow(tmp_path, KMSG_RECORDS, RUNNING_6_18, json_lines=False)
    assert line == "[uptime 19:22:54] asd: order:1 mode:0x20 (__GFP_HIGH) origin=tcp-accept"


def test_follow_dates_records_with_the_boot_time(tmp_path: Path) -> None:
    """/dev/kmsg stamps are seconds since boot: with btime they are a UTC time (text and JSON)."""
    (line,) = _follow(tmp_path, KMSG_RECORDS, RUNNING_6_18, json_lines=False, boot_time=1764686310)
    assert line.startswith("[2025-12-03 10:01:24 UTC] asd: order:1")
    (tmp_path / "j").mkdir()
    event = json.loads(_follow(tmp_path / "j", KMSG_RECORDS, RUNNING_6_18, boot_time=1764686310)[0])
    assert event["wall_clock"] == "2025-12-03T10:01:24.700393+00:00" and event["uptime_s"] == 69774.700393


def test_follow_says_what_it_follows_and_how_to_stop() -> None:
    """On the real /dev/kmsg: before any event, stderr names what is followed and how to stop;
    stdout stays free for the events (one JSON object per line with --json)."""
    proc = subprocess.Popen([sys.executable, "-m", "minfree", "scan", "--follow", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()          # not left running behind a failed test
            proc.communicate()
            raise
    assert banner.startswith("minfree scan --follow: reporting page allocation failures from /dev/kmsg")
    assert "Ctrl-C to stop" in banner and out == ""


def test_live_log_reports_of_the_running_kernel_use_its_own_table() -> None:
    """Same mode, two kernels: the running one decodes with its tracefs table, the other with
    its era table."""
    template = b"[%d.0] %s: page allocation failure: order:0, mode:0x820(GFP_ATOMIC)\n" \
        b"[%d.1] CPU: 0 PID: 1 Comm: %s Not tainted %s #1\n[%d.2] eth0: up\n"
    log = b"".join(template % (t, comm, t, comm, release, t)
                   for t, comm, release in ((1, b"a", b"6.18.44-fc-v1045"), (5, b"b", b"6.6.87")))
    report = scan_inputs([Input("live", "kmsg", lambda: io.BytesIO(log))], running=lambda: RUNNING_6_18)
    layouts = [(e.event.process, e.kernel.release, e.decoding.layout, e.decoding.names) for e in report.events]
    assert layouts == [("a", "6.18.44-fc-v1045", TRACEFS_LAYOUT, ("GFP_ATOMIC",)),
                       ("b", "6.6.87", "6.3-6.7", ("GFP_ATOMIC",))]


def test_a_log_without_failures_never_reads_the_running_kernels_table() -> None:
    """tracefs and the kernel config are read only for an event to decode (doctor on a healthy host)."""
    def must_not_run():
        raise AssertionError("the running kernel's GFP table was read for a log without events")

    log = b"[1.0] eth0: link up\n[2.0] Out of memory: Killed process 1 (x)\n"
    report = scan_inputs([Input("live", "kmsg", lambda: io.BytesIO(log))], running=must_not_run)
    assert report.events == [] and report.related["oom_kill"] == 1


@pytest.mark.live
def test_running_gfp_reads_this_machines_table_and_config() -> None:
    running = running_gfp()
    assert running.release == os.uname().release
    if running.layout is None:
        pytest.skip("tracefs mm_page_alloc format not readable")
    kernel = parse_release(running.release)
    assert decode(0x820, kernel, layout=running.layout).names == ("GFP_ATOMIC",)
    assert decode(0xcc0, kernel, layout=running.layout).names == ("GFP_KERNEL",)
    assert layout_for(kernel, running.config).flags == running.layout.flags


def test_journald_json_and_kmsg_records(tmp_path: Path, capsys) -> None:
    journal = tmp_path / "journal.json"
    records = [
        {"_HOSTNAME": "kafka3", "__REALTIME_TIMESTAMP": "1600000000000000", "_TRANSPORT": "kernel",
         "_SOURCE_MONOTONIC_TIMESTAMP": "21161092614", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "kernel",
         "MESSAGE": "java: page allocation failure: order:2, mode:0x480020(GFP_ATOMIC), nodemask=(null)"},
        {"_HOSTNAME": "kafka3", "_TRANSPORT": "kernel", "MESSAGE": "java cpuset=/ mems_allowed=0"},
        {"_HOSTNAME": "kafka3", "_TRANSPORT": "kernel",
         "MESSAGE": "CPU: 1 PID: 4242 Comm: java Not tainted 4.19.0-6-amd64 #1 Debian 4.19.67-2"},
    ]
    journal.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    kmsg = tmp_path / "kmsg.txt"
    kmsg.write_text("4,2231,785581198,-;kworker/3:2: page allocation failure: order:0, "
                    "mode:0xa20(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0\n"
                    " SUBSYSTEM=net\n")
    _, out, _ = run(capsys, "scan", "--json", str(journal), str(kmsg))
    events = json.loads(out)["events"]
    got = [(e["host"], e["process"], e["order"], e["mode"], e["pid"], e["cpuset"]) for e in events]
    assert got == [("kafka3", "java", 2, "0x480020", 4242, "/"), (None, "kworker/3:2", 0, "0xa20", None, "/")]
    assert events[0]["kernel"].startswith("4.19")
