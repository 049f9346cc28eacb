"""A recorded history reduced to what a report can draw: per zone, one point per time bucket.

A day at one sample a second is 86,400 samples a zone; a plot is a few hundred pixels wide.
The store hands over one :class:`ZoneBucket` per zone and bucket: the bucket's **lowest-free
sample** (a real reading: its free memory, its watermarks and its free blocks per order, as
/proc/zoneinfo and /proc/buddyinfo printed them), with how many samples of the bucket were
under low and under min. Drawing the lowest sample keeps every dip visible; the counts keep
every sample counted. The unusable index of each point is the kernel's formula
(:func:`minfree.model.fragmentation.indices_by_order`) on that reading's free blocks.
"""
from __future__ import annotations

import math

from minfree.model.fragmentation import indices_by_order
from minfree.model.record import field, record

#: Points per zone on the line plots (buckets of the recording), and columns of the heatmaps.
LINE_POINTS = 720
HEAT_COLUMNS = 240


def bucket_seconds(span: float, interval: float, points: int = LINE_POINTS) -> float:
    """The bucket width that gives at most ``points`` buckets over ``span`` seconds, a whole
    number of seconds and never less than the recording ``interval``.

    >>> bucket_seconds(86_400, 1.0), bucket_seconds(600, 1.0), bucket_seconds(0, 5.0)
    (120.0, 1.0, 5.0)
    """
    return float(max(math.ceil(span / points), interval, 1.0)) if span > 0 else float(max(interval, 1.0))


@record
class ZoneBucket:
    """One zone in one bucket: its lowest-free sample and what the bucket's samples did."""

    node: int
    zone: str
    start: float            # Unix time the bucket starts
    samples: int
    under_low: int          # samples with free < low
    under_min: int          # samples with free < min
    t: float                # the lowest-free sample's time
    free: int               # pages, that sample's
    min: int
    low: int
    high: int
    free_blocks: tuple[int, ...]   # per order, that sample's (() when not recorded)


@record
class RecordedFailure:
    """A failure report the recorder saw in /dev/kmsg, as the history file keeps it: when, which
    process, the order, its origin and summary line."""

    t: float
    process: str | None
    order: int | None
    origin: str | None
    summary: str | None
    request_class: str | None    # the recorded mode decoded for the recording's kernel


def request_class_of(mode: str | None, version) -> str | None:
    """The request class a recorded mode (``0x820``) decodes to for the recording's kernel
    (``version``: its parsed release, None for the era guessed from the mode).

    >>> request_class_of("0x820", None), request_class_of("junk", None), request_class_of(None, None)
    ('GFP_ATOMIC', None, None)
    """
    from minfree.model import gfp

    try:
        mask = int(mode, 16) if mode else None
    except ValueError:
        return None
    return None if mask is None else gfp.decode(mask, version).request_class


@record(frozen=False)
class Recording:
    """A window of a history file, bucketed (``store.history.read_recording``)."""

    path: str
    since: float
    until: float
    bucket: float             # seconds per bucket
    samples: int              # samples in the window
    page_size: int
    hostname: str | None
    release: str | None
    buckets: list[ZoneBucket] = field(default_factory=list)
    failures: list[RecordedFailure] = field(default_factory=list)
    psi_some_max: float | None = None
    psi_full_max: float | None = None


@record(frozen=False)
class ZoneSeries:
    """One zone of a recording, ready to plot: its buckets, their sample counts, the lowest
    sample, each point's unusable index, and the heatmap's columns."""

    node: int
    zone: str
    points: list[ZoneBucket]
    samples: int
    under_low: int
    under_min: int
    lowest: ZoneBucket
    unusable: list[tuple[int, ...]]     # per point, thousandths per order ([] when no free blocks)
    heat: list[ZoneBucket]              # at most HEAT_COLUMNS points: the lowest of each run of buckets
    heat_starts: list[float]            # when each heat column starts
    heat_span: float                    # seconds each heat column covers

    @property
    def label(self) -> str:
        return f"node {self.node} {self.zone}"


def series_by_zone(recording: Recording) -> list[ZoneSeries]:
    """The buckets grouped per zone, in the store's zone order.

    >>> b = lambda start, free: ZoneBucket(0, "Normal", start, 60, 3 if free < 20 else 0, 0, start + 5,
    ...                                    free, 10, 20, 30, (4, 2, 1))
    >>> rec = Recording("h.db", 0, 180, 60.0, 180, 4096, "db1", "6.1.0", [b(0, 25), b(60, 15), b(120, 28)])
    >>> s = series_by_zone(rec)[0]
    >>> s.samples, s.under_low, s.lowest.free, s.unusable[0], len(s.heat)
    (180, 3, 15, (0, 333, 666), 3)
    """
    grouped: dict[tuple[int, str], list[ZoneBucket]] = {}
    for bucket in recording.buckets:
        grouped.setdefault((bucket.node, bucket.zone), []).append(bucket)
    out = []
    for (node, zone), points in grouped.items():
        step = max(1, math.ceil(len(points) / HEAT_COLUMNS))
        heat = [min(points[i:i + step], key=lambda p: p.free) for i in range(0, len(points), step)]
        out.append(ZoneSeries(
            node, zone, points, sum(p.samples for p in points), sum(p.under_low for p in points),
            sum(p.under_min for p in points), min(points, key=lambda p: (p.free, p.t)),
            [indices_by_order(p.free_blocks)[0] if p.free_blocks else () for p in points],
            heat, [points[i].start for i in range(0, len(points), step)], recording.bucket * step))
    return out
