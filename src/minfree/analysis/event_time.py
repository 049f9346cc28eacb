"""When a logged event happened, in words a reader takes in at a glance.

A log stamps a line in one of three ways, and only some of them are a date:

* a wall clock with its zone: journald's ``__REALTIME_TIMESTAMP`` (microseconds since the
  epoch, UTC), ISO 8601 stamps of rsyslog, ``journalctl -o short-iso`` and
  ``dmesg --time-format iso``;
* a wall clock without zone or year, as printed: BSD syslog (``Nov  6 11:44:53``) and
  ``dmesg -T`` (the printing host's local time): shown as printed;
* seconds since boot (printk's clock: ``[ 785.581198]``, ``/dev/kmsg``): a date only with the
  boot time of that boot (``btime`` of ``/proc/stat``; approximate, printk's clock stops while
  suspended), else labelled as uptime.
"""
from __future__ import annotations

import re

from minfree.model.record import record

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:   # datetime is imported only to date an event: doctor on a quiet host never needs it
    from datetime import datetime

_UPTIME = re.compile(r"\d{1,12}\.\d{1,9}")
_EPOCH_USEC = re.compile(r"\d{13,20}")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"), 1)}


@record
class When:
    """``wall``: a UTC time (None when the log gives none); ``printed``: a wall clock as the log
    printed it, zone and perhaps year unknown; ``uptime``: seconds since boot."""

    wall: datetime | None = None
    printed: str | None = None
    uptime: float | None = None

    def label(self) -> str:
        """The time as a reader wants it.

        >>> when("1700000000034000", None, None).label()
        '2023-11-14 22:13:20 UTC'
        >>> when("111775.571176", 111775.571176, None).label()
        'uptime 1d 07:02:55'
        >>> when("Nov  6 11:44:53", 69774.7, None).label()
        'Nov 6 11:44:53'
        """
        if self.wall is not None:
            return self.wall.strftime("%Y-%m-%d %H:%M:%S UTC")
        if self.printed is not None:
            return " ".join(self.printed.split())
        if self.uptime is not None:
            return "uptime " + uptime_text(self.uptime)
        return "no time in log"

    @property
    def kind(self) -> str:
        """``wall`` (a date), ``printed`` (a clock without zone/year) or ``uptime``/``none``."""
        if self.wall is not None:
            return "wall"
        return "printed" if self.printed is not None else "uptime" if self.uptime is not None else "none"

    def sort_key(self) -> float:
        """Orders times of one kind: seconds (epoch, uptime, or month/day/time of a BSD stamp)."""
        if self.wall is not None:
            return self.wall.timestamp()
        if self.printed is not None:
            return _bsd_seconds(self.printed)
        return self.uptime or 0.0


def when(time: str | None, mono: float | None, boot_time: float | None) -> When:
    """``time`` as the log printed it, ``mono`` printk's seconds since boot, ``boot_time`` the
    epoch seconds that boot began (``btime``), when known.

    >>> when("2026-11-25T22:49:21,000000+00:00", None, None).label()
    '2026-11-25 22:49:21 UTC'
    >>> when("785.581198", 785.581198, 1764686310).label()
    '2025-12-02 14:51:35 UTC'
    >>> when(None, None, None).label()
    'no time in log'
    """
    from datetime import datetime, timezone

    if time is not None and _EPOCH_USEC.fullmatch(time):
        return When(wall=datetime.fromtimestamp(int(time) / 1e6, timezone.utc), uptime=mono)
    if time is not None and _ISO.match(time):
        try:
            stamp = datetime.fromisoformat(time.replace(",", "."))
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is not None:
            return When(wall=stamp.astimezone(timezone.utc), uptime=mono)
        return When(printed=time.replace("T", " ")[:19], uptime=mono)
    if time is not None and not _UPTIME.fullmatch(time):
        return When(printed=time, uptime=mono)
    uptime = mono if mono is not None else (float(time) if time is not None else None)
    if uptime is not None and boot_time is not None:
        return When(wall=datetime.fromtimestamp(boot_time + uptime, timezone.utc), uptime=uptime)
    return When(uptime=uptime)


