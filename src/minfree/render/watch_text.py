"""The screen of ``minfree watch``: zones against their watermarks, the focused zone's free
blocks by order with its fragmentation indices, reclaim and compaction rates, PSI, and the
failure reports the kernel logged while watching."""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from minfree.analysis.rates import WATCHED, Activity
from minfree.model.fragmentation import format_index, indices_by_order
from minfree.model.record import field, record
from minfree.proc.system import MemoryReading
from minfree.proc.zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from rich.console import RenderableType

KEYS = "q quit · p pause · z next zone"
BAR_WIDTH = 20
RATE_COLUMNS = 2   # name/rate pairs per line (the longest vmstat name has 29 characters)


@record(frozen=False)
class WatchStatus:
    """What the screen shows besides the reading: the viewer's state and the log's."""

    host: str
    interval: float
    page_size: int
    focus: int = 0                   # index into the populated zones
    paused: bool = False
    recording: str | None = None     # the history file, when recording
    record_error: str | None = None  # the last write that failed, when the file refused it
    kernel_log: str | None = None    # why /dev/kmsg cannot be followed (None: it is)
    failures: list[str] = field(default_factory=list)   # newest last, one line each
    failures_total: int = 0
    failed_counter: str | None = None      # "ebpf", "hist" or "perf": the in-kernel count of failed allocations
    failed_unavailable: str | None = None  # why there is no count (None: counting, or not asked)
    failed_interval: int | None = None     # failed allocations in the last interval
    failed_orders: dict[int, int] | None = None   # of those, per order (eBPF only)
    failed_since_start: int = 0


def populated(zones: Sequence[ZoneInfo]) -> list[ZoneInfo]:
    """Zones with managed pages (an empty Movable or Device zone has every mark at 0)."""
    return [z for z in zones if z.managed != 0]


def zone_state(zone: ZoneInfo) -> tuple[str, str]:
    """Where free stands against the marks, and its colour.

    >>> zone_state(ZoneInfo(0, "Normal", free=90, min=100, low=125, high=150))
    ('< min', 'bold red')
    >>> zone_state(ZoneInfo(0, "Normal", free=140, min=100, low=125, high=150))
    ('< high', 'cyan')
    """
    if zone.free < zone.min:
        return "< min", "bold red"
    if zone.free < zone.low:
        return "< low", "yellow"
    if zone.free < zone.high:
        return "< high", "cyan"
    return "ok", "green"


