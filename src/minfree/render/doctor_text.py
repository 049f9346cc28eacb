"""Human output of `minfree doctor`: zones at a glance, activity, then the findings."""
from __future__ import annotations

from typing import TYPE_CHECKING

from minfree.analysis.doctor import DoctorReport
from minfree.analysis.zones import ZoneView

if TYPE_CHECKING:
    from rich.console import Console

_STATUS_STYLE = {"OK": "bold green", "WARNING": "bold yellow", "CRITICAL": "bold red", "UNKNOWN": "bold magenta"}
_SEVERITY_STYLE = {"critical": "red", "warning": "yellow", "info": "cyan"}
_BARS = " ▁▂▃▄▅▆▇█"


def render(report: DoctorReport, console: Console) -> None:
    from rich.table import Table

    state = report.state
    console.print(f"[{_STATUS_STYLE[report.status]}]{report.status}[/]  minfree doctor on "
                  f"{'this host' if state.is_live else state.origin} "
                  f"(kernel {state.release or 'unknown'})")
    sysctls = state.sysctls
    if sysctls and sysctls.min_free_kbytes is not None:
        default = report.default
        line = f"vm.min_free_kbytes = {sysctls.min_free_kbytes} kB"
        if default is not None:
            same = "the kernel's default" if default.kbytes == sysctls.min_free_kbytes else f"kernel default {default.kbytes} kB"
            line += f" ({same}: {default.explanation})"
        console.print(line)
    if sysctls:
        console.print(f"watermark_scale_factor {sysctls.watermark_scale_factor}, boost factor "
                      f"{sysctls.watermark_boost_factor}, swappiness {sysctls.swappiness}, "
                      f"vfs_cache_pressure {sysctls.vfs_cache_pressure}, zone_reclaim_mode "
                      f"{sysctls.zone_reclaim_mode}, THP {state.thp.enabled if state.thp else '?'}/"
                      f"{state.thp.defrag if state.thp else '?'}")
    table = Table(title="zones (MiB; watermarks as the kernel shows them)", box=None, header_style="bold",
                  padding=(0, 1, 0, 0), pad_edge=False)
    for column in ("zone", "free", "min", "low", "high", "atomic\n< min", "free pages\nby order",
                   "unusable%\no1 o2 o3", "atomic left\no1 o2 o3"):
        table.add_column(column, no_wrap=True, justify="right" if column[0] in "fmlha" and column != "free pages\nby order" else "left")
    page = state.page_size
    for z in report.zones.zones:
        if not (z.info.managed or z.info.present):
            continue
        table.add_row(f"{z.info.node}/{z.info.zone}", _mib(z.info.free, page), _mib(z.info.min, page),
                      _mib(z.info.low, page), _mib(z.info.high, page), _mib(z.atomic_reserve, page),
                      _bar(z), " ".join(f"{v / 10:.0f}" for v in z.unusable[1:4]),
                      " ".join(_count(d.requests) + ("~" if d.approximate else "") for d in z.atomic_depth[1:4]))
    console.print(table)
    modelled = [z for z in report.zones.zones if z.predicted is not None]
    stale = [z for z in modelled if z.stale]
    if modelled:
        console.print("model: every zone's watermarks and protection equal a fresh computation"
                      if not stale else "model: " + "; ".join(f"{z.info.node}/{z.info.zone} {z.stale}" for z in stale))
    atomic = report.zones.atomic
    if atomic:
        console.print("GFP_ATOMIC now: " + ", ".join(
            f"order {a.order} {'ok in ' + a.zone if a.ok else '[red]FAILS[/]'}" + ("~" if a.approximate else "")
            for a in atomic) + ("  (~ approximate: migratetypes unknown without root)" if any(a.approximate for a in atomic) else ""))
    _activity(report, console)
    _failed(report, console)
    if report.failures is not None:
        console.print(log_line(report), markup=False)
    console.rule("findings")
    if not report.findings:
        console.print("[green]No problems found.[/]")
    for finding in report.findings:
        console.print(f"[{_SEVERITY_STYLE[finding.severity]}]{finding.severity.upper()}[/] "
                      f"[bold]{finding.title}[/]")
        console.print(f"  {finding.explanation}")
        console.print(f"  evidence: {evidence_text(finding.evidence)}", style="dim", markup=False)
        console.print(f"  fix: {finding.fix}")
    for path, reason in state.gaps:
        console.print(f"[dim]not read: {path} ({reason})[/]")
    for note in state.notes:
        console.print(f"[dim]note: {note}[/]")


def log_line(report: DoctorReport) -> str:
    """How many of this boot's failure reports were judged, over which span, and when the last was."""
    count = sum(e.occurrences for e in report.failures.events)
    window = report.log_window
    if window is None or window.since_s is None:
        line = f"kernel log: {count} failure report(s) this boot"
    else:
        span = _span_words(window.since_s)
        if span is None and window.start is not None:   # --since TIME
            line = f"kernel log: {count} failure report(s) since {window.start.label()} (--since)"
        else:
            line = f"kernel log: {count} failure report(s) in the last {span or f'{window.since_s:.0f}s'} (--since)"
        if window.earlier:
            line += f", {window.earlier} earlier this boot (not judged)"
        if window.undated:
            line += f"; {window.undated} without a date, judged as recent"
    if window is not None and window.last is not None:
        line += f"; the last at {window.last.label()}"
    return line


