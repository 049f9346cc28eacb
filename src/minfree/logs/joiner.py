"""Rebuild logical kernel lines from physical ones.

Two things break a kernel message across physical lines in published logs:

* mail clients and terminals wrap long lines: in a stream whose lines carry a stamp, a line
  with no stamp at all continues the line before it (corpus 006, 010, 018);
* two CPUs printing at once glue one record into the middle of another, so a second printk
  stamp appears inside a line (corpus 010: ``  ? page_[  659.105948][ T3124] kworker/2:1H: page``).

:class:`Joiner` undoes both, one line late (it must see the next line to know whether the
current one is complete).

Each logical line goes to a ``feed(line, number)`` callable, with the number of its first
physical line:

>>> from minfree.logs.prefix import LogLine
>>> j, out = Joiner(), []
>>> fed = lambda line, number: out.append((line.text, number))
>>> j.push(LogLine("kworker/3:2: page allocation failure: order:0,", time="785.581198", mono=785.581198), 1, fed)
>>> j.push(LogLine("mode:0xa20(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0"), 2, fed)
>>> out
[]
>>> j.flush(fed); out
[('kworker/3:2: page allocation failure: order:0, mode:0xa20(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0', 1)]

A line held back goes out split at the stamps glued into it, by whichever call lets it go:

>>> out.clear()
>>> j.push_stamped(LogLine("? page_[  659.105948][ T3124] kworker/2:1H: page", time="659.105940", mono=659.10594), 7, fed)
>>> j.push_stamped(LogLine("Call Trace:", time="659.105951", mono=659.105951), 8, fed)
>>> j.flush(fed); out
[('? page_', 7), ('kworker/2:1H: page', 7), ('Call Trace:', 8)]
"""
from __future__ import annotations

import re
from collections.abc import Callable

from minfree.logs.header import header_complete
from minfree.logs.prefix import LogLine
from minfree.logs.trace import parse_frame, trace_line_kind
from minfree.model.record import replace

# A printk stamp glued inside another line: "[  659.105948][ T3124] " (caller id optional).
_EMBEDDED_STAMP = re.compile(r"\[\s*(\d+\.\d{6})\](?:\[\s*([TC]\d+)\])?\s")
# A line that only marks text left out ("...", "[...]", "<snip>"): never the wrapped rest of the
# line before it (corpus 123 ends its excerpt with "..." under a complete frame line).
_ELISION = re.compile(r"\s*(?:\.{3,}|…|\[\s*(?:\.{3,}|…|snip)\s*\]|<\s*snip\s*>)\s*$", re.IGNORECASE)
_MAX_JOINED = 4096  # a logical line never grows past this: wrapped lines are short pieces


def _has_prefix(line: LogLine) -> bool:
    return line.time is not None or line.host is not None or line.tag is not None


Feed = Callable[[LogLine, int], None]   # takes a logical line and the number of its first physical line


class Joiner:
    """Joins wrapped continuation lines and splits glued records."""

    def __init__(self) -> None:
        self._pending: LogLine | None = None   # a bare line continues it when it has a prefix
        self._pending_lineno = 0               # its first physical line's number, 0 with none

    @property
    def holding(self) -> bool:
        return self._pending is not None

    @property
    def held_from(self) -> int:
        """Line number of the first physical line held back (0 when none)."""
        return self._pending_lineno

    def push(self, line: LogLine, lineno: int, feed: Feed) -> None:
        if line.repeat:
            self._hold(None, 0, feed)
            feed(line, lineno)
            return
        held = self._pending
        if (held is not None and _has_prefix(held)
                and not _has_prefix(line) and line.text.strip()):   # a bare line after a prefixed one
            # a bare line that is a whole failure header starts a report of its own (a paste of
            # unstamped lines after stamped ones: tests/corpus 158 after 157 in one stream)
            if (len(held.text) + len(line.text) < _MAX_JOINED and not header_complete(held.text)
                    and not _next_frame(held.text, line.text) and not header_complete(line.text)
                    and not _ELISION.match(line.text)):
                held.text = _join(held.text, line.text)   # the joiner owns what it holds
                return
        self._hold(line, lineno, feed)

    def _hold(self, line: LogLine | None, lineno: int, feed: Feed) -> None:
        """Hold ``line`` back (None: nothing) and feed the line held until now, split at the
        stamps glued into it."""
        held, number = self._pending, self._pending_lineno
        self._pending, self._pending_lineno = line, lineno
        if held is not None:
            text = held.text
            if text.find("[", 1) < 0 or _EMBEDDED_STAMP.search(text, 1) is None:   # the common case: nothing glued
                feed(held, number)
            else:
                for part in _split_glued(held):
                    feed(part, number)

    # :meth:`push` of a line with a stamp (``line.time`` set) and no repeat count, which never
    # continues the line held back (the scanner's plain console runs): one call a line
    push_stamped = _hold

    def flush(self, feed: Feed) -> None:
        """Feed the line held back, split at glued stamps."""
        self._hold(None, 0, feed)

    # a blank line: nothing after it continues what came before (only a held line takes a wrap)
    boundary = flush


def _next_frame(held: str, bare: str) -> bool:
    """A bare line that is a whole frame or marker after a trace line is the next trace line,
    not a wrap: consoles that stamp only the first line of a trace (csky) print them so.

    >>> _next_frame("Call Trace:", "  dump_stack_lvl+0x44/0x5c"), _next_frame("  [<ffffffffa06de013>]", "xfs_submit_ioend_bio+0x33/0x40 [xfs]")
    (True, False)
    """
    kind = trace_line_kind(bare)
    if kind != "marker" and (kind != "frame" or parse_frame(bare) is None):
        return False
    return trace_line_kind(held) in ("header", "marker") or parse_frame(held) is not None


# A kernel release broken after one of its hyphens ("... O 3.12.10-005-" / "ts-armv7l #2",
# corpus 156): the wrap took no space out, so none is put back.
_RELEASE_CUT = re.compile(r"\s\d+\.\d+\S*-$")


def _join(head: str, tail: str) -> str:
    """
    >>> _join("Comm: mmcqd/1 Tainted: P           O 3.12.10-005-", "ts-armv7l #2")
    'Comm: mmcqd/1 Tainted: P           O 3.12.10-005-ts-armv7l #2'
    """
    tail = tail.strip()
    head = head.rstrip()
    if tail.startswith(",") or _RELEASE_CUT.search(head):
        return head + tail
    return head + " " + tail


def _split_glued(line: LogLine) -> list[LogLine]:
    match = _EMBEDDED_STAMP.search(line.text, 1)
    if match is None:
        return [line]
    head = replace(line, text=line.text[: match.start()])
    glued = replace(
        line,
        text=line.text[match.end():],
        time=match.group(1),
        mono=float(match.group(1)),
        caller=match.group(2) or line.caller,
    )
    return [head, *_split_glued(glued)]
