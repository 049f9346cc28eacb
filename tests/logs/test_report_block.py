"""A report read as one block (:mod:`minfree.logs.report_block`, hooked into
:meth:`LogScanner._scan_block`) gives exactly what the line pipeline gives: the same events
(every field, ``last_seq`` included, and ``dump.result()`` with its dicts in the same order)
and the same parser state after the scan. The oracle is the same scanner with the block path
turned off, over the corpus logs, the captures of real failing kernels, generated logs in dmesg
and syslog formats and reports damaged in the ways a block must refuse."""
from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import pytest

from minfree.logs import memdump, report_block, scanner
from minfree.logs.events import Event
from minfree.logs.prefix import LineNormalizer
from minfree.logs.scanner import LogScanner
from minfree.model.record import field_names

from test_fast_paths import LOGS, SHARED_LOGS, gen_log

EVENT_FIELDS = [name for name in field_names(Event) if name != "dump"]


class LineScanner(LogScanner):
    """:class:`LogScanner` without the block path: every report goes line by line."""

    def _read_report(self, *args) -> None:
        return None


class CountingScanner(LogScanner):
    """:class:`LogScanner` that counts the reports it read as blocks."""

    read = 0

    def _read_report(self, *args):
        reached = super()._read_report(*args)
        self.read += reached is not None
        return reached


def dump_of(event: Event):
    if event.dump is None:
        return None
    dump = event.dump.result()
    # dict order too: what the JSON shows
    return (dump, list(dump.summary.items()), list(dump.nodes.items()), [list(z.fields.items()) for z in dump.zones])


def outcome(scanner_type: type, data: bytes, stream: bool = False) -> tuple:
    found: list[Event] = []
    scanner = scanner_type("log", found.append)
    if stream:
        scanner.scan(io.BytesIO(data))
    else:
        scanner.scan_buffer(data)
    a = scanner.assembler
    events = [(tuple(getattr(e, name) for name in EVENT_FIELDS), dump_of(e)) for e in found]
    state = (a.related, dict(a.related_by_host), a.kernels, a._booted, a._last_oom, a._oom_disabled, a._seq,
             a._created, a._silent_from, a._vmalloc, list(a._fragments), a.count_before, a.dump_skipped,
             scanner.skipped_lines, scanner.bytes, tuple(getattr(scanner.normalizer, n) for n in LineNormalizer.__slots__),
             scanner.joiner.held_from)
    return events, state, getattr(scanner, "read", 0)


def same_as_line_by_line(data: bytes, stream: bool = False) -> int:
    """Assert the block path changes nothing; the number of reports it read."""
    events, state, read = outcome(CountingScanner, data, stream)
    expected_events, expected_state, _ = outcome(LineScanner, data, stream)
    assert len(events) == len(expected_events)
    for got, expected in zip(events, expected_events):
        assert got == expected
    assert state == expected_state
    return read


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Small logs of 20 reports of every era, dmesg and syslog, three seeds."""
    out = tmp_path_factory.mktemp("gen")
    logs = []
    for fmt in ("dmesg", "syslog"):
        for seed in (1, 2, 3):
            path = out / f"{fmt}-{seed}.log"
            gen_log.generate(path, 300 << 10, 20, fmt, seed=seed)
            logs.append(path.read_bytes())
    return logs


def test_corpus_and_captures_read_as_line_by_line() -> None:
    read = sum(same_as_line_by_line(path.read_bytes()) for path in LOGS)
    captures = [path for path in LOGS if "kernel-failures" in str(path)]
    assert not SHARED_LOGS or len(captures) >= 8
    # every report of a real capture is canonical (tests/logs/test_report_block.py's reason to be)
    assert not SHARED_LOGS or read >= 24


def test_generated_logs_read_as_line_by_line(generated: list[bytes]) -> None:
    read = 0
    for data in generated:
        read += same_as_line_by_line(data)
        read += same_as_line_by_line(data, stream=True)
    assert read > 120   # most of the 240 reports


def test_planned_dumps_read_as_line_by_line(generated: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """A shape's plan made at its first sighting: every dump section read by a plan where one
    could be made reads as line by line."""
    monkeypatch.setattr(memdump, "_RECURRING", 0)
    report_block._PLANS.cache_clear()
    read = sum(same_as_line_by_line(data) for data in [*generated, *(path.read_bytes() for path in LOGS)])
    assert read > 120
    plans = [plan for plan in report_block._PLANS._shapes.values() if plan.made]
    report_block._PLANS.cache_clear()
    assert len(plans) >= (4 if SHARED_LOGS else 2)
    for name in ("zone line cut", "unknown summary key", "negative reserve", "summary line between zone and reserve",
                 "damaged per-cpu lines (3.x)"):
        same_as_line_by_line(mutated(generated[0], MUTATIONS[name]))


def test_split_scans_read_as_line_by_line(generated: list[bytes]) -> None:
    """The two halves of a two-process scan: the block may not run past the split."""
    for data in generated[::3]:
        for split in (len(data) // 3, len(data) // 2):
            split = data.rfind(b"\n", 0, split) + 1
            results = []
            for scanner_type in (LogScanner, LineScanner):
                found, tail_found = [], []
                scanner = scanner_type("log", found.append)
                head = scanner.scan_head(data, split)
                tail = scanner.scan_tail(data, split, tail_found.append)
                scanner.merge_tail(head, tail, tail_found)
                results.append(([(tuple(getattr(e, n) for n in EVENT_FIELDS), dump_of(e)) for e in found],
                                head, scanner.skipped_lines, scanner.assembler.kernels))
            assert results[0] == results[1]


def _insert_after(block: bytes, needle: bytes, text: bytes) -> bytes:
    """``text`` as a line after the one holding ``needle``, with that line's prefix (its stamp)."""
    at = block.find(needle)
    if at == -1:
        return block
    start = block.rfind(b"\n", 0, at) + 1
    prefix = block[start:block.find(b"] ", start) + 2]
    at = block.find(b"\n", at) + 1
    return block[:at] + prefix + text + block[at:]


