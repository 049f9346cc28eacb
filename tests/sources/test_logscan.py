"""sources.logscan: files are mapped (and split over two processes when large), the rest is
streamed; the child explains its own events; scanned pages leave the resident set."""
from __future__ import annotations

import io
import mmap
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from minfree.logs.scanner import LogScanner
from minfree.sources import logscan

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "logs"
FILLER = b"".join(b"[%6d.000000] eth0: link is up, filler line for the split\n" % i for i in range(3000))
REPORTS = [p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted(CORPUS.glob("*.log"))]
# half of the reports on each side of quiet lines: the middle, where the child starts, is quiet
DATA = FILLER.join((b"", b"".join(REPORTS[::2]), b"".join(REPORTS[1::2]), b""))


def _scan(stream, prepare=None) -> tuple[list, LogScanner]:
    found: list = []
    scanner = LogScanner("log", found.append, prepare=prepare)
    logscan.scan_stream(scanner, stream)
    return found, scanner


def _summary(events: list, scanner: LogScanner) -> tuple:
    return (sorted((e.line, e.process or "", e.order or 0, e.mode or "") for e in events),
            dict(scanner.assembler.related), scanner.skipped_lines, scanner.bytes)


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    path = tmp_path / "kern.log"
    path.write_bytes(DATA)
    return path


@pytest.fixture()
def split_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logscan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def test_two_processes_find_what_a_stream_finds(log: Path, split_always: None) -> None:
    streamed = _summary(*_scan(io.BytesIO(DATA)))
    with log.open("rb") as stream:
        split = _summary(*_scan(stream))
    assert split == streamed and len(split[0]) >= 40


def test_the_child_explains_its_own_events(log: Path, split_always: None) -> None:
    """Events of the second half are prepared in the child (another pid) and sent back, except
    those that name no kernel release: the first half may know their host's (one scan lends it),
    so they are prepared here once the halves meet."""
    with log.open("rb") as stream:
        found, _ = _scan(stream, prepare=lambda event: SimpleNamespace(event=event, pid=os.getpid()))
    items = sorted(found, key=lambda item: item.event.line)
    ours = os.getpid()
    assert items[0].pid == ours and items[-1].pid != ours
    first_of_child = next(i for i, item in enumerate(items) if item.pid != ours)
    assert all(item.pid == ours for item in items[:first_of_child])   # the parent's half comes first
    waited = [item for item in items[first_of_child:] if item.pid == ours]
    assert all(item.event.kernel is None for item in waited)
    assert len(waited) < len(items) - first_of_child


def test_a_failed_child_is_an_error_not_a_silent_half(log: Path, split_always: None) -> None:
    parent = os.getpid()

    def prepare(event):
        if os.getpid() != parent:
            raise RuntimeError("the child breaks")
        return SimpleNamespace(event=event)

    with log.open("rb") as stream, pytest.raises(OSError, match="second scanning process failed"):
        _scan(stream, prepare)


def test_small_files_are_scanned_in_one_process(log: Path) -> None:
    parent = os.getpid()
    with log.open("rb") as stream:
        found, scanner = _scan(stream, prepare=lambda event: SimpleNamespace(event=event, pid=os.getpid()))
    assert {item.pid for item in found} == {parent} and scanner.bytes == len(DATA)


def test_a_stream_read_part_way_is_streamed_from_where_it_is(log: Path) -> None:
    with log.open("rb") as stream:
        stream.read(len(FILLER))
        found, scanner = _scan(stream)
    assert _summary(found, scanner) == _summary(*_scan(io.BytesIO(DATA[len(FILLER):])))
    assert scanner.bytes == len(DATA) - len(FILLER)


@pytest.mark.skipif(not hasattr(mmap, "MADV_DONTNEED"), reason="no madvise(MADV_DONTNEED)")
def test_released_pages_leave_the_resident_set(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(FILLER * 200)   # ~ 34 MiB, in the page cache after the write
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        before = _rss_file_kb()
        assert sum(mapped[page] for page in range(0, len(mapped), mmap.PAGESIZE)) > 0   # faults each in
        touched = _rss_file_kb()
        logscan._page_dropper(mapped)(0, len(mapped))
        dropped = _rss_file_kb()
    assert touched - before > 20 << 10 and dropped - before < 4 << 10, (before, touched, dropped)


def _rss_file_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    pytest.skip("no RssFile in /proc/self/status")


def test_a_failing_first_half_ends_the_child(log: Path, split_always: None) -> None:
    """Our output went away mid-scan (``scan --json | head``): the error reaches the caller
    and the child scanning the second half is stopped and reaped, not left running."""
    def emit(_event) -> None:
        raise BrokenPipeError

    with log.open("rb") as stream, pytest.raises(BrokenPipeError):
        logscan.scan_stream(LogScanner("log", emit), stream)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)   # no child of ours is left, running or not reaped


def test_the_split_never_starts_at_a_wrapped_piece(tmp_path: Path, split_always: None) -> None:
    """Lines that start with a blank after the middle (a mail client's wrap, a pasted
    continuation) are left to the first process, which joins them to the line before; a file
    where every line after the middle starts so is cut at the first line start as before."""
    head = b"[1.0] a line\n" * 40 + b"[2.0] page allocation failure: order:0, mode:0x20\n"
    data = head + b" wrapped piece\n\tanother\n[3.0] stamped\n" + b"[4.0] x\n" * 64
    assert len(head) - 51 < len(data) // 2 < len(head)   # the middle is inside the header line
    path = tmp_path / "wrapped.log"
    path.write_bytes(data)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped:
        assert mapped[logscan._split_point(mapped):].startswith(b"[3.0] stamped")
    path.write_bytes(b"[1.0] a\n" * 8 + b" piece\n" * 9)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped:
        assert logscan._split_point(mapped) == 8 * 8   # the first line start after the middle
