"""/proc/net/softnet_stat: one line of hex counters per CPU.

Column 1 is ``processed``, column 2 ``dropped``: packets thrown away because the CPU's input
backlog (net.core.netdev_max_backlog) was full; column 3 ``time_squeeze`` (6.18
net/core/net-procfs.c ``softnet_seq_show``).
"""
from __future__ import annotations


def parse_softnet_dropped(text: str) -> int | None:
    """Backlog drops summed over the CPUs; None when no line parses.

    Sample from this machine (Linux 6.18, 2 CPUs, columns trimmed):

    >>> parse_softnet_dropped('''00000014 00000000 00000000 00000000 00000000
    ... 00001c96 0000000a 00000000 00000000 00000000
    ... ''')
    10
    >>> parse_softnet_dropped("garbage") is None
    True
    """
    total: int | None = None
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3:
            continue
        try:
            dropped = int(words[1], 16)
        except ValueError:
            continue
        total = dropped if total is None else total + dropped
    return total
