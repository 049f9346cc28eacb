"""/proc/pressure/memory: pressure stall information (4.20+, CONFIG_PSI).

Format (6.18 kernel/sched/psi.c psi_show)::

    some avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu
    full avg10=... total=...

Averages are percentages over 10/60/300 s; ``total`` is cumulative stall time
in microseconds. ``full`` for memory exists from the first release (4.20).
The file is absent before 4.20 or without CONFIG_PSI, and reading it fails with
EOPNOTSUPP when PSI is compiled in but disabled (``psi=0``); both leave a gap.
"""

from __future__ import annotations

from minfree.model.record import record


@record
class PsiLine:
    """One line of /proc/pressure/memory: the share of time stalled, in percent, averaged over 10, 60
    and 300 s, and the total stall time in microseconds."""

    avg10: float
    avg60: float
    avg300: float
    total_us: int


@record
class MemoryPressure:
    """/proc/pressure/memory: ``some`` (at least one task stalled on memory) and ``full`` (every
    non-idle task stalled); None for a line that is missing or malformed."""

    some: PsiLine | None
    full: PsiLine | None


def _parse_line(words: list[str]) -> PsiLine | None:
    fields: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
    try:
        return PsiLine(
            avg10=float(fields["avg10"]),
            avg60=float(fields["avg60"]),
            avg300=float(fields["avg300"]),
            total_us=int(fields["total"]),
        )
    except (KeyError, ValueError):
        return None


def parse_psi(text: str) -> MemoryPressure:
    """Parse /proc/pressure/memory; malformed lines give None for that kind.

    Sample from this machine (Linux 6.18), and a loaded host:

    >>> parse_psi('''some avg10=0.00 avg60=0.00 avg300=0.00 total=0
    ... full avg10=0.00 avg60=0.00 avg300=0.00 total=0
    ... ''').some
    PsiLine(avg10=0.0, avg60=0.0, avg300=0.0, total_us=0)
    >>> p = parse_psi("some avg10=12.50 avg60=3.21 avg300=0.90 total=81234567\\nfull avg10=oops\\n")
    >>> p.some.avg10, p.some.total_us, p.full
    (12.5, 81234567, None)
    """
    lines: dict[str, PsiLine | None] = {}
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in ("some", "full"):
            lines[words[0]] = _parse_line(words[1:])
    return MemoryPressure(some=lines.get("some"), full=lines.get("full"))
