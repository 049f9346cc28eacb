"""Human output of `minfree scan`: a summary read at a glance, then the most telling event;
and the one line per event that `minfree scan --follow` prints."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from minfree.analysis.advice import advice
from minfree.analysis.event_time import When, when
from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.log_sizing import LogSizing
from minfree.analysis.scan_report import ScanReport
from minfree.analysis.verdict import no_replay
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


def render(report: ScanReport, console: Console, every_event: bool) -> None:
    """The whole report; ``every_event`` lists each event before the most telling one."""
    events = report.events
    total = sum(e.occurrences for e in events)
    where = ", ".join(report.inputs) if len(report.inputs) <= 3 else f"{len(report.inputs)} inputs"
    console.print(f"[bold]minfree scan[/]: {_size(report.bytes_read)} read from {where}")
    if not events:
        console.print("[green]No page allocation failure reports found.[/]")
    else:
        repeated = total - len(events)
        console.print(f"[bold red]{total} page allocation failure report(s)[/]" + (
            f" ({len(events)} printed in full, {repeated} more as 'last message repeated')" if repeated else ""))
        _summary(events, console, report.boot_time)
    _related(report, console)
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
    telling = report.most_telling()
    if telling is not None:
        if every_event:
            console.rule("every event")
            for explained in events:
                _event_line(explained, console, report.boot_time)
        console.rule("the most telling event")
        _explain(telling, console, report.boot_time)
    if report.sizing is not None:
        _sizing(report.sizing, console)


_VERDICT_WORDS = {"below_watermark": "below watermark", "fragmented": "fragmented",
                  "passes_on_dump": "passes on its dump"}
NO_HOST = "no host in log"
_SEEN_LINES = 3   # more logs than this: one summary line per kind of clock


def _summary(events: list[ExplainedEvent], console: Console, boot_time: float | None = None) -> None:
    by: dict[str, Counter[str]] = {"hosts": Counter(), "kernels": Counter(), "processes": Counter(),
                                   "orders": Counter(), "origins": Counter(), "verdicts": Counter()}
    seen: dict[str, list[When]] = {}
    for e in events:
        n = e.occurrences
        by["hosts"][e.event.host or NO_HOST] += n
        by["kernels"][e.kernel.release if e.kernel else e.event.kernel or e.event.host_kernel or "not printed"] += n
        by["processes"][e.event.process or "?"] += n
        by["orders"][str(e.event.order) if e.event.order is not None else "?"] += n
        by["origins"][e.origin.category] += n
        by["verdicts"][_VERDICT_WORDS.get(e.verdict.reason, e.verdict.reason) if e.verdict
                       else "no dump to replay"] += n
        # a log without host names is its own source: its times are compared within it only
        seen.setdefault(e.event.host or (_short(e.event.source) if e.event.source != "-" else "stdin"), []).append(
            when(e.event.time, e.event.mono, boot_time))
    for label, counter in by.items():
        console.print(f"  {label:<10} " + ", ".join(_top(counter)), highlight=False, markup=False)
    for line in seen_lines(seen):
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


def _related(report: ScanReport, console: Console) -> None:
    if not report.related:
        return
    console.print("Related messages (not failure reports):")
    for kind, count in report.related.most_common():
        console.print(f"  {count:>6}  {_RELATED_LABELS.get(kind, kind)}")
    victims = {(v.pid, v.comm): v for e in report.events if (v := e.event.oom_nearby) is not None}
    if victims:
        named = ", ".join(f"{v.comm} (pid {v.pid}" + (f", anon-rss {v.anon_rss_kb:,} kB" if v.anon_rss_kb is not None else "")
                          + (", memory cgroup" if v.memcg else "") + ")" for v in victims.values())
        console.print(f"  OOM kills next to failure reports: {named}", highlight=False, markup=False)


def one_line(e: ExplainedEvent, boot_time: float | None = None) -> str:
    """One event as `minfree scan --follow` prints it (plain text, no markup)."""
    verdict = f"; {e.verdict.summary}" if e.verdict else ""
    return f"[{_time(e, boot_time)}] {e.event.process or '?'}: {_request(e)}{verdict}"


def _time(e: ExplainedEvent, boot_time: float | None) -> str:
    return when(e.event.time, e.event.mono, boot_time).label()


def _event_line(e: ExplainedEvent, console: Console, boot_time: float | None) -> None:
    from rich.markup import escape

    ev = e.event
    verdict = f" -> {e.verdict.summary}" if e.verdict else ""
    console.print(escape(f"{ev.source}:{ev.line} {ev.host or NO_HOST}, {_time(e, boot_time)}: ")
                  + f"[bold]{escape(ev.process or '?')}[/] " + escape(f"{_request(e)}{verdict}"), highlight=False)


def _request(e: ExplainedEvent) -> str:
    """What was asked for and by whom: ``order:1 mode:0x20 (GFP_ATOMIC) origin=tcp-accept``."""
    names = "|".join(e.decoding.names) if e.decoding else "?"
    return f"order:{e.event.order} mode:{e.event.mode} ({names}) origin={e.origin.category}"


def _explain(e: ExplainedEvent, console: Console, boot_time: float | None) -> None:
    ev = e.event
    # every line below carries text from the log ("[ext4]" module names, comms): no markup
    console.print(f"{ev.source}:{ev.line}  {ev.host or NO_HOST}, {_time(e, boot_time)}", highlight=False, markup=False)
    console.print(f"{ev.process}: {ev.what}, mode:{ev.mode_text or ev.mode}", style="bold",
                  highlight=False, markup=False)
    kernel = e.kernel.release if e.kernel else "unknown kernel"
    console.print(f"Kernel: {kernel}", markup=False)
    if e.decoding is not None and ev.order is not None:
        console.print("What it asked for: " + gfp.explain(e.decoding, ev.order), markup=False)
    console.print(f"Where it came from: {e.origin.detail}", markup=False)
    if e.verdict is not None:
        console.print(f"Why it failed: {e.verdict.explanation}", markup=False)
    else:
        console.print("Why it failed: " + no_replay(e.dump, e.decoding, ev.what), highlight=False, markup=False)
    if ev.oom_nearby is not None:
        victim = ev.oom_nearby
        rss = f", anon-rss {victim.anon_rss_kb:,} kB" if victim.anon_rss_kb is not None else ""
        why = ("its memory cgroup was at its limit" if victim.memcg
               else "the host's memory was exhausted, not only fragmented or short of reserve")
        console.print(f"Nearby: the OOM killer killed {victim.comm} (pid {victim.pid}{rss}): {why}.",
                      highlight=False, markup=False)
    console.print("What to do: " + advice(e), markup=False)


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