def _unprefix_after(block: bytes, needle: bytes) -> bytes:
    at = block.find(needle)
    if at == -1:
        return block
    at = block.find(b"\n", at) + 1
    return block[:at] + block[block.find(b"] ", at) + 2:]


def _before_line(block: bytes, text: bytes) -> bytes:
    """``text`` as a line before the first of ``block``, with its prefix."""
    return block[:block.find(b"] ") + 2] + text + block


def _after_line(block: bytes, needle: bytes, line: bytes) -> bytes:
    at = block.find(needle)
    if at == -1:
        return block
    at = block.find(b"\n", at) + 1
    return block[:at] + line + block[at:]


def _after_buddy_lines(block: bytes, line: bytes) -> bytes:
    buddy_lines = list(re.finditer(rb"[^\n]*\*[^\n]* = \d+kB\n", block))
    if not buddy_lines:
        return block
    at = buddy_lines[-1].end()
    return block[:at] + line + block[at:]


def _later(block: bytes) -> bytes:
    """The first line after Mem-Info stamped 40 s after the header (width kept)."""
    at = block.find(b"Mem-Info:\n")
    if at == -1:
        return block
    at = block.find(b"\n", at) + 1
    match = re.compile(rb"\[( *)(\d+)\.").search(block, at, block.find(b"\n", at))
    if match is None:
        return block
    seconds = str(int(match.group(2)) + 40).rjust(len(match.group(1)) + len(match.group(2))).encode()
    return block[:match.start()] + b"[" + seconds + block[match.end() - 1:]


