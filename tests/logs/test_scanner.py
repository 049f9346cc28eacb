"""logs.scanner on buffers: a buffer scanned as two halves (head, tail, merge) gives what one
scan gives, wherever the cut falls; scanned windows are handed to the caller's release."""
from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from minfree.logs.prefilter import NEEDLES
from minfree.logs.scanner import LogScanner

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "logs"
# every report of the project's corpus back to back: reports, wrapped lines, related messages
DATA = b"".join(path.read_bytes().rstrip(b"\n") + b"\n" for path in sorted(CORPUS.glob("*.log")))
LINE_STARTS = [0] + [i + 1 for i in range(len(DATA) - 1) if DATA[i] == 10]


def _cuts() -> list[int]:
    """Every 25th line start, and every line start right after a related message (a cut there
    leaves it to the joiner, still held, on the head's side of the cut)."""
    related = (b"suppressed", b"Unable to allocate", b"allocation stall", *NEEDLES[1:])
    after_related = [start for line, start in enumerate(LINE_STARTS[1:], 1)
                     if any(n in DATA[LINE_STARTS[line - 1]:start] for n in related)]
    return sorted(set(LINE_STARTS[1::25] + after_related))


def _summary(scanner: LogScanner, found: list) -> tuple:
    events = sorted(repr((e.line, e.process, e.order, e.mode, e.kernel, e.host_kernel, e.repeated))
                    for e in found)
    return events, dict(scanner.assembler.related), scanner.skipped_lines, scanner.bytes


def _whole() -> tuple:
    found: list = []
    scanner = LogScanner("corpus", found.append)
    scanner.scan_buffer(DATA)
    return _summary(scanner, found)


WHOLE = _whole()


def test_events_are_emitted_in_log_order() -> None:
    """Two CPUs' reports interleave (corpus 010): the later header may complete first; emit
    still receives them by header line, so that a caller can write each out as it comes."""
    found: list = []
    LogScanner("corpus", found.append).scan_buffer(DATA)
    lines = [e.line for e in found]
    assert lines == sorted(lines) and len(lines) >= 40


def test_the_whole_buffer_gives_what_the_stream_gives() -> None:
    found: list = []
    scanner = LogScanner("corpus", found.append)
    scanner.scan(io.BytesIO(DATA))
    assert _summary(scanner, found) == WHOLE and len(WHOLE[0]) >= 40 and WHOLE[1]


@pytest.mark.parametrize("split", _cuts())
def test_two_halves_give_what_one_scan_gives(split: int) -> None:
    found: list = []
    scanner = LogScanner("corpus", found.append)
    reached = scanner.scan_head(DATA, split)
    tail_found: list = []
    tail = scanner.scan_tail(DATA, split, tail_found.append)
    scanner.merge_tail(reached, tail, tail_found)
    assert _summary(scanner, found) == WHOLE
    assert [(e.line, e.seq) for e in found] == sorted((e.line, e.seq) for e in found)


def test_prepared_items_are_merged_by_the_event_they_keep() -> None:
    """With ``prepare``, emit receives what it made (here a namespace holding ``.event``), from
    both halves, numbered in the whole buffer."""
    split = LINE_STARTS[len(LINE_STARTS) // 2]
    found: list = []
    scanner = LogScanner("corpus", found.append, prepare=lambda event: SimpleNamespace(event=event))
    reached = scanner.scan_head(DATA, split)
    tail_found: list = []
    scanner.merge_tail(reached, scanner.scan_tail(DATA, split, tail_found.append), tail_found)
    assert all(isinstance(item, SimpleNamespace) for item in found)
    assert _summary(scanner, [item.event for item in found]) == WHOLE


def test_scanned_windows_are_released() -> None:
    released = bytearray(len(DATA))

    def release(start: int, length: int) -> None:
        released[start:start + length] = b"\x01" * len(released[start:start + length])

    found: list = []
    LogScanner("corpus", found.append).scan_buffer(DATA, release)
    assert found and released.count(1) == len(DATA)


class _BreaksOff:
    """A stream that fails with OSError after ``data``, as a damaged archive does."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int) -> bytes:
        if not self._data:
            raise OSError("corrupt gzip data")
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


def test_an_input_that_breaks_off_keeps_every_event_already_complete() -> None:
    """Events complete before the failure but held back behind a report still open (corpus
    010's interleaved CPUs) still go out, in log order; reports still open are dropped."""
    held_back = 0
    for cut in LINE_STARTS[1::25]:
        completed: list = []
        found: list = []
        scanner = LogScanner("corpus", found.append, prepare=lambda e: completed.append(e.line) or e)
        with pytest.raises(OSError):
            scanner.scan(_BreaksOff(DATA[:cut]))
        held_back += len(completed) > len(found)
        scanner.broke_off()
        assert [e.line for e in found] == sorted(completed)
    assert held_back   # some cut fell while an event was held back


class _Trickle(io.RawIOBase):
    """``data`` at most ``step`` bytes per read, as a pipe delivers it: block boundaries fall
    everywhere, inside reports and lines."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._at = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        piece = self._data[self._at:self._at + min(self._step, len(buffer))]
        buffer[:len(piece)] = piece
        self._at += len(piece)
        return len(piece)


@pytest.mark.parametrize("step", [997, 65536])
def test_a_stream_read_in_small_pieces_gives_what_the_whole_buffer_gives(step: int) -> None:
    """The scan's one buffer: each read lands after the lines carried over from the last one."""
    found: list = []
    scanner = LogScanner("corpus", found.append)
    scanner.scan(_Trickle(DATA, step))
    assert _summary(scanner, found) == WHOLE


def test_a_stream_without_readinto_is_read_with_read() -> None:
    found: list = []
    scanner = LogScanner("corpus", found.append)
    scanner.scan(SimpleNamespace(read=io.BytesIO(DATA).read))
    assert _summary(scanner, found) == WHOLE


def test_lines_of_megabytes_before_a_block_end_are_carried_whole() -> None:
    """The eight lines of 900 KiB before a block's end (under the oversized limit each) are carried
    into the next block: the buffer grows to hold them beside a whole block, and the report
    after them is found at its line."""
    long_lines = b"".join(b"[1.0] " + b"z" * (900 << 10) + b"\n" for _ in range(20))
    report = b"[2.0] asd: page allocation failure. order:1, mode:0x20\n"
    found: list = []
    scanner = LogScanner("long", found.append)
    scanner.scan(_Trickle(long_lines + report, 8 << 20))
    assert [(e.process, e.line) for e in found] == [("asd", 21)] and scanner.oversized == 0