def bar(zone: ZoneInfo, width: int = BAR_WIDTH) -> str:
    """Free memory as a bar, with the min, low and high marks (``m``, ``l``, ``h``) placed on
    the same scale: the larger of free and 1.5 x high, at most 4 x high (so the marks stay
    apart); free beyond the scale ends the bar with ``»``.

    >>> bar(ZoneInfo(0, "Normal", free=100, min=40, low=50, high=60), 10)
    '████mlh███'
    >>> bar(ZoneInfo(0, "Normal", free=20, min=40, low=50, high=60), 9)
    '██··mlh··'
    >>> bar(ZoneInfo(0, "Normal", free=9000, min=40, low=60, high=80), 12)
    '█mlh███████»'
    """
    scale = max(1, min(max(zone.free, zone.high * 3 // 2), zone.high * 4 or zone.free))
    cells = ["█" if i * scale < zone.free * width else "·" for i in range(width)]
    for mark, letter in ((zone.min, "m"), (zone.low, "l"), (zone.high, "h")):
        cells[min(width - 1, mark * width // scale)] = letter
    if zone.free > scale:
        cells[-1] = "»"
    return "".join(cells)


def _mib(pages: int, page_size: int) -> str:
    """MiB with a decimal below 100.

    >>> _mib(3840, 4096), _mib(1033728, 4096)
    ('15.0', '4,038')
    """
    mib = pages * page_size / 2**20
    return f"{mib:,.1f}" if abs(mib) < 100 else f"{mib:,.0f}"


def render(reading: MemoryReading, activity: Activity | None, status: WatchStatus) -> RenderableType:
    """One screen (rich renderables; the caller draws it live or prints it)."""
    from rich.console import Group
    from rich.text import Text

    stamp = time.strftime("%H:%M:%S", time.localtime(reading.wall))
    head = Text.assemble(("minfree watch", "bold"), f"  {status.host}  {stamp}  every {status.interval:g} s  ",
                         (KEYS, "dim"))
    if status.paused:
        head.append("  PAUSED", style="bold reverse")
    parts: list[RenderableType] = [head]
    if status.recording:
        parts.append(Text(f"recording to {status.recording}", style="dim"))
    if status.record_error:
        parts.append(Text(f"history not written: {status.record_error}", style="bold red"))
    zones = populated(reading.zones)
    parts.append(_zones_table(zones, status))
    parts.append(_failed_allocations(status))
    parts.append(_failures(status))   # before the long tables: a short terminal crops the bottom
    if zones:
        parts.append(_orders_table(zones[status.focus % len(zones)], reading, status.page_size))
    parts.append(_activity_table(activity, reading))
    return Group(*parts)


def _zones_table(zones: list[ZoneInfo], status: WatchStatus):
    from rich.table import Table

    table = Table(title=f"zones (MiB; pages of {status.page_size // 1024} KiB)", title_justify="left",
                  box=None, pad_edge=False)
    for name in ("", "zone", "free", "min", "low", "high", "free-low", "state"):
        table.add_column(name, justify="left" if name in ("", "zone", "state") else "right")
    table.add_column("free vs marks (m l h)", no_wrap=True)
    for index, zone in enumerate(zones):
        state, style = zone_state(zone)
        focused = index == status.focus % len(zones)
        table.add_row(
            "▶" if focused else " ", f"{zone.node}/{zone.zone}",
            _mib(zone.free, status.page_size), _mib(zone.min, status.page_size),
            _mib(zone.low, status.page_size), _mib(zone.high, status.page_size),
            _mib(zone.free - zone.low, status.page_size), f"[{style}]{state}[/]", f"[{style}]{bar(zone)}[/]",
            style="bold" if focused else None)
    return table


def _orders_table(zone: ZoneInfo, reading: MemoryReading, page_size: int):
    from rich.table import Table
    from rich.text import Text

    counts = next((row.counts for row in reading.buddy if (row.node, row.zone) == (zone.node, zone.zone)), ())
    if not counts:
        return Text(f"{zone.node}/{zone.zone}: no /proc/buddyinfo row")
    unusable, extfrag = indices_by_order(counts)
    table = Table(title=f"{zone.node}/{zone.zone}: free blocks by order; watermark boost {zone.boost or 0} "
                        "pages; extfrag - : a block of that order is free",
                  title_justify="left", box=None, pad_edge=False)
    table.add_column("order", min_width=8, no_wrap=True)
    for order in range(len(counts)):
        table.add_column(str(order), justify="right", min_width=5)
    table.add_row("blocks", *(f"{n:,}" for n in counts))
    table.add_row("MiB", *(_mib(n << order, page_size) for order, n in enumerate(counts)))
    table.add_row("unusable", *(format_index(i) for i in unusable))
    table.add_row("extfrag", *("-" if i == -1000 else format_index(i) for i in extfrag))
    return table


def _activity_table(activity: Activity | None, reading: MemoryReading):
    from rich.table import Table

    table = Table(title="reclaim and compaction (per second)", title_justify="left", box=None,
                  pad_edge=False, show_header=False)
    names = [name for name in WATCHED if activity is not None and name in activity.per_second]
    rows = -(-len(names) // RATE_COLUMNS)
    for _ in range(2 * RATE_COLUMNS):
        table.add_column()
    for row in range(rows):
        cells: list[str] = []
        for name in names[row::rows]:
            cells += [name, _rate(activity, name)]
        table.add_row(*cells)
    if activity is None:
        table.add_row("rates", "after the second sample")
    psi = reading.psi
    for kind, line in (("some", psi.some if psi else None), ("full", psi.full if psi else None)):
        if line is not None:
            table.add_row(f"PSI memory {kind}", f"{line.avg10:.2f} %", "avg60 / avg300",
                          f"{line.avg60:.2f} / {line.avg300:.2f} %")
    if psi is None:
        table.add_row("PSI memory", "unavailable")
    return table


def _rate(activity: Activity | None, name: str) -> str:
    value = activity.per_second[name] if activity is not None else 0.0
    text = f"{value:,.1f}"
    return f"[bold yellow]{text}[/]" if value > 0 and name in ("allocstall", "compact_fail", "oom_kill") else text


def _failed_allocations(status: WatchStatus):
    """The in-kernel count's line.

    >>> print(_failed_allocations(WatchStatus("h", 1.0, 4096, failed_counter="ebpf", failed_interval=3,
    ...                                       failed_orders={0: 0, 3: 2, 9: 1}, failed_since_start=7)))
    failed page allocations (in-kernel eBPF counter): 3 in the last interval (order 3: 2, 9: 1), 7 since start
    >>> print(_failed_allocations(WatchStatus("h", 1.0, 4096, failed_unavailable="not root")))
    failed page allocations: not counted (not root)
    """
    from rich.text import Text

    if status.failed_counter is None:
        return Text(f"failed page allocations: not counted ({status.failed_unavailable or 'not asked'})", style="dim")
    counter = {"ebpf": "eBPF", "hist": "hist trigger"}.get(status.failed_counter, "perf")
    orders = {o: n for o, n in (status.failed_orders or {}).items() if n}
    by_order = f" (order {', '.join(f'{o}: {n}' for o, n in sorted(orders.items()))})" if orders else ""
    last = "-" if status.failed_interval is None else status.failed_interval
    return Text(f"failed page allocations (in-kernel {counter} counter): {last} in the last interval"
                f"{by_order}, {status.failed_since_start} since start",
                style="bold red" if status.failed_interval else None)


def _failures(status: WatchStatus):
    from rich.text import Text

    if status.kernel_log is not None:
        return Text(f"failure reports: kernel log unavailable ({status.kernel_log})", style="dim")
    text = Text(f"failure reports since start: {status.failures_total}",
                style="bold red" if status.failures_total else None)
    for line in status.failures:
        text.append("\n  " + line)
    return text
