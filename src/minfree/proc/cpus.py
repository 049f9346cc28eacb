"""Online CPU count: /sys/devices/system/cpu/online, else /proc/cpuinfo.

The online count bounds the error of the per-cpu batched free-page counter
(online_cpus x stat_threshold, kernel-memory.md §3.5).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OnlineCpus:
    count: int
    ids: tuple[int, ...] | None


def parse_id_list(text: str) -> tuple[int, ...] | None:
    """A kernel id list (``%*pbl``: ``0-3,8,10-11``) as sorted ids; None if malformed.

    Samples from this machine (cpu/online, node/online) and a 2-socket host:

    >>> parse_id_list("0-1\\n"), parse_id_list("0\\n"), parse_id_list("0-3,8,10-11")
    ((0, 1), (0,), (0, 1, 2, 3, 8, 10, 11))
    >>> parse_id_list("\\n"), parse_id_list("3-1"), parse_id_list("a")
    ((), None, None)
    """
    ids: set[int] = set()
    body = text.strip()
    if not body:
        return ()
    for part in body.split(","):
        low, sep, high = part.strip().partition("-")
        if not low.isdecimal() or (sep and not high.isdecimal()):
            return None
        first, last = int(low), int(high) if sep else int(low)
        if last < first or last - first > 1 << 16:
            return None
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def parse_cpu_online(text: str) -> OnlineCpus | None:
    """/sys/devices/system/cpu/online (sample from this machine: ``0-1``).

    >>> parse_cpu_online("0-1\\n")
    OnlineCpus(count=2, ids=(0, 1))
    """
    ids = parse_id_list(text)
    if not ids:
        return None
    return OnlineCpus(len(ids), ids)


def parse_cpuinfo(text: str) -> OnlineCpus | None:
    """Count ``processor`` entries in /proc/cpuinfo (lists online CPUs only).

    Sample from this machine (excerpt):

    >>> parse_cpuinfo('''processor\\t: 0
    ... vendor_id\\t: AuthenticAMD
    ... model name\\t: AMD EPYC
    ...
    ... processor\\t: 1
    ... vendor_id\\t: AuthenticAMD
    ... ''')
    OnlineCpus(count=2, ids=(0, 1))
    """
    ids: list[int] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "processor" and value.strip().isdecimal():
            ids.append(int(value))
    if not ids:
        return None
    return OnlineCpus(len(ids), tuple(sorted(set(ids))))
