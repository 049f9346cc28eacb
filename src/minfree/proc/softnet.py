"""/proc/net/softnet_stat: one line of hex counters per CPU.

Column 1 is ``processed``, column 2 ``dropped``: packets thrown away because the CPU's input
backlog (net.core.netdev_max_backlog) was full; column 3 ``time_squeeze`` (6.18
net/core/net-procfs.c ``softnet_seq_show``).
"""
from __future__ import annotations


def parse_softnet(text: str) -> tuple[int, int] | None:
    """(dropped, time_squeeze) summed over the CPUs; None when no line parses.

    Sample from this machine (Linux 6.18, 2 CPUs, columns trimmed):

    >>> parse_softnet('''00000014 00000000 00000000 00000000 00000000
    ... 00001c96 0000000a 00000001 00000000 00000000
    ... ''')
    (10, 1)
    >>> parse_softnet("garbage") is None
    True
    """
    total: tuple[int, int] | None = None
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3:
            continue
        try:
            dropped, squeezed = int(words[1], 16), int(words[2], 16)
        except ValueError:
            continue
        total = (dropped, squeezed) if total is None else (total[0] + dropped, total[1] + squeezed)
    return total


def parse_softnet_dropped(text: str) -> int | None:
    """Backlog drops summed over the CPUs (the exporter's counter); None when no line parses."""
    found = parse_softnet(text)
    return None if found is None else found[0]
