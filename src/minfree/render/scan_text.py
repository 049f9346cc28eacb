"""Human output of `minfree scan`: a summary read at a glance, then the most telling event;
and the one line per event that `minfree scan --follow` prints."""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from minfree.analysis.event_time import When, when
from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.log_sizing import LogSizing
from minfree.analysis.scan_report import ScanReport, rank, strength
from minfree.logs.related import OomVictim
from minfree.model.record import record
from minfree.render.explanation import explanation_rows

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


@record(frozen=False)
class TextRow:
    """One event as the text report needs it: small, because it may come from the second
    scanning process and is kept only while it is its group's most telling one."""

    source: str
    line: int
    host: str | None
    when: When
    kernel: str
    verdict: str
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

    def __init__(self, every_event: bool, boot_time: float | None = None) -> None:
        self.boot_time = boot_time   # dates the live log's printk stamps (where the rows are made)
        self.printed = 0             # reports printed in full (a syslog repeat counts once)
        self.total = 0               # with the repeats
        self.by: dict[str, Counter[str]] = {"hosts": Counter(), "kernels": Counter(), "processes": Counter(),
                                            "orders": Counter(), "origins": Counter(), "verdicts": Counter()}
        # per log (its host, or its file when it names none) and kind of clock: the first and
        # the last time seen (seen_lines needs no more)
        self.seen: dict[str, dict[str, list[When]]] = {}
        self.victims: dict[tuple[int, str], OomVictim] = {}
        self._groups: Counter[tuple[str | None, int | None]] = Counter()
        self._best: dict[tuple[str | None, int | None], tuple[tuple[int, ...], int, TextRow]] = {}
        self._listed: IO[str] | None = tempfile.TemporaryFile("w+", encoding="utf-8") if every_event else None

    def prepare(self, e: ExplainedEvent) -> TextRow:
        ev = e.event
        verdict = f" -> {e.verdict.summary}" if e.verdict else ""
        return TextRow(ev.source, ev.line, ev.host, when(ev.time, ev.mono, self.boot_time),
                       e.kernel.release if e.kernel else ev.kernel or ev.host_kernel or "not printed",
                       _VERDICT_WORDS.get(e.verdict.reason, e.verdict.reason) if e.verdict else "no dump to replay",
                       ev.process, ev.order, e.origin.category,
                       e.occurrences, ev.oom_nearby, strength(e), f"{_request(e)}{verdict}", _explanation(e))

    @staticmethod
    def relocate(row: TextRow, line: int) -> TextRow:
        row.line = line
        return row

    def write(self, row: TextRow) -> None:
        n = row.occurrences
        self.by["hosts"][row.host or NO_HOST] += n
        self.by["kernels"][row.kernel] += n
        self.by["processes"][row.process or "?"] += n
        self.by["orders"][str(row.order) if row.order is not None else "?"] += n
        self.by["origins"][row.origin] += n
        self.by["verdicts"][row.verdict] += n
        # a log without host names is its own source: its times are compared within it only
        log = row.host or (_short(row.source) if row.source != "-" else "stdin")
        span = self.seen.setdefault(log, {}).setdefault(row.when.kind, [row.when, row.when])
        key = row.when.sort_key()
        if key < span[0].sort_key():
            span[0] = row.when
        if key > span[1].sort_key():
            span[1] = row.when
        if row.victim is not None:
            self.victims[(row.victim.pid, row.victim.comm)] = row.victim
        key = (row.process, row.order)
        self._groups[key] += 1
        best = self._best.get(key)
        if best is None or (row.strength, self.printed) >= best[:2]:
            self._best[key] = (row.strength, self.printed, row)
        if self._listed is not None:
            self._listed.write(json.dumps([row.source, row.line, row.host, row.when.label(), row.process,
                                           row.request]) + "\n")
        self.printed += 1
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
    digest = TextDigest(every_event, report.boot_time)
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
    if not digest.printed:
        console.print("[green]No page allocation failure reports found.[/]")
    else:
        repeated = digest.total - digest.printed
        console.print(f"[bold red]{digest.total} page allocation failure report(s)[/]" + (
            f" ({digest.printed} printed in full, {repeated} more as 'last message repeated')" if repeated else ""))
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
    if report.sizing is not None:
        _sizing(report.sizing, console)