# what a block must refuse, or read as the line path does (the prototype's mutate.py)
MUTATIONS = {
    "wrapped trace line": lambda b: _unprefix_after(b, b"Call Trace:\n"),
    "wrapped buddy line": lambda b: _unprefix_after(b, b"Mem-Info:\n"),
    "foreign line in the trace": lambda b: _insert_after(b, b"Call Trace:", b"eth0: link up\n"),
    "foreign line in Mem-Info": lambda b: _insert_after(b, b"Mem-Info:", b"eth0: link up\n"),
    "OOM kill in the trace": lambda b: _insert_after(
        b, b"Call Trace:", b"Out of memory: Killed process 12 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n"),
    "OOM kill in a register line": lambda b: _insert_after(
        b, b"Call Trace:", b"RIP: 0010:Out of memory: Killed process 12 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n"),
    "suppressed reports in the trace": lambda b: _insert_after(
        b, b"Call Trace:", b"warn_alloc: 3 callbacks suppressed\n"),
    "second header in the trace": lambda b: _insert_after(
        b, b"Call Trace:", b"x: page allocation failure: order:0, mode:0x20\n"),
    "vmalloc line before the header": lambda b: b"[    1.000000] vmalloc: allocation failure: 8192 bytes\n" + b,
    "vmalloc failure report before the header": lambda b: _before_line(
        b, b"kworker/3:2: vmalloc error: size 4096, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL)\n"),
    "comm fragment before the header": lambda b: b"[    1.000000] kworker/0:1: \n" + b,
    "OOM kill before the header": lambda b: (
        b"[    1.000000] Out of memory: Killed process 12 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n" + b),
    "OOM killer disabled before the header": lambda b: b"[    1.000000] OOM killer disabled.\n" + b,
    "rsyslog escape before the header": lambda b: _before_line(b, b"eth0: up#012eth0: down\n"),
    "glued stamp before the header": lambda b: _before_line(b, b"eth0: up[  1.000000] eth0: down\n"),
    "tagged line before the header": lambda b: _before_line(b, b"systemd[1]: Started x.\n"),
    "inside a journal export record": lambda b: b"__CURSOR=s=1\nMESSAGE=x\n" + b,
    "inside a binary journal field": lambda b: (b"__CURSOR=s=1\nMESSAGE\n" + (len(b) + 2).to_bytes(8, "little")
                                                + b"x\n" + b + b"\n"),
    "unstamped line before the header": lambda b: _before_line(b, b"eth0: up\n")[b.find(b"] ") + 2:],
    "boot banner before the header": lambda b: b"[    0.000000] Linux version 9.9.9-test (x@y) #1 SMP\n" + b,
    "repeated after the header": lambda b: _after_line(b, b"allocation failure", b"last message repeated 2 times\n"),
    "glued stamp in a frame": lambda b: b.replace(b"Call Trace:\n", b"Call Trace:[  1.000000] x\n", 1),
    "glued stamp in the hardware line": lambda b: b.replace(b"Hardware name: ", b"Hardware name: [  1.000000] x ", 1),
    "rsyslog escape in a register line": lambda b: _insert_after(b, b"Call Trace:", b"RIP: 0010:x#012 y+0x1/0x2\n"),
    "summary line between zone and reserve": lambda b: _insert_after(b, b"DMA32 free:", b"free_cma:0\n"),
    "caller id": lambda b: b.replace(b"] Call Trace:", b"][ T12] Call Trace:", 1),
    "non-ASCII in a frame": lambda b: b.replace(b"Call Trace:\n", b"Call Trace: \xc3\xa9\n", 1),
    "CR line end": lambda b: b.replace(b"Mem-Info:\n", b"Mem-Info:\r\n", 1),
    "zone line cut": lambda b: re.sub(rb"(Normal free:[^\n]*?) unevictable:0kB[^\n]*", rb"\1 unevictable:o", b, count=1),
    "buddy line without total": lambda b: re.sub(rb"(Normal: [^\n]*?) = \d+kB", rb"\1 =", b, count=1),
    "buddy line of another node": lambda b: b.replace(b"Node 0 DMA: ", b"Node 1 DMA: ", 1),
    "damaged per-cpu lines (3.x)": lambda b: b.replace(b" usd:", b" usd=", 3),
    "negative reserve": lambda b: b.replace(b"lowmem_reserve[]: 0 ", b"lowmem_reserve[]: -1 ", 1),
    "unknown summary key": lambda b: b.replace(b" free_cma:0\n", b" free_cma:0 bogus:1\n", 1),
    "stamp 40 s later": _later,
    "nodemask value in the trace (4.14)": lambda b: _insert_after(
        re.sub(rb"nodemask=\(null\)[^\n]*", b"nodemask=", b, count=1), b"Call Trace:", b" 0000000000000001\n"),
    "header without comm": lambda b: re.sub(rb"\] [^\n]*?: page allocation failure", rb"] page allocation failure", b, count=1),
    "taint state in the process name": lambda b: re.sub(rb"(CPU: \d+ PID: \d+ Comm: )\S+", rb"\1Tainted: G 1.2", b, count=1),
    "CPU line cut after its taint": lambda b: re.sub(
        rb"((?:CPU: \d+ PID|Pid: \d+, comm)[^\n]*?(?:Not tainted|Tainted: [A-Z ]+?))\s+\d[^\n]*", rb"\1", b, count=1),
    "report cut after its buddy lines": lambda b: b[:b.rfind(b" = ")] + b"\n" if b" = " in b else b,
    "bare line after the report": lambda b: _after_buddy_lines(b, b"continued\n"),
    "blank line after the report": lambda b: _after_buddy_lines(b, b"\n"),
    "header after the report": lambda b: _after_buddy_lines(b, b"[99999.000001] y: page allocation failure: order:0, mode:0x20\n"),
    "unstamped header after the report": lambda b: _after_buddy_lines(b, b"y: page allocation failure: order:0, mode:0x20\n"),
}


