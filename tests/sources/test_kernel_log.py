"""The check doctor makes before it imports the log scanner (``BootLog.may_hold_report``): a
/dev/kmsg log it passes over must be one in which the real scanner finds nothing, and the
report this_boot_failures then builds must be the one a scan would have built."""
from __future__ import annotations

from pathlib import Path

import pytest
from kernel_failures import kernel_failure_cases

from minfree.commands import scan
from minfree.sources import kernel_log
from minfree.sources.kernel_log import _KMSG_REPORT_PHRASES, BootLog
from minfree.sources.kmsg import KMSG_PATH
from minfree.sources.root import SystemRoot

CORPUS_LOGS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "logs"
CAPTURES = [case / "kmsg.txt" for case in kernel_failure_cases()]   # real 5.10 and 6.1 /dev/kmsg


def _kmsg(lines: list[str], priority: int = 4) -> bytes:
    """Lines as /dev/kmsg records of one facility (0-7: the kernel's, 8 up: user space's), their
    text escaped as the kernel escapes it (bytes below 0x20, from 0x7f, and backslash)."""
    def escaped(line: str) -> bytes:
        return b"".join(b"\\x%02x" % c if c < 0x20 or c >= 0x7f or c == 0x5c else bytes([c])
                        for c in line.encode("utf-8", "surrogateescape"))
    return b"".join(f"{priority},{seq},{seq * 1000},-;".encode() + escaped(line) + b"\n"
                    for seq, line in enumerate(lines))


def _found(data: bytes) -> tuple[int, dict[str, int]]:
    """(events, related) the real scanner finds in ``data`` read as /dev/kmsg."""
    report = scan.scan_inputs([BootLog(KMSG_PATH, "kmsg", data).as_input()])
    return len(report.events), dict(report.related)


def _without_phrases(records: list[bytes]) -> bytes:
    return b"".join(r for r in records if not any(p in r for p in _KMSG_REPORT_PHRASES))


@pytest.mark.skipif(not CAPTURES, reason="../shared/kernel-failures not found")
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.parent.name)
def test_real_kmsg_with_reports_is_scanned_and_without_them_holds_nothing(capture: Path) -> None:
    data = capture.read_bytes()
    assert BootLog(KMSG_PATH, "kmsg", data).may_hold_report()
    assert _found(data)[0] == 6   # the six printed reports of each case (README there)
    # every report's header gone, its Mem-Info, buddy lines and Call Trace still there
    stripped = _without_phrases(data.splitlines(keepends=True))
    assert not BootLog(KMSG_PATH, "kmsg", stripped).may_hold_report()
    assert _found(stripped) == (0, {})


@pytest.mark.skipif(not CORPUS_LOGS.is_dir(), reason="../shared/corpus not found")
def test_corpus_lines_as_kmsg_records_give_nothing_once_the_check_passes_them() -> None:
    """Every published log (every era, related messages, OOM reports) as kernel records: what
    the check passes over the scanner finds nothing in; as user-space records (facility
    LOG_USER, what a process writing /dev/kmsg gets) the scanner reads none of it either."""
    for path in sorted(CORPUS_LOGS.glob("*.log")):
        lines = path.read_bytes().decode("utf-8", "surrogateescape").splitlines()
        kernel = _kmsg(lines).splitlines(keepends=True)
        assert BootLog(KMSG_PATH, "kmsg", b"".join(kernel)).may_hold_report(), path.name
        stripped = _without_phrases(kernel)
        assert not BootLog(KMSG_PATH, "kmsg", stripped).may_hold_report(), path.name
        assert _found(stripped) == (0, {}), path.name
        user = _kmsg([line for line in lines if "kernel:" not in line], priority=12)
        assert not BootLog(KMSG_PATH, "kmsg", user).may_hold_report(), path.name
        assert _found(user) == (0, {}), path.name


