"""The ``hist`` file of a tracefs event with hist triggers (``CONFIG_HIST_TRIGGERS``), parsed.

Layout, per trigger (kernel/trace/trace_events_hist.c ``hist_trigger_show`` and
``hist_trigger_print_key``; the same text in every version read here): ``# event histogram``, ``# trigger info: <trigger> [active]``, one line per
entry -- the keys in braces, then the values, ``{ order:          3 } hitcount:          5``
(a plain numeric key prints ``%s: %10llu``) -- then ``Totals:`` with ``Hits``, ``Entries`` and
``Dropped``. ``Hits`` counts the events that found or made an entry and ``Dropped`` the ones
that found the table full (kernel/trace/tracing_map.c ``__tracing_map_insert``): every event
the trigger saw is ``Hits + Dropped``. Several triggers on one event print one table each.

A sample from Documentation/trace/histogram.rst (section 6.2, "'hist' trigger examples", the
``call_site.hex`` run, as stored at commit 037dd1308c6d: no release tag could be fetched here; entries omitted there are omitted here, and its Totals are verbatim):

>>> doc = '''# trigger info: hist:keys=call_site.hex:vals=bytes_req:sort=hitcount:size=2048 [active]
...
... { call_site: ffffffffa026b291 } hitcount:          1  bytes_req:        433
... { call_site: ffffffffa0099c06 } hitcount:       1780  bytes_req:      35600
...
... Totals:
...     Hits: 4775
...     Entries: 46
...     Dropped: 0
... '''
>>> table, = parse_hist(doc)
>>> table.trigger
'hist:keys=call_site.hex:vals=bytes_req:sort=hitcount:size=2048 [active]'
>>> table.entries[1]
HistEntry(keys=(('call_site', 'ffffffffa0099c06'),), values={'hitcount': 1780, 'bytes_req': 35600})
>>> (table.hits, table.entries_total, table.dropped, table.skipped)
(4775, 46, 0, 0)

Built for ``kmem:mm_page_alloc`` in the same format (``order`` is an ``unsigned int``), with
minfree's trigger; a malformed line is skipped and counted:

>>> ours = '''# event histogram
... #
... # trigger info: hist:keys=order:vals=hitcount:sort=order:size=2048 if pfn == 0xffffffffffffffff [active]
... #
...
... { order:          0 } hitcount:          2
... { order:          3 } hitcount:          5
... { order: garbage
... { order:          9 } hitcount:          1
...
... Totals:
...     Hits: 8
...     Entries: 3
...     Dropped: 1
... '''
>>> table, = parse_hist(ours)
>>> failures_by_order(table), table.failed_total(), table.skipped
({0: 2, 3: 5, 9: 1}, 9, 1)
"""
from __future__ import annotations

import re

from minfree.model.record import field, record

_ENTRY = re.compile(r"\{\s*(?P<keys>.*?)\s*\}(?P<values>(?:\s+[\w.]+:\s+-?\d+)+)\s*$")
_VALUE = re.compile(r"([\w.]+):\s+(-?\d+)")
_KEY_SPLIT = re.compile(r",\s+(?=[\w.]+:)")  # compound keys: "a: 1, b: 2"
_TOTALS = {"Hits": "hits", "Entries": "entries_total", "Dropped": "dropped"}


@record(frozen=False)
class HistEntry:
    """One line of a table: its keys as printed (name, text) and its values (name -> sum)."""

    keys: tuple[tuple[str, str], ...]
    values: dict[str, int]


@record(frozen=False)
class HistTable:
    """The table of one hist trigger."""

    trigger: str | None
    entries: list[HistEntry] = field(default_factory=list)
    hits: int | None = None
    entries_total: int | None = None
    dropped: int | None = None
    skipped: int = 0  # malformed lines

    def failed_total(self) -> int:
        """Every event the trigger saw: the hits plus the ones the full table dropped (with no
        Totals, the sum of the hitcounts)."""
        if self.hits is None:
            return sum(e.values.get("hitcount", 0) for e in self.entries)
        return self.hits + (self.dropped or 0)


def parse_hist(text: str) -> list[HistTable]:
    """The tables of a ``hist`` file, in the order printed."""
    tables: list[HistTable] = []
    current: HistTable | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# trigger info:"):
            current = HistTable(trigger=line[len("# trigger info:"):].strip())
            tables.append(current)
            continue
        if not line or line.startswith("#") or line == "Totals:":
            continue
        if current is None:
            current = HistTable(trigger=None)
            tables.append(current)
        name, colon, value = line.partition(":")
        if colon and name in _TOTALS and value.strip().isdecimal():
            setattr(current, _TOTALS[name], int(value))
            continue
        entry = _entry(line)
        if entry is None:
            current.skipped += 1
        else:
            current.entries.append(entry)
    return tables


def _entry(line: str) -> HistEntry | None:
    match = _ENTRY.match(line)
    if match is None:
        return None
    keys = []
    for part in _KEY_SPLIT.split(match["keys"]):
        name, colon, text = part.partition(":")
        if not colon:
            return None
        keys.append((name.strip(), text.strip()))
    return HistEntry(tuple(keys), {n: int(v) for n, v in _VALUE.findall(match["values"])})


def failures_by_order(table: HistTable) -> dict[int, int]:
    """Hitcounts by ``order`` of a table keyed on ``order`` alone (entries of other keys or a
    non-numeric order are left out)."""
    out: dict[int, int] = {}
    for entry in table.entries:
        if len(entry.keys) == 1 and entry.keys[0][0] == "order" and entry.keys[0][1].isdecimal():
            out[int(entry.keys[0][1])] = out.get(int(entry.keys[0][1]), 0) + entry.values.get("hitcount", 0)
    return out
