"""Human output of ``minfree trace``: the headline (silent atomic failures), the classes, the
orders, processes, call sites and flags, the network's losses over the same window and whether
they coincide, reclaim latency and demand, and what could not be measured. Drawn from the same
window as ``render.trace_json``."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from minfree.analysis.failure_classes import CLASSES, MEANING, SILENT_ATOMIC
from minfree.analysis.trace_window import Interval, Latency, TraceWindow

if TYPE_CHECKING:
    from rich.console import Console


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.2f} ms"


def _latency(name: str, latency: Latency | None, console: Console) -> None:
    if latency is None:
        return
    if latency.count == 0:
        console.print(f"  {name}: none finished in the window"
                      + (f" ({latency.unfinished} still running)" if latency.unfinished else ""), markup=False)
        return
    console.print(f"  {name}: {latency.count} x, p50 {_ms(latency.p50)}, p99 {_ms(latency.p99)}, "
                  f"max {_ms(latency.max)}, total {_ms(latency.total)}", markup=False)


def render(window: TraceWindow, kernel: dict[str, int], logged: dict[str, int] | None, console: Console) -> None:
    silent = window.by_class()[SILENT_ATOMIC]
    console.print(f"{window.failed_total} failed page allocation(s) in {window.window_s:.1f} s; "
                  f"{silent} silent atomic (lost, nothing logged)",
                  style="bold red" if silent else "bold", markup=False)
    if window.counted is not None and window.tally.records and window.counted != window.tally.records + window.lost:
        console.print(f"  in-kernel count {window.counted}, records {window.tally.records}, lost {window.lost}",
                      markup=False)
    elif window.lost:
        console.print(f"  {window.lost} record(s) lost by the ring buffer", style="yellow", markup=False)
    if window.tally.records:
        console.print("by class:", style="bold", markup=False)
        for klass, n in window.by_class().items():
            console.print(f"  {klass:16} {n:8}   {MEANING[klass]}", markup=False)
        console.print("by order: " + ", ".join(f"{o}: {n}" for o, n in window.by_order().items()), markup=False)
        for title, key in (("processes", "comm"), ("call sites", "site"), ("GFP flags", "gfp_names")):
            console.print(f"top {title}: " + ", ".join(f"{name} ({n})" for name, n in window.top(key, 5)),
                          markup=False)
    if logged is not None:
        console.print(f"kernel log in the window: {logged['printed']} failure report(s), "
                      f"{logged['suppressed']} suppressed by the ratelimit", markup=False)
    moved = {k: v for k, v in kernel.items() if v}
    if moved:
        console.print("kernel counters: " + ", ".join(f"{k} +{v}" for k, v in moved.items()), markup=False)
    net = {k: v for k, v in window.net_totals().items() if v}
    console.print("network over the window: " + (", ".join(f"{k} +{v}" for k, v in net.items()) or "no drops"),
                  markup=False)
    for line in window.coincidences():
        console.print(f"  {line}", style="yellow", markup=False)
    if window.kswapd is not None or window.direct_reclaim is not None:
        console.print("reclaim:", style="bold", markup=False)
        _latency("kswapd awake (wake to sleep)", window.kswapd, console)
        _latency("direct reclaim stall", window.direct_reclaim, console)
    rates = window.demand()
    if rates:
        console.print("non-blocking allocations per second by order: "
                      + ", ".join(f"{o}: {r:.0f}" for o, r in rates.items() if r), markup=False)
    for what, how in window.sources.items():
        console.print(f"  {what}: {how}", style="dim", markup=False)
    for reason in window.missing:
        console.print(f"  missing: {reason}", style="yellow", markup=False)


def render_interval(interval: Interval, as_json: bool, console: Console) -> None:
    """One line per interval (``--follow``)."""
    from minfree.render.trace_json import SCHEMA_VERSION, interval as interval_doc

    doc = interval_doc(interval)
    if as_json:
        console.file.write(json.dumps({"schema": SCHEMA_VERSION, "interval": doc}) + "\n")
        console.file.flush()
        return
    failed = doc["failed"] if doc["failed"] is not None else doc["records"]
    classes = " ".join(f"{k}={doc['by_class'][k]}" for k in CLASSES if doc["by_class"].get(k))
    net = " ".join(f"{k}+{v}" for k, v in doc["net"].items() if v)
    console.print(f"{doc['start']:8.1f}-{doc['end']:.1f}s  failed {failed:6}  {classes}  {net}".rstrip(),
                  markup=False)
    console.file.flush()


def render_error(message: str, console: Console) -> None:
    console.print(message, style="red", markup=False)