def _span_words(seconds: float) -> str | None:
    """``1h``, ``30m``, ``2d``, ``90s``: the span as --since takes it (None: not a whole number
    of seconds, as the span up to a time is).

    >>> _span_words(3600), _span_words(1800), _span_words(172800), _span_words(90), _span_words(12.5)
    ('1h', '30m', '2d', '90s', None)
    """
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:g}s" if seconds == int(seconds) else None


def evidence_text(evidence: dict) -> str:
    """A finding's evidence in words: keys as words, counts in parentheses, shares in percent.

    >>> evidence_text({"events": 1, "orders": {0: 1}, "suppressed_by_ratelimit": 0,
    ...                "verdicts": {"below_watermark": 1}, "share_of_memory": 0.084, "by_order": None})
    'events 1; orders 0 (1); suppressed by ratelimit 0; verdicts below watermark (1); share of memory 8.4%; by order none'
    >>> evidence_text({"window_s": 1.004, "allocstall_per_s": 1.0, "current_kb": 67584})
    'window 1.004 s; allocstall 1.0/s; current 67584 kB'
    """
    return "; ".join(f"{_words(key)} {_value(key, value)}{_unit(key)}" for key, value in evidence.items())


_UNITS = (("_per_s", "/s"), ("_s", " s"), ("_kb", " kB"))


def _unit(key: object) -> str:
    return next((unit for suffix, unit in _UNITS if str(key).endswith(suffix)), "")


def _words(key: object) -> str:
    """``kswapd_low_wmark_hit_quickly_per_s`` -> ``kswapd low wmark hit quickly`` (the unit follows the value)."""
    text = str(key)
    suffix = next((s for s, _ in _UNITS if text.endswith(s)), "")
    return text[:len(text) - len(suffix)].replace("_", " ")


def _value(key: object, value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        if not value:
            return "none"
        if all(not isinstance(v, (dict, list)) for v in value.values()):
            return ", ".join(f"{_words(k)} ({_value(k, v)})" for k, v in value.items())
        return ", ".join(f"{_words(k)}: {_value(k, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(key, v) for v in value) or "none"
    if isinstance(value, float) and "share" in str(key):
        return f"{value:.1%}"
    if isinstance(value, str) and value.replace("_", "").isalpha() and value.islower():
        return _words(value)   # a name such as below_watermark; paths and comms stay as they are
    return str(value)


def _activity(report: DoctorReport, console: Console) -> None:
    act = report.activity
    if act is None:
        console.print("[dim]rates: not measured (--window 0, or a snapshot)[/]")
        return
    ps = act.per_second
    console.print(
        f"over {act.seconds:.1f} s: direct-reclaim stalls {ps.get('allocstall', 0):.1f}/s, kswapd scanned "
        f"{ps.get('pgscan_kswapd', 0):.0f} pages/s, low watermark hit quickly {ps.get('kswapd_low_wmark_hit_quickly', 0):.1f}/s, "
        f"compaction stalls {ps.get('compact_stall', 0):.1f}/s (failed {ps.get('compact_fail', 0):.1f}/s), "
        f"PSI some avg10 {act.psi_some_avg10 if act.psi_some_avg10 is not None else '?'}%")


def _failed(report: DoctorReport, console: Console) -> None:
    failed = report.failed
    if failed is None:
        return
    if failed.total is None:
        console.print(f"[dim]failed allocations: not counted ({failed.unavailable})[/]")
        return
    counter = {"ebpf": "eBPF", "hist": "hist trigger"}.get(failed.counter, "perf")
    style = "green" if not failed.total else "bold red"
    orders = ""
    if failed.by_order is not None and failed.total:
        orders = "  by order " + " ".join(f"{o}:{failed.by_order[o]}" for o in failed.failed_orders)
    console.print(f"failed page allocations in the kernel over {failed.window_s:.1f} s: "
                  f"[{style}]{failed.total}[/] (in-kernel {counter} counter, logged or not){orders}")


def _count(n: int) -> str:
    """A request count in at most five characters.

    >>> _count(4983), _count(12112), _count(2_483_000)
    ('4983', '12k', '2.5M')
    """
    if n < 10_000:
        return str(n)
    return f"{n // 1000}k" if n < 1_000_000 else f"{n / 1e6:.1f}M"


def _mib(pages: int, page_size: int) -> str:
    """MiB, with one decimal below 1000.

    >>> _mib(234220, 4096), _mib(1142804, 4096)
    ('914.9', '4,464')
    """
    mib = pages * page_size / 2**20
    return f"{mib:,.1f}" if mib < 1000 else f"{mib:,.0f}"


def _bar(z: ZoneView) -> str:
    """One character per order: height = share of free pages held in blocks of that order."""
    pages = [n << o for o, n in enumerate(z.free_blocks)]
    total = sum(pages) or 1
    return "".join(_BARS[min(len(_BARS) - 1, round(p / total * (len(_BARS) - 1) * 2))] if p else "·"
                   for p in pages)
