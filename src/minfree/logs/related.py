"""Messages that travel with allocation failures but are not failure reports.

They are counted, never turned into events (formats: ``gfp-flags-by-version.md`` §6, from
mm/oom_kill.c, mm/slub.c, mm/slab.c, net/ipv4/tcp.c, lib/ratelimit.c of each tree).

>>> related_kind("Out of memory: Killed process 1234 (java) total-vm:123kB, anon-rss:1kB")
('oom_kill', 1)
>>> related_kind("TCP: out of memory -- consider tuning tcp_mem")
('tcp_out_of_memory', 1)
>>> related_kind("warn_alloc: 96 callbacks suppressed")
('suppressed_reports', 96)
>>> related_kind("eth0: link up") is None
True
"""
from __future__ import annotations

import re

from minfree.model.record import record

# Every kind here has a needle in minfree.logs.prefilter.NEEDLES: counts never depend on which
# regions the scanner happened to read.
_SUPPRESSED = re.compile(r"^\s*(?P<who>warn_alloc(?:_failed)?): (?P<n>\d{1,20}) callbacks suppressed")

# (kind, test) in order; the first whose test matches wins.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("alloc_stall", re.compile(r": page allocation stalls for \d+ms")),
    ("oom_kill", re.compile(r"(?:^|: )Killed process \d+")),
    ("slab_failure", re.compile(r"\bSL[UA]B: Unable to allocate memory")),
    ("tcp_out_of_memory", re.compile(r"TCP: out of memory|Out of socket memory")),
)


# The lines a SLUB failure prints after its first (mm/slub.c slab_out_of_memory, 4.x-6.x), and
# its own rate-limit note: they interleave with a failure report printed at the same time
# (corpus 147) and are part of neither.
_SLAB_DETAIL = re.compile(r"\s*(?:cache: \S+, object size: \d+|node -?\d+: slabs: \d+"
                          r"|\S+ debugging increased min order|slab_out_of_memory: \d+ callbacks suppressed)")


def related_detail(text: str) -> bool:
    """A continuation line of a related message (not counted again).

    >>> related_detail("   cache: skbuff_small_head, object size: 480, buffer size: 544, default order: 1, min order: 0")
    True
    >>> related_detail("   node 0: slabs: 15, objs: 225, free: 0"), related_detail("Mem-Info:")
    (True, False)
    """
    return _SLAB_DETAIL.match(text) is not None


def may_be_reported(text: str) -> bool:
    """False for a line that is neither a failure header nor a related message: each of those holds
    "alloc" (page and vmalloc allocation failures, stalls, "SLUB: Unable to allocate",
    "warn_alloc"), "memory" (TCP out of memory, out of socket memory) or "Killed" (an OOM kill).
    A cheap first test for the common line.

    >>> may_be_reported("asd: page allocation failure. order:1, mode:0x20"), may_be_reported("eth0: link up")
    (True, False)
    """
    return "alloc" in text or "memory" in text or "Killed" in text


#: One of these is in every line a related kind matches (:func:`related_kind` asks for each).
MARKERS = ("callbacks suppressed", "page allocation stalls", "Killed process", "Unable to allocate",
           "out of memory", "Out of socket memory")


def related_kind(text: str) -> tuple[str, int] | None:
    """(kind, count) of a related message, or None."""
    if not may_be_reported(text):
        return None
    # MARKERS written out: ~0.2 us, a generator over them or a regex alternation 0.5-0.6 us,
    # and "alloc" lines of a trace all ask (tests/logs/test_related.py holds them equal)
    if not ("callbacks suppressed" in text or "page allocation stalls" in text or "Killed process" in text
            or "Unable to allocate" in text or "out of memory" in text or "Out of socket memory" in text):
        return None
    if "callbacks suppressed" in text:
        match = _SUPPRESSED.match(text)
        return None if match is None else ("suppressed_reports", int(match.group("n")))
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind, 1
    return None


# mm/oom_kill.c: "Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, ..."
# (3.x-6.18, after "Out of memory: " or "Memory cgroup out of memory: " from 4.x); 2.6.32
# printed "vsz:%lukB" where later kernels print "total-vm:".
_KILLED = re.compile(r"Killed process (?P<pid>\d{1,10}) \((?P<comm>[^)]{1,64})\)"
                     r"(?: (?:total-vm|vsz):(?P<vm>\d{1,20})kB)?(?:, anon-rss:(?P<anon>\d{1,20})kB)?"
                     r"(?:, file-rss:(?P<file>\d{1,20})kB)?")


@record
class OomVictim:
    """A process the OOM killer killed, as its report names it."""

    pid: int
    comm: str
    anon_rss_kb: int | None
    file_rss_kb: int | None
    memcg: bool                 # "Memory cgroup out of memory": a cgroup limit, not the host


def oom_victim(text: str) -> OomVictim | None:
    """The victim of an OOM kill line, or None.

    >>> oom_victim("Out of memory: Killed process 18339 (tail) total-vm:4191804kB, anon-rss:4186492kB, file-rss:1740kB, shmem-rss:0kB, UID:1000 pgtables:8240kB oom_score_adj:0")
    OomVictim(pid=18339, comm='tail', anon_rss_kb=4186492, file_rss_kb=1740, memcg=False)
    >>> oom_victim("Memory cgroup out of memory: Killed process 55438 (ruby) total-vm:1771344kB, anon-rss:1469448kB, file-rss:4992kB").memcg
    True
    """
    match = _KILLED.search(text)
    if match is None:
        return None
    anon, file = match.group("anon"), match.group("file")
    return OomVictim(int(match.group("pid")), match.group("comm"), int(anon) if anon else None,
                     int(file) if file else None, "cgroup out of memory" in text)