_VERDICT_WORDS = {"below_watermark": "below watermark", "fragmented": "fragmented",
                  "passes_on_dump": "passes on its dump"}
NO_HOST = "no host in log"
_SEEN_LINES = 3   # more logs than this: one summary line per kind of clock


def _summary(digest: TextDigest, console: Console) -> None:
    for label, counter in digest.by.items():
        console.print(f"  {label:<10} " + ", ".join(_top(counter)), highlight=False, markup=False)
    for line in seen_lines({log: [t for span in kinds.values() for t in span] for log, kinds in digest.seen.items()}):
        console.print(f"  {'seen':<10} {line}", highlight=False, markup=False)


def seen_lines(seen: dict[str, list[When]]) -> list[str]:
    """First and last time per log (host, or file when the log names none); past a few logs, one
    line per kind of clock, so a directory of 37 files stays a summary."""
    if len(seen) <= _SEEN_LINES:
        return [f"{name}: {_span(times)}" for name, times in seen.items()]
    lines = []
    kinds: dict[str, list[tuple[str, list[When]]]] = {}
    for name, times in seen.items():
        for kind in {t.kind for t in times}:
            kinds.setdefault(kind, []).append((name, [t for t in times if t.kind == kind]))
    if "wall" in kinds:
        every = [t for _, times in kinds["wall"] for t in times]
        lines.append(f"{_span(every)} (wall clock, {len(kinds['wall'])} logs)")
    if "printed" in kinds:
        lines.append(f"{len(kinds['printed'])} logs stamped with local time without year or zone "
                     "(--events lists each)")
    if "uptime" in kinds:
        lines.append(f"{len(kinds['uptime'])} logs stamped only with uptime, no boot time to date them "
                     "(--events lists each)")
    if "none" in kinds:
        lines.append(f"{len(kinds['none'])} logs without timestamps")
    return lines


def _span(times: list[When]) -> str:
    """First .. last of one log's times (those without a time only when none has one)."""
    timed = [t for t in times if t.kind != "none"] or times
    ordered = sorted(timed, key=lambda t: (t.kind, t.sort_key()))
    first, last = ordered[0].label(), ordered[-1].label()
    return first if first == last else f"{first} .. {last}"


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


def one_line(e: ExplainedEvent, boot_time: float | None = None) -> str:
    """One event as `minfree scan --follow` prints it (plain text, no markup)."""
    verdict = f"; {e.verdict.summary}" if e.verdict else ""
    return f"[{_time(e, boot_time)}] {e.event.process or '?'}: {_request(e)}{verdict}"


def _time(e: ExplainedEvent, boot_time: float | None) -> str:
    return when(e.event.time, e.event.mono, boot_time).label()


def _event_line(source: str, line: int, host: str | None, time: str, process: str | None, request: str,
                console: Console) -> None:
    from rich.markup import escape

    console.print(escape(f"{source}:{line} {host or NO_HOST}, {time}: ")
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
    lines += [(f"{label}: {text}", {"highlight": False, "markup": False}) for label, text in explanation_rows(e)]
    return lines


def _explain(row: TextRow, console: Console) -> None:
    console.print(f"{row.source}:{row.line}  {row.host or NO_HOST}, {row.when.label()}", highlight=False, markup=False)
    for text, options in row.explanation:
        console.print(text, **options)


def _sizing(sizing: LogSizing, console: Console) -> None:
    """What `minfree tune` would propose for the host of one report (the same function)."""
    from minfree.render.tune_text import print_change

    e = sizing.event
    console.rule("sizing, as `minfree tune` would")
    console.print(f"For {e.event.host or 'the host of ' + _short(e.event.source)} (kernel "
                  f"{e.kernel.release if e.kernel else '?'}), from the memory dump of its report at "
                  f"{e.event.source}:{e.event.line}:", markup=False, highlight=False)
    for change in sizing.proposal.changes:
        print_change(change, console)
    for a in sizing.proposal.advice:
        console.print(f"  advice: {a.key} {a.current} -> {a.suggestion}: {a.reason}", markup=False)
    for note in (*sizing.notes, *sizing.proposal.notes):
        console.print(f"  note: {note}", style="dim", markup=False)


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GiB"
