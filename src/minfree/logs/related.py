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


_MARKERS = ("callbacks suppressed", "page allocation stalls", "Killed process",
            "Unable to allocate", "out of memory", "Out of socket memory")


def related_kind(text: str) -> tuple[str, int] | None:
    """(kind, count) of a related message, or None."""
    # every marker holds one of these three words: a cheap first test for the common line
    if "alloc" not in text and "memory" not in text and "Killed" not in text:
        return None
    if not any(marker in text for marker in _MARKERS):
        return None
    if "callbacks suppressed" in text:
        match = _SUPPRESSED.match(text)
        return None if match is None else ("suppressed_reports", int(match.group("n")))
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind, 1
    return None