def mutated(data: bytes, mutate) -> bytes:
    """``data`` with each report (from its header to the next) changed by ``mutate``."""
    heads = [m.start() for m in re.finditer(rb"(?m)^(?:[A-Z][a-z]{2} [ \d]\d [\d:]{8} \S+ kernel: )?\[[ \d.]+\] "
                                            rb"[^\n]*page allocation failure", data)]
    out, previous = [], 0
    for index, head in enumerate(heads):
        following = heads[index + 1] if index + 1 < len(heads) else len(data)
        out += [data[previous:head], mutate(data[head:following])]
        previous = following
    return b"".join(out) + data[previous:]


@pytest.mark.parametrize("name", MUTATIONS)
def test_damaged_reports_read_as_line_by_line(generated: list[bytes], name: str) -> None:
    for log in (generated[0], generated[3]):   # dmesg, syslog
        data = mutated(log, MUTATIONS[name])
        assert data != log
        same_as_line_by_line(data)


def test_the_oracle_sees_a_rule_turned_off(generated: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the test of the line after a report (a bare line continues the last buddy line),
    of its stamps (a line 30 s later closes it) or of related messages in it (an OOM kill in a
    register line is counted), the block path reads what the line path does not: the oracle
    must see it."""
    for rule, value, damage in ((scanner, "plain_lines", "bare line after the report"),
                                (report_block, "MAX_SECONDS", "stamp 40 s later"),
                                (report_block, "_NOT_PLAIN", "OOM kill in a register line")):
        data = mutated(generated[0], MUTATIONS[damage])
        same_as_line_by_line(data)
        off = {"plain_lines": lambda *args: True, "MAX_SECONDS": 1e9, "_NOT_PLAIN": ()}[value]
        with monkeypatch.context() as patch:
            patch.setattr(rule, value, off)
            with pytest.raises(AssertionError):
                same_as_line_by_line(data)


def test_trace_lines_of_a_block_are_trace_lines(generated: list[bytes]) -> None:
    """Every line the trace pattern takes is one trace.trace_line_kind names (the assembler's test)."""
    from minfree.logs.trace import trace_line_kind
    taken = 0
    for data in [*generated, *(path.read_bytes() for path in LOGS)]:
        for raw in data.decode("utf-8", "replace").splitlines():
            text = raw.partition("] ")[2]
            if text and report_block._TRACE.fullmatch(text + "\n"):
                assert trace_line_kind(text) is not None, text
                taken += 1
    assert taken > 1000


def test_a_read_dump_crosses_processes(generated: list[bytes]) -> None:
    found: list[Event] = []
    LogScanner("log", found.append).scan_buffer(generated[0])
    read = [e for e in found if isinstance(e.dump, report_block.ReadDump)]
    assert read
    copy = pickle.loads(pickle.dumps(read[0]))
    assert copy == read[0] and copy.dump.result() == read[0].dump.result()


def test_a_report_opened_just_before_keeps_its_lines() -> None:
    """A vmalloc failure report on the line before: the line path gives it the CPU line, trace
    and dump that follow (the page report's header only opens a second report), so the block
    must not be read as the page report's."""
    body = (b"[  785.581198] kworker/3:2: page allocation failure: order:0, mode:0xa20(GFP_ATOMIC), nodemask=(null)\n"
            b"[  785.581210] CPU: 3 PID: 131 Comm: kworker/3:2 Not tainted 5.10.0-21-amd64 #1\n"
            b"[  785.581211] Call Trace:\n[  785.581212]  dump_stack+0x6b/0x83\n[  785.581213] Mem-Info:\n"
            b"[  785.581214] active_anon:1 inactive_anon:2 free:3\n"
            b"[  785.581215] Node 0 Normal free:13144kB min:2004kB low:2504kB high:3004kB\n"
            b"[  785.581216] lowmem_reserve[]: 0 0 0 0\n[  785.581217] Node 0 Normal: 2*4kB (U) 1*8kB (M) = 16kB\n"
            b"[  785.581218] eth0: link up\n")
    vmalloc = b"[  785.500000] kworker/3:2: vmalloc error: size 4096, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL)\n"
    assert same_as_line_by_line(b"[  785.400000] eth0: up\n" * 3 + body) == 1
    same_as_line_by_line(b"[  785.400000] eth0: up\n" * 3 + vmalloc + body)
