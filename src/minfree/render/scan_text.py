"""Human output of `minfree scan`: a summary read at a glance, then the most telling event;
and the one line per event that `minfree scan --follow` prints."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from minfree.analysis.advice import advice
from minfree.analysis.explain import ExplainedEvent
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
        console.print(f"[bold red]{total} page allocation failure report(s)[/]"
                      f" ({len(events)} distinct)")
        _summary(events, console)
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
                _event_line(explained, console)
        console.rule("the most telling event")
        _explain(telling, console)


def _summary(events: list[ExplainedEvent], console: Console) -> None:
    by: dict[str, Counter[str]] = {"hosts": Counter(), "processes": Counter(), "orders": Counter(),
                                   "origins": Counter()}
    seen: dict[str, list[str]] = {}
    for e in events:
        n = e.occurrences
        host = e.event.host or _short(e.event.source)
        by["hosts"][host] += n
        by["processes"][e.event.process or "?"] += n
        by["orders"][str(e.event.order) if e.event.order is not None else "?"] += n
        by["origins"][e.origin.category] += n
        if e.event.time:
            seen.setdefault(host, []).append(e.event.time)
    for label, counter in by.items():
        console.print(f"  {label:<10} " + ", ".join(_top(counter)), highlight=False, markup=False)
    for host, times in seen.items():
        span = times[0] if times[0] == times[-1] else f"{times[0]} .. {times[-1]}"
        console.print(f"  {host}: seen {span}", highlight=False, markup=False)


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


def one_line(e: ExplainedEvent) -> str:
    """One event as `minfree scan --follow` prints it (plain text, no markup)."""
    verdict = f"; {e.verdict.summary}" if e.verdict else ""
    return f"[{e.event.time}] {e.event.process or '?'}: {_request(e)}{verdict}"


def _event_line(e: ExplainedEvent, console: Console) -> None:
    from rich.markup import escape

    ev = e.event
    verdict = f" -> {e.verdict.summary}" if e.verdict else ""
    console.print(escape(f"{ev.source}:{ev.line} {ev.host or ''} {ev.time or ''} ")
                  + f"[bold]{escape(ev.process or '?')}[/] " + escape(f"{_request(e)}{verdict}"), highlight=False)


def _request(e: ExplainedEvent) -> str:
    """What was asked for and by whom: ``order:1 mode:0x20 (GFP_ATOMIC) origin=tcp-accept``."""
    names = "|".join(e.decoding.names) if e.decoding else "?"
    return f"order:{e.event.order} mode:{e.event.mode} ({names}) origin={e.origin.category}"


def _explain(e: ExplainedEvent, console: Console) -> None:
    ev = e.event
    # every line below carries text from the log ("[ext4]" module names, comms): no markup
    console.print(f"{ev.source}:{ev.line}  {ev.host or ''} {ev.time or ''}", highlight=False, markup=False)
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


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GiB"
