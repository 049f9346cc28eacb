"""Explain one failure event: GFP mode for its kernel, origin, and why it failed.

The verdict replays the kernel's watermark check (:mod:`minfree.analysis.verdict`) on the zone lines
the report printed; without a dump there is no verdict, never a guess.

The mode is decoded with the era table of the event's kernel, except for reports of the running
kernel itself: given a :class:`~minfree.model.gfp.RunningGfp`, an event whose release is the
running one is decoded with that kernel's own table (tracefs) and config.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from minfree.model import gfp
from minfree.model.kversion import KernelVersion, parse_release
from minfree.logs.events import Event
from minfree.logs.memdump import MemDump
from minfree.logs.trace import Frame, parse_trace
from minfree.model.record import record

if TYPE_CHECKING:
    from minfree.analysis.origin import Origin
    from minfree.analysis.verdict import Verdict


@record(frozen=False)
class ExplainedEvent:
    """One failure event and everything said about it."""

    event: Event
    kernel: KernelVersion | None
    decoding: gfp.GfpDecoding | None
    frames: list[Frame]
    origin: Origin
    dump: MemDump | None
    verdict: Verdict | None

    @property
    def occurrences(self) -> int:
        return 1 + self.event.repeated


def event_kernel(event: Event, forced: KernelVersion | None) -> KernelVersion | None:
    """The kernel an event's mode is decoded for: ``forced`` (``--kernel``), else the release
    the report printed, else the one its host's log named; None when nothing says."""
    if forced is not None:
        return forced
    for release in (event.kernel, event.host_kernel):
        if release and (version := parse_release(release)) is not None:
            return version
    return None


# A log's reports repeat a few modes: decoding is a pure function of these, its result frozen.
_decode = functools.lru_cache(maxsize=1024)(gfp.decode)


def explain_event(event: Event, kernel: KernelVersion | None,
                  running: gfp.RunningGfp | None = None) -> ExplainedEvent:
    """``kernel`` as :func:`event_kernel` chose it; ``running``: the running kernel's own GFP
    knowledge, used when ``kernel`` is that kernel."""
    decoding = None
    if event.mode is not None:
        mask = int(event.mode, 16)
        if running is not None and kernel is not None and kernel.release == running.release:
            decoding = gfp.decode(mask, kernel, event.printed_flags, running.config, running.layout)
        else:
            decoding = _decode(mask, kernel, event.printed_flags)
    from minfree.analysis.verdict import judge

    frames, origin, reclaim = _trace_facts(tuple(event.trace_lines))
    dump = event.dump.result() if event.dump is not None else None
    verdict = None
    if dump is not None and event.order is not None and decoding is not None:
        verdict = judge(dump, event.order, decoding, kernel, reclaim)
    return ExplainedEvent(event, kernel, decoding, list(frames), origin, dump, verdict)


@functools.lru_cache(maxsize=128)   # a host prints a few distinct traces; memory stays flat
def _trace_facts(lines: tuple[str, ...]) -> tuple[tuple[Frame, ...], Origin, bool]:
    """The frames of a trace's lines, its origin and whether reclaim made the request: pure
    functions of the lines, and a host's reports repeat whole traces (memoised; keyed by the
    lines, whose hashes are C string hashes, not by the parsed frames). The same trace printed
    at other addresses misses here and hits :func:`origin_and_reclaim`'s memo, keyed by frames
    (which keep no addresses): without it, per_report.py counts ~600 more calls a report."""
    from minfree.analysis.origin import origin_and_reclaim  # rule tables compiled only when needed

    frames = tuple(parse_trace(lines))
    origin, reclaim = origin_and_reclaim(frames)
    return frames, origin, reclaim
