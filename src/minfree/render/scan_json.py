"""The `minfree scan --json` document (schema in the README, "scan JSON"), and the JSON lines
of `minfree scan --follow --json` (one event object, the same as in the document, per line).

``{"events": [...], "related": {...}, "related_by_host": {...}, "skipped_lines": N,
"bytes_read": N, "inputs": [...], "errors": [...], "skipped": [{"path", "reason"}...]}``
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable, TextIO

from minfree.analysis.advice import advise
from minfree.analysis.event_time import when
from minfree.analysis.log_sizing import LogSizing
from minfree.analysis.scan_report import ScanReport
from minfree.analysis.explain import ExplainedEvent
from minfree.logs.trace import Frame
from minfree.model.record import field_names, field_values

SCHEMA_VERSION = 1


def report_document(report: ScanReport) -> str:
    """The whole document, compact, one line (``jq .`` pretty-prints it). ``dumps`` rather
    than ``dump``: only ``dumps`` uses the C encoder, which big scans need."""
    return _compact(report_to_json(report))


def event_line(explained: ExplainedEvent, boot_time: float | None = None) -> str:
    """One event as a JSON line of `minfree scan --follow --json`."""
    return json.dumps(event_to_json(explained, boot_time))


class JsonStream:
    """Writes the document of :func:`report_document` (the same bytes, and a newline) while
    the scan runs: each event as it is explained, the rest at :meth:`finish`; memory does not
    grow with the number of events. :meth:`prepare` may run in another process (the scan of a
    file's second half): what it returns is small and cheap to pickle."""

    def __init__(self, out: TextIO, boot_time: float | None = None) -> None:
        self._out = out
        self._started = False
        self._boot_time = boot_time   # dates the live log's printk stamps (where events are made)

    def prepare(self, explained: ExplainedEvent) -> tuple[str, int, str]:
        """(source, line, the event's JSON after its "line" member): the bytes of
        :func:`event_to_json`'s object, its last two members joined from pieces (a frame's piece
        is made once per distinct frame: the same frames recur in every report of a host)."""
        document = _event_head(explained, self._boot_time)
        source, line = document.pop("source"), document.pop("line")
        zones = [] if explained.dump is None else [_fields(z) for z in explained.dump.zones]
        return source, line, "".join((
            _compact(document)[1:-1], ',"call_trace":[', _call_trace(explained.frames),
            '],"zones":', _compact(zones), "}"))

    @staticmethod
    def relocate(item: tuple[str, int, str], line: int) -> tuple[str, int, str]:
        return item[0], line, item[2]

    def write(self, item: tuple[str, int, str]) -> None:
        source, line, rest = item
        self._out.write(f',{{"source":{json.dumps(source)},"line":{line},{rest}' if self._started else
                        f'{{"schema":{SCHEMA_VERSION},"events":[{{"source":{json.dumps(source)},"line":{line},{rest}')
        self._started = True

    def finish(self, report: ScanReport) -> None:
        """The members after "events" (``report`` holds no events: they were written)."""
        if not self._started:
            self._out.write(f'{{"schema":{SCHEMA_VERSION},"events":[')
        self._out.write("]," + _compact(_after_events(report))[1:] + "\n")


def report_to_json(report: ScanReport) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "events": [event_to_json(e, report.boot_time) for e in report.events],
            **_after_events(report)}


def _after_events(report: ScanReport) -> dict[str, Any]:
    return {
        "related": dict(report.related),
        "related_by_host": {host: dict(c) for host, c in report.related_by_host.items()},
        "skipped_lines": report.skipped_lines,
        "bytes_read": report.bytes_read,
        "inputs": report.inputs,
        "errors": report.errors,
        "skipped": [{"path": path, "reason": why} for path, why in report.skipped],
        "sizing": None if report.sizing is None else _sizing(report.sizing),
    }