def uptime_text(seconds: float) -> str:
    """``3d 04:05:06``, or ``04:05:06`` within the first day.

    >>> uptime_text(2.3), uptime_text(90061.0)
    ('00:00:02', '1d 01:01:01')
    """
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock


def _bsd_seconds(printed: str) -> float:
    """Seconds into a year of ``Nov  6 11:44:53`` (to order stamps of one log; 0 if not one)."""
    parts = printed.split()
    if len(parts) < 3 or parts[0][:3].lower() not in _MONTHS or not parts[1].isdigit():
        return 0.0
    try:
        h, m, s = (float(x) for x in parts[2].split(":"))
    except ValueError:
        return 0.0
    return ((_MONTHS[parts[0][:3].lower()] * 31 + int(parts[1])) * 24 + h) * 3600 + m * 60 + s


@record
class LogWindow:
    """Which of a boot's failure reports doctor judges: those of the last ``since_s`` seconds
    (None: the whole boot). ``earlier``: reports before the window; ``undated``: reports with
    no time to place (judged, as they may be recent); ``last``: when the latest one was."""

    since_s: float | None
    earlier: int
    undated: int
    last: When | None
    start: When | None = None   # where the span begins (a date, or an uptime in a capture)


def split_recent(events: list, since_s: float | None, now: float | None,
                 boot_time: float | None) -> tuple[list, LogWindow]:
    """The events (``ExplainedEvent``) of the last ``since_s`` seconds before ``now`` (epoch
    seconds; None, as for a capture: the newest report is "now", placed by wall clock, else by
    uptime when no report has a date), and the window's account.

    >>> from types import SimpleNamespace as N
    >>> ev = lambda t: N(event=N(time=f"{t}.000000", mono=float(t), repeated=0), occurrences=1)
    >>> recent, window = split_recent([ev(100), ev(5000), ev(7000)], 3600, 1_000_007_100, 1_000_000_000)
    >>> [e.event.mono for e in recent], window.earlier, window.last.label()
    ([5000.0, 7000.0], 1, '2001-09-09 03:43:20 UTC')
    >>> recent, window = split_recent([ev(100), ev(5000), ev(7000)], 3600, None, None)
    >>> [e.event.mono for e in recent], window.earlier, window.undated, window.last.label()
    ([5000.0, 7000.0], 1, 0, 'uptime 01:56:40')
    """
    dated = [(e, when(e.event.time, e.event.mono, boot_time)) for e in events]
    walls = [(e, w.wall.timestamp() if w.wall is not None else None) for e, w in dated]
    if not any(at is not None for _, at in walls) and now is None:
        walls = [(e, w.uptime) for e, w in dated]   # one boot's log: uptimes compare too
    placed = [at for _, at in walls if at is not None]
    last = max((w for w in (w for _, w in dated) if w.wall is not None), key=lambda w: w.wall, default=None)
    if last is None and dated:
        last = max((w for _, w in dated), key=lambda w: w.uptime or 0.0)
    if since_s is None or not placed:
        undated = sum(e.occurrences for e, at in walls if at is None) if since_s is not None else 0
        return list(events), LogWindow(since_s, 0, undated, last)
    end = now if now is not None else max(placed)
    recent = [e for e, at in walls if at is None or end - at <= since_s]
    earlier = sum(e.occurrences for e, at in walls if at is not None and end - at > since_s)
    undated = sum(e.occurrences for e, at in walls if at is None)
    by_date = now is not None or any(w.wall is not None for _, w in dated)
    from datetime import datetime, timezone   # here: a log with no dated report never needs it
    start = (When(wall=datetime.fromtimestamp(end - since_s, timezone.utc)) if by_date
             else When(uptime=max(0.0, end - since_s)))
    return recent, LogWindow(since_s, earlier, undated, last, start)
