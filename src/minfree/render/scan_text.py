"""Human output of `minfree scan`: a summary read at a glance, then the most telling event;
and the one line per event that `minfree scan --follow` prints."""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from minfree.analysis.advice import advice
from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.scan_report import ScanReport, rank, strength
from minfree.analysis.verdict import no_replay
from minfree.logs.related import OomVictim
from minfree.model import gfp

if TYPE_CHECKING:
    from rich.console import Console

_RELATED_LABELS = {
    "suppressed_reports": "failure reports suppressed by the kernel's ratelimit (warn_alloc)",
    "oom_kill": "OOM kills",
    "slab_failure": "SLUB/SLAB allocation failures",
    "tcp_out_of_memory": "TCP out-of-memory messages",
    "alloc_stall": "page allocation stalls",
}


_SKIPPED_SHOWN = 10   # files left out of a directory, listed by name (all of them in --json)


@dataclass(slots=True)
class TextRow:
    """One event as the text report needs it: small, because it may come from the second
    scanning process and is kept only while it is its group's most telling one."""

    source: str
    line: int
    host: str | None
    time: str | None
    process: str | None
    order: int | None
    origin: str
    occurrences: int
    victim: OomVictim | None
    strength: tuple[int, ...]                    # analysis.scan_report.strength()
    request: str                                 # its --events line after the process
    explanation: list[tuple[str, dict[str, Any]]]   # the print calls of _explain after the first


class TextDigest:
    """What the text report says of the events, gathered as they are explained, so that
    memory does not grow with their number: counts, first and last time per host, OOM
    victims, each (process, order) group's most telling event, and (``every_event``) the
    lines of ``--events`` in an unnamed temporary file."""

    def __init__(self, every_event: bool) -> None:
        self.distinct = 0
        self.total = 0
        self.by: dict[str, Counter[str]] = {"hosts": Counter(), "processes": Counter(), "orders": Counter(),
                                            "origins": Counter()}
        self.seen: dict[str, list[str]] = {}     # host: [first time, last time]
        self.victims: dict[tuple[int, str], OomVictim] = {}
        self._groups: Counter[tuple[str | None, int | None]] = Counter()
        self._best: dict[tuple[str | None, int | None], tuple[tuple[int, ...], int, TextRow]] = {}
        self._listed: IO[str] | None = tempfile.TemporaryFile("w+", encoding="utf-8") if every_event else None

    @staticmethod
    def prepare(e: ExplainedEvent) -> TextRow:
        ev = e.event
        verdict = f" -> {e.verdict.summary}" if e.verdict else ""
        return TextRow(ev.source, ev.line, ev.host, ev.time, ev.process, ev.order, e.origin.category,
                       e.occurrences, ev.oom_nearby, strength(e), f"{_request(e)}{verdict}", _explanation(e))

    @staticmethod
    def relocate(row: TextRow, line: int) -> TextRow:
        row.line = line
        return row

    def write(self, row: TextRow) -> None:
        n = row.occurrences
        host = row.host or _short(row.source)
        self.by["hosts"][host] += n
        self.by["processes"][row.process or "?"] += n
        self.by["orders"][str(row.order) if row.order is not None else "?"] += n
        self.by["origins"][row.origin] += n
        if row.time:
            self.seen.setdefault(host, [row.time, row.time])[1] = row.time
        if row.victim is not None:
            self.victims[(row.victim.pid, row.victim.comm)] = row.victim
        key = (row.process, row.order)
        self._groups[key] += 1
        best = self._best.get(key)
        if best is None or (row.strength, self.distinct) >= best[:2]:
            self._best[key] = (row.strength, self.distinct, row)
        if self._listed is not None:
            self._listed.write(json.dumps([row.source, row.line, row.host, row.time, row.process, row.request]) + "\n")
        self.distinct += 1
        self.total += n

    def most_telling(self) -> TextRow | None:
        """The row :meth:`ScanReport.most_telling` would choose among all events: the best of
        each group, ranked with its group's standing."""
        if not self._best:
            return None
        top_group = self._groups.most_common(1)[0][0]
        return max((rank(own, key == top_group, index), row) for key, (own, index, row) in self._best.items())[1]

    @property
    def lists_events(self) -> bool:
        return self._listed is not None

    def listed(self) -> Iterator[list[Any]]:
        """The ``--events`` lines written so far, as :func:`_event_line` takes them."""
        if self._listed is None:
            return
        self._listed.seek(0)
        for line in self._listed:
            yield json.loads(line)

    def close(self) -> None:
        if self._listed is not None:
            self._listed.close()


def render(report: ScanReport, console: Console, every_event: bool) -> None:
    """The whole report; ``every_event`` lists each event before the most telling one."""
    digest = TextDigest(every_event)
    for explained in report.events:
        digest.write(digest.prepare(explained))
    render_digest(report, digest, console)


def render_digest(report: ScanReport, digest: TextDigest, console: Console) -> None:
    """The report of a scan whose events went to ``digest`` as they were explained."""
    try:
        _render(report, digest, console)
    finally:
        digest.close()


