"""Explain one failure event: GFP mode for its kernel, origin, and why it failed.

The verdict replays the kernel's watermark check (:mod:`minfree.analysis.verdict`) on the zone lines
the report printed; without a dump there is no verdict, never a guess.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from minfree.model import gfp
from minfree.model.kversion import KernelVersion
from minfree.logs.events import Event
from minfree.logs.memdump import MemDump
from minfree.logs.trace import Frame, parse_trace

if TYPE_CHECKING:
    from minfree.analysis.origin import Origin
    from minfree.analysis.verdict import Verdict


@dataclass(slots=True)
class ExplainedEvent:
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


def explain_event(event: Event, kernel: KernelVersion | None) -> ExplainedEvent:
    decoding = None
    if event.mode is not None:
        decoding = gfp.decode(int(event.mode, 16), kernel, event.printed_flags)
    from minfree.analysis.origin import classify  # its rule tables are compiled only when needed
    from minfree.analysis.verdict import judge

    frames = parse_trace(event.trace_lines)
    origin = classify(frames)
    dump = event.dump.result() if event.dump is not None else None
    verdict = None
    if dump is not None and event.order is not None and decoding is not None:
        verdict = judge(dump, event.order, decoding, kernel)
    return ExplainedEvent(event, kernel, decoding, frames, origin, dump, verdict)