def _sizing(sizing: LogSizing) -> dict[str, Any]:
    """tune's proposal for the host of one report: changes and advice as in `minfree tune --json`."""
    from minfree.render.tune_json import advice_json, change_json

    e = sizing.event
    return {"source": e.event.source, "line": e.event.line, "host": e.event.host,
            "kernel": e.kernel.release if e.kernel else None,
            "changes": [change_json(c) for c in sizing.proposal.changes],
            "advice": advice_json(sizing.proposal), "notes": [*sizing.notes, *sizing.proposal.notes]}


def event_to_json(explained: ExplainedEvent, boot_time: float | None = None) -> dict[str, Any]:
    document = _event_head(explained, boot_time)
    document["call_trace"] = [_fields(f) for f in explained.frames]
    document["zones"] = [] if explained.dump is None else [_fields(z) for z in explained.dump.zones]
    return document


def _event_head(explained: ExplainedEvent, boot_time: float | None) -> dict[str, Any]:
    """Every member of :func:`event_to_json` but the last two, "call_trace" and "zones"."""
    e = explained.event
    decoding = explained.decoding
    at = when(e.time, e.mono, boot_time)
    return {
        "source": e.source,
        "line": e.line,
        "host": e.host,
        "time": e.time,
        "wall_clock": at.wall.isoformat(timespec="microseconds") if at.wall is not None else None,
        "uptime_s": at.uptime,
        "caller": e.caller,
        "process": e.process,
        "pid": e.pid,
        "cpu": e.cpu,
        "order": e.order,
        "kind": e.kind,
        "what": e.what,
        "mode": e.mode,
        "mode_text": e.mode_text,
        "gfp_flags": list(decoding.names) if decoding else [],
        "gfp": None if decoding is None else {
            "bits": sorted(decoding.bits),
            "layout": decoding.layout,
            "exact": decoding.exact,
            "zone": decoding.zone,
            "can_sleep": decoding.can_sleep,
            "request_class": decoding.request_class,
        },
        "nodemask": e.nodemask,
        "cpuset": e.cpuset,
        "mems_allowed": e.mems_allowed,
        "kernel": explained.kernel.release if explained.kernel else (e.kernel or e.host_kernel),
        "hardware": e.hardware,
        "workqueue": e.workqueue,
        "vmalloc": e.vmalloc_detail,
        "repeated": e.repeated,
        "origin": {
            "category": explained.origin.category,
            "frame": explained.origin.frame.function if explained.origin.frame else None,
            "detail": explained.origin.detail,
        },
        "oom_nearby": None if e.oom_nearby is None else _fields(e.oom_nearby),
        "oom_killer_disabled": e.oom_killer_disabled,
        "verdict": None if explained.verdict is None else explained.verdict.to_json(),
        "advice": [a.to_json() for a in advise(explained)],
    }


#: ``json.dumps(value, separators=(",", ":"))`` without building an encoder on every call, nor
#: the check for containers that hold themselves (the C encoder keeps a dict of every list and
#: dict it enters for it: ~a third of an event's encoding), which these trees of parsed values
#: cannot do
_compact = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

_FRAME_VALUES = field_values(Frame)   # every field of a frame is compared
_FRAME_NAMES = field_names(Frame)


def _call_trace(frames: list[Frame]) -> str:
    """The members of "call_trace", each frame's piece looked up by its fields' values (C
    calls only: keyed by the frame itself, the record's Python ``__hash__`` and ``__eq__`` cost
    ~1 us a frame)."""
    return ",".join(map(_frame_json, map(_FRAME_VALUES, frames)))


@functools.lru_cache(maxsize=4096)
def _frame_json(values: tuple) -> str:
    """One member of "call_trace", made once per distinct frame: the same frames recur in every
    report of a host."""
    return _compact(dict(zip(_FRAME_NAMES, values)))


def _fields(item: Any) -> dict[str, Any]:
    """A flat record as a dict (:func:`~minfree.model.record.asdict` also converts what it holds)."""
    names, values = _reader(item.__class__)
    return dict(zip(names, values(item)))


@functools.cache   # one entry per record class
def _reader(kind: type) -> tuple[tuple[str, ...], Callable[[Any], tuple]]:
    """A record class's field names, and a function giving an instance's values in their order."""
    return field_names(kind), field_values(kind)