def _render(report: ScanReport, digest: TextDigest, console: Console) -> None:
    where = ", ".join(report.inputs) if len(report.inputs) <= 3 else f"{len(report.inputs)} inputs"
    console.print(f"[bold]minfree scan[/]: {_size(report.bytes_read)} read from {where}")
    if not digest.distinct:
        console.print("[green]No page allocation failure reports found.[/]")
    else:
        console.print(f"[bold red]{digest.total} page allocation failure report(s)[/]"
                      f" ({digest.distinct} distinct)")
        _summary(digest, console)
    _related(report, digest, console)
    if report.skipped_lines:
        console.print(f"[dim]{report.skipped_lines} malformed line(s) skipped[/]")
    for error in report.errors:
        console.print(f"[yellow]warning[/]: {error}")
    if report.skipped:
        from rich.markup import escape   # a file name may hold [brackets]

        console.print(f"[yellow]{len(report.skipped)} file(s) skipped[/] (not text logs, or unreadable):")
        for path, why in report.skipped[:_SKIPPED_SHOWN]:
            console.print(f"  {escape(path)}: {escape(why)}")
        if len(report.skipped) > _SKIPPED_SHOWN:
            console.print(f"  ... and {len(report.skipped) - _SKIPPED_SHOWN} more (--json lists every one)")
    telling = digest.most_telling()
    if telling is not None:
        if digest.lists_events:
            console.rule("every event")
            for listed in digest.listed():
                _event_line(*listed, console=console)
        console.rule("the most telling event")
        _explain(telling, console)


def _summary(digest: TextDigest, console: Console) -> None:
    for label, counter in digest.by.items():
        console.print(f"  {label:<10} " + ", ".join(_top(counter)), highlight=False, markup=False)
    for host, (first, last) in digest.seen.items():
        span = first if first == last else f"{first} .. {last}"
        console.print(f"  {host}: seen {span}", highlight=False, markup=False)


def _short(source: str) -> str:
    return source.rsplit("/", 1)[-1]


def _top(counter: Counter[str], limit: int = 6) -> list[str]:
    rows = [f"{name} ({count})" for name, count in counter.most_common(limit)]
    if len(counter) > limit:
        rows.append(f"... {len(counter) - limit} more")
    return rows


def _related(report: ScanReport, digest: TextDigest, console: Console) -> None:
    if not report.related:
        return
    console.print("Related messages (not failure reports):")
    for kind, count in report.related.most_common():
        console.print(f"  {count:>6}  {_RELATED_LABELS.get(kind, kind)}")
    if digest.victims:
        named = ", ".join(f"{v.comm} (pid {v.pid}" + (f", anon-rss {v.anon_rss_kb:,} kB" if v.anon_rss_kb is not None else "")
                          + (", memory cgroup" if v.memcg else "") + ")" for v in digest.victims.values())
        console.print(f"  OOM kills next to failure reports: {named}", highlight=False, markup=False)


def one_line(e: ExplainedEvent) -> str:
    """One event as `minfree scan --follow` prints it (plain text, no markup)."""
    verdict = f"; {e.verdict.summary}" if e.verdict else ""
    return f"[{e.event.time}] {e.event.process or '?'}: {_request(e)}{verdict}"


def _event_line(source: str, line: int, host: str | None, time: str | None, process: str | None, request: str,
                console: Console) -> None:
    from rich.markup import escape

    console.print(escape(f"{source}:{line} {host or ''} {time or ''} ")
                  + f"[bold]{escape(process or '?')}[/] " + escape(request), highlight=False)


def _request(e: ExplainedEvent) -> str:
    """What was asked for and by whom: ``order:1 mode:0x20 (GFP_ATOMIC) origin=tcp-accept``."""
    names = "|".join(e.decoding.names) if e.decoding else "?"
    return f"order:{e.event.order} mode:{e.event.mode} ({names}) origin={e.origin.category}"


def _explanation(e: ExplainedEvent) -> list[tuple[str, dict[str, Any]]]:
    """The lines of :func:`_explain` after its first, with their print options: every one
    carries text from the log ("[ext4]" module names, comms), none is read as markup."""
    ev = e.event
    lines: list[tuple[str, dict[str, Any]]] = [
        (f"{ev.process}: {ev.what}, mode:{ev.mode_text or ev.mode}", {"style": "bold", "highlight": False, "markup": False})]
    kernel = e.kernel.release if e.kernel else "unknown kernel"
    lines.append((f"Kernel: {kernel}", {"markup": False}))
    if e.decoding is not None and ev.order is not None:
        lines.append(("What it asked for: " + gfp.explain(e.decoding, ev.order), {"markup": False}))
    lines.append((f"Where it came from: {e.origin.detail}", {"markup": False}))
    if e.verdict is not None:
        lines.append((f"Why it failed: {e.verdict.explanation}", {"markup": False}))
    else:
        lines.append(("Why it failed: " + no_replay(e.dump, e.decoding, ev.what), {"highlight": False, "markup": False}))
    if ev.oom_nearby is not None:
        victim = ev.oom_nearby
        rss = f", anon-rss {victim.anon_rss_kb:,} kB" if victim.anon_rss_kb is not None else ""
        why = ("its memory cgroup was at its limit" if victim.memcg
               else "the host's memory was exhausted, not only fragmented or short of reserve")
        lines.append((f"Nearby: the OOM killer killed {victim.comm} (pid {victim.pid}{rss}): {why}.",
                      {"highlight": False, "markup": False}))
    lines.append(("What to do: " + advice(e), {"markup": False}))
    return lines


def _explain(row: TextRow, console: Console) -> None:
    console.print(f"{row.source}:{row.line}  {row.host or ''} {row.time or ''}", highlight=False, markup=False)
    for text, options in row.explanation:
        console.print(text, **options)


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GiB"