# One message of every kind the scanner reports (logs/header.py, logs/related.py), as kernels print it.
EVERY_KIND = [
    "java: page allocation failure: order:1, mode:0x820(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0",
    "swapper/0: page allocation failure. order:1, mode:0x20",
    "swapper/0: vmalloc: allocation failure: 4096 bytes, mode:0xd0",
    "modprobe: vmalloc error: size 8192, page order 0, failed to allocate pages, mode:0xcc0(GFP_KERNEL), "
    "nodemask=(null)",
    "java: page allocation stalls for 10008ms, order:0, mode:0x14200ca(GFP_HIGHUSER_MOVABLE)",
    "Out of memory: Killed process 1234 (java) total-vm:123kB, anon-rss:1kB, file-rss:0kB",
    "Memory cgroup out of memory: Killed process 55438 (ruby) total-vm:1771344kB, anon-rss:1469448kB",
    "SLUB: Unable to allocate memory on node -1, gfp=0x20(GFP_ATOMIC)",
    "TCP: out of memory -- consider tuning tcp_mem",
    "TCP: Out of socket memory",
    "warn_alloc: 96 callbacks suppressed",
]


@pytest.mark.parametrize("line", EVERY_KIND, ids=lambda line: line[:40])
@pytest.mark.parametrize("priority", range(8))
def test_every_kind_of_message_the_scanner_reports_is_checked_for(line: str, priority: int) -> None:
    data = _kmsg(["eth0: link up", line, "eth0: link down"], priority)
    assert _found(data) != (0, {})
    assert BootLog(KMSG_PATH, "kmsg", data).may_hold_report()


def test_a_user_record_tagged_kernel_is_scanned_as_the_scanner_reads_it() -> None:
    data = _kmsg(["kernel: java: page allocation failure: order:1, mode:0x20"], priority=12)
    assert BootLog(KMSG_PATH, "kmsg", data).may_hold_report()
    assert _found(data)[0] == 1


def test_the_report_without_a_scan_is_the_scan_of_a_clean_log(monkeypatch) -> None:
    """What this_boot_failures builds for the live log the check passes over equals what
    scanning it builds (the device's bytes given as a clean log: the live ring buffer may
    hold anything)."""
    clean = _kmsg(["Linux version 6.18.0 (gcc)", "NODE_DATA(0) allocated [mem 0x63ffd5500-0x63fffffff]",
                   "percpu: Embedded 64 pages/cpu s225280 r8192 d28672 u262144",
                   "eth0: link up, 10000Mbps, full-duplex"], priority=6)
    clean += _kmsg(["mftest: page allocation failure: order:1, mode:0x820(GFP_ATOMIC)"], priority=12)
    monkeypatch.setattr(kernel_log, "read_kmsg_snapshot", lambda: clean)
    quick = scan.this_boot_failures(SystemRoot("/"), None)
    scanned = scan.scan_inputs([BootLog(KMSG_PATH, "kmsg", clean).as_input()], running=scan.running_gfp)
    assert quick is not None and (quick.events, quick.related, quick.related_by_host, quick.bytes_read,
                                  quick.inputs, quick.errors, quick.skipped_lines) == (
        scanned.events, scanned.related, scanned.related_by_host, scanned.bytes_read,
        scanned.inputs, scanned.errors, scanned.skipped_lines)
    assert quick.bytes_read == len(clean) and quick.inputs == [KMSG_PATH]


def test_a_captured_log_is_always_scanned(tmp_path: Path) -> None:
    (tmp_path / "var" / "log").mkdir(parents=True)
    # a wrapped header: its words are on two lines, so no phrase is whole in the bytes
    (tmp_path / "var" / "log" / "dmesg").write_text("[ 1.0] java: page allocation\nfailure. order:1, mode:0x20\n")
    log = kernel_log.read_boot_log(SystemRoot(str(tmp_path)))
    assert log is not None and log.kind == "file" and log.may_hold_report()
    assert len(scan.scan_inputs([log.as_input()]).events) == 1   # the scanner rejoins the lines
