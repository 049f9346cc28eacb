"""Trends in recorded history (``minfree watch --record``), for ``doctor --history``.

The history store (:mod:`minfree.store.history`) hands over plain points; this module
counts what a reader of the recording wants to know: how often each zone's free memory fell
below its low and min watermarks (as ``/proc/zoneinfo`` printed them at each sample), how
low it went, how fast reclaim and compaction ran, the worst memory pressure, and which
failure reports the kernel logged while recording.

Counters are compared only within one recording run: a run is one recorder process on one
boot, so a counter that restarted with a reboot or went down is never read as a rate.
"""
from __future__ import annotations

from collections import Counter

from minfree.model.record import field, record


@record
class ZonePoint:
    """One zone at one recorded sample (pages, as /proc/zoneinfo prints them)."""

    run: int
    t: float
    node: int
    zone: str
    free: int
    min: int
    low: int
    high: int
    managed: int | None = None


@record
class CounterPoint:
    """A /proc/vmstat event counter (per-zone items summed) at one recorded sample."""

    run: int
    t: float
    mono: float
    name: str
    value: int


@record
class PressurePoint:
    """/proc/pressure/memory's avg10 values (``some``, ``full``) at one recorded sample."""

    run: int
    t: float
    some_avg10: float | None
    full_avg10: float | None


@record
class FailurePoint:
    """A failure report the recorder saw in /dev/kmsg."""

    t: float
    process: str | None
    order: int | None
    origin: str | None


@record(frozen=False)
class History:
    """Everything recorded between ``since`` and ``until`` (Unix times), oldest first."""

    since: float
    until: float
    page_size: int
    samples: int
    zones: list[ZonePoint] = field(default_factory=list)
    counters: list[CounterPoint] = field(default_factory=list)
    pressure: list[PressurePoint] = field(default_factory=list)
    failures: list[FailurePoint] = field(default_factory=list)


@record(frozen=False)
class ZoneTrend:
    """How one zone's free memory fared in the window: the episodes and share of samples under low
    (and min), its lowest point with the watermarks then, and its first and last free pages."""

    node: int
    zone: str
    samples: int
    below_low: int           # episodes: a sample under low after one that was not (or the first)
    below_min: int
    below_low_share: float   # share of the zone's samples under low
    lowest_free: int         # pages
    lowest_at: float         # Unix time of the lowest sample
    low_then: int            # the low watermark at that sample
    min_then: int
    first_free: int
    last_free: int


@record(frozen=False)
class Trends:
    """What ``doctor --history`` reports of a recorded window: each zone's trend, event totals over the
    time one run's consecutive samples cover, the worst PSI, and the failures by order and origin."""

    since: float
    until: float
    page_size: int
    samples: int
    first_sample: float | None
    last_sample: float | None
    zones: list[ZoneTrend]
    counted_seconds: float          # time covered by consecutive samples of one run
    counter_totals: dict[str, int]  # events in the window, summed over those intervals
    psi_some_max: float | None
    psi_full_max: float | None
    failures_by_order: dict[int | None, int]
    failures_by_origin: dict[str | None, int]

    def per_second(self, name: str) -> float | None:
        if name not in self.counter_totals or self.counted_seconds <= 0:
            return None
        return self.counter_totals[name] / self.counted_seconds


def trends(history: History) -> Trends:
    """Count episodes, lows, counter totals and failures in ``history``.

    >>> h = History(0.0, 10.0, 4096, 5, zones=[
    ...     ZonePoint(1, t, 0, "Normal", free, 10, 20, 30)
    ...     for t, free in ((1, 25), (2, 19), (3, 9), (4, 22), (5, 18))])
    >>> z = trends(h).zones[0]
    >>> z.below_low, z.below_min, z.below_low_share, z.lowest_free, z.lowest_at
    (2, 1, 0.6, 9, 3)
    """
    seconds, totals = _counter_totals(history.counters)
    some = [p.some_avg10 for p in history.pressure if p.some_avg10 is not None]
    full = [p.full_avg10 for p in history.pressure if p.full_avg10 is not None]
    times = [p.t for p in history.zones]
    return Trends(
        since=history.since, until=history.until, page_size=history.page_size,
        samples=history.samples,
        first_sample=min(times) if times else None, last_sample=max(times) if times else None,
        zones=_zone_trends(history.zones),
        counted_seconds=seconds, counter_totals=totals,
        psi_some_max=max(some) if some else None, psi_full_max=max(full) if full else None,
        failures_by_order=dict(Counter(f.order for f in history.failures)),
        failures_by_origin=dict(Counter(f.origin for f in history.failures)),
    )


def _zone_trends(points: list[ZonePoint]) -> list[ZoneTrend]:
    by_zone: dict[tuple[int, str], list[ZonePoint]] = {}
    for point in points:
        if point.managed == 0:   # an empty zone (Movable without movablecore, Device): all marks 0
            continue
        by_zone.setdefault((point.node, point.zone), []).append(point)
    out = []
    for (node, zone), series in by_zone.items():
        series.sort(key=lambda p: (p.t, p.run))
        lowest = min(series, key=lambda p: (p.free, p.t))
        under_low = sum(1 for p in series if p.free < p.low)
        out.append(ZoneTrend(
            node=node, zone=zone, samples=len(series),
            below_low=_episodes(series, lambda p: p.free < p.low),
            below_min=_episodes(series, lambda p: p.free < p.min),
            below_low_share=under_low / len(series),
            lowest_free=lowest.free, lowest_at=lowest.t, low_then=lowest.low, min_then=lowest.min,
            first_free=series[0].free, last_free=series[-1].free,
        ))
    out.sort(key=lambda z: z.node)   # stable: the kernel's zone order within a node
    return out


def _episodes(series: list[ZonePoint], under) -> int:
    """Times the condition started: a sample under it whose predecessor in the same run was
    not (a new run starts afresh: the recorder was not watching in between).

    >>> pts = [ZonePoint(run, 0, 0, "N", free, 0, 5, 9) for run, free in ((1, 3), (1, 4), (2, 2), (2, 8), (2, 1))]
    >>> _episodes(pts, lambda p: p.free < p.low)
    3
    """
    count = 0
    previous: ZonePoint | None = None
    for point in series:
        if under(point) and (previous is None or previous.run != point.run or not under(previous)):
            count += 1
        previous = point
    return count


def _counter_totals(points: list[CounterPoint]) -> tuple[float, dict[str, int]]:
    """Events between consecutive samples of one run, summed per counter, and the seconds
    those intervals cover (a counter that went down, a reset, adds nothing).

    >>> pts = [CounterPoint(1, 0, m, "allocstall", v) for m, v in ((10.0, 5), (11.0, 7), (12.0, 3))]
    >>> pts += [CounterPoint(2, 0, m, "allocstall", v) for m, v in ((1.0, 100), (3.0, 104))]
    >>> _counter_totals(pts)
    (4.0, {'allocstall': 6})
    """
    last: dict[tuple[int, str], CounterPoint] = {}
    totals: dict[str, int] = {}
    covered: dict[tuple[int, float], float] = {}   # (run, mono at interval end) -> its length
    for point in sorted(points, key=lambda p: (p.run, p.mono)):
        key = (point.run, point.name)
        before = last.get(key)
        last[key] = point
        if before is None or point.mono <= before.mono:
            continue
        covered[(point.run, point.mono)] = point.mono - before.mono
        if point.value >= before.value:
            totals[point.name] = totals.get(point.name, 0) + point.value - before.value
    return sum(covered.values()), totals
