"""Find candidate lines in a large block of log bytes, fast.

The scanner never looks at most of a log: it asks this module where the lines are that
may start a failure report or a related message, then parses only those regions.  With
the ``hyperscan`` package installed (a multi-literal SIMD matcher) one pass finds every
needle; without it each needle is searched with ``bytes.find`` (correct, slower).

The block is ``bytes`` or a file the caller mapped into memory (:data:`Buffer`); this module
never reads a file itself. A caller that maps a gigabyte passes a ``release(start, length)``
callback, called for each window once it has been searched, to give those pages back.

>>> pf = Prefilter()
>>> block = b"[ 1.0] eth0: link up\\n[ 2.0] asd: page allocation failure. order:1, mode:0x20\\n"
>>> pf.line_starts(block, len(block))
[21]
"""
from __future__ import annotations

from typing import Callable, Protocol

WINDOW = 8 << 20  # bytes handed to the matcher at once (matches across windows are caught by overlap)

# Every message minfree reports contains one of these. Few and short, because the matcher's
# speed depends on their number and their last bytes (hyperscan's FDR hashes a literal's tail:
# a tail of common letters or a space sends more positions to its confirm step). Measured on
# the generated 1 GiB log (bench/README.md): these 6 take 0.25 s of CPU, the same messages
# as whole words ("Killed process", "OOM killer ", ...) 0.46 s, 8 long needles twice that.
# "alloc" alone covers page/vmalloc allocation failures (any era, wrapped headers too),
# "vmalloc error", allocation stalls, "SLUB: Unable to allocate" and "warn_alloc: N callbacks
# suppressed". A needle only picks lines to parse: a line it picks in error is parsed and
# dropped, so each is a prefix of its message rather than the message.
NEEDLES: tuple[bytes, ...] = (
    b"alloc",
    b"Killed p",        # "Killed process": OOM kill, every era
    b"out of m",        # "TCP: out of memory -- consider tuning tcp_mem"
    b"socket m",        # 2.6.x "TCP: Out of socket memory"
    b"Linux v",         # "Linux version": the boot banner, the release of the reports below it
    b"OOM k",           # "OOM killer disabled." / "enabled.": suspend and resume
)


class Buffer(Protocol):
    """What the scanner searches: ``bytes``, or a whole file mapped in memory by the caller;
    any object with the buffer protocol and ``bytes``' ``find``, ``rfind`` and slicing."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice, /) -> bytes: ...

    def find(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...

    def rfind(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...


#: ``release(start, length)``: the caller's way to drop ``block[start:start + length]`` from
#: memory once it has been searched (a mapped file gives its pages back).
Release = Callable[[int, int], None]


def keep_pages(start: int, length: int) -> None:
    """The default :data:`Release`: ``bytes`` live in our memory, there is nothing to give back."""


def line_start(block: Buffer, pos: int, floor: int = 0) -> int:
    """Offset of the start of the line holding ``pos``, searching back no further than
    ``floor``; in steps, so that a mapped file is not paged in from its start.

    >>> line_start(b"ab|cd|".replace(b"|", bytes([10])), 4)
    3
    """
    stop = pos
    while stop > floor:
        begin = max(floor, stop - 65536)
        newline = block.rfind(b"\n", begin, stop)
        if newline != -1:
            return newline + 1
        stop = begin
    return floor


def _hyperscan_database(needles: tuple[bytes, ...]):
    try:
        import hyperscan
    except ImportError:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[_escape(n) for n in needles],
        ids=list(range(len(needles))),
        elements=len(needles),
        flags=[0] * len(needles),
    )
    return database


def _escape(needle: bytes) -> bytes:
    return b"".join(b"\\" + bytes([c]) if not chr(c).isalnum() and c != 0x20 else bytes([c]) for c in needle)


class Prefilter:
    """Line starts of every line in a block that contains a needle."""

    def __init__(self, needles: tuple[bytes, ...] = NEEDLES, use_hyperscan: bool = True) -> None:
        self.needles = needles
        self._database = _hyperscan_database(needles) if use_hyperscan else None

    def line_starts(self, block: Buffer, end: int, start: int = 0,
                    release: Release = keep_pages) -> list[int]:
        """Sorted, unique offsets of the starts of matching lines within ``block[start:end]``
        (``start`` is a line start); what was searched is handed to ``release``.
        """
        hits = sorted(h for h in self._hits(block, end, start, release) if h >= start)
        starts = set()
        done = start   # everything before this is given back
        for pos in hits:
            starts.add(first := line_start(block, pos, start))
            # a touched page maps its whole folio (up to 2 MiB of a file): give back all that
            # lies before this hit, not only its line
            release(min(first, done), pos + 1 - min(first, done))
            done = pos + 1
        return sorted(starts)

    def _hits(self, block: Buffer, end: int, start: int, release: Release) -> list[int]:
        if self._database is not None:
            found: list[int] = []
            view = memoryview(block)
            overlap = max(len(n) for n in self.needles) - 1
            for window in range(start, end, WINDOW):
                stop_at = min(end, window + WINDOW + overlap)

                def on_match(_id: int, _start: int, stop: int, _flags: int, _ctx: object,
                             base: int = window) -> None:
                    found.append(base + stop - 1)

                self._database.scan(view[window:stop_at], match_event_handler=on_match)
                release(window, WINDOW)
            view.release()
            return found
        found = []
        for needle in self.needles:
            pos = block.find(needle, start, end)
            while pos != -1:
                found.append(pos)
                # the rest of this line is already a hit: continue after it
                nl = block.find(b"\n", pos, end)
                if nl == -1:
                    break
                pos = block.find(needle, nl, end)
        return found
