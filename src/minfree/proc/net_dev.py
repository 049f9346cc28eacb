"""/proc/net/dev: every interface's packet counters in one file.

The receive ``drop`` column is ``rx_dropped + rx_missed_errors`` and ``fifo`` is
``rx_fifo_errors`` (6.18 net/core/net-procfs.c ``dev_seq_printf_stats``): packets the stack
had no buffer for, and packets the NIC's ring had no room for.
"""
from __future__ import annotations

from typing import NamedTuple


class ReceiveDrops(NamedTuple):
    """One interface's receive drops (a tuple: the exporter builds one per interface per
    scrape, and a container host has hundreds of veths)."""

    device: str
    dropped: int   # rx_dropped + rx_missed_errors
    fifo: int      # rx_fifo_errors


def parse_net_dev(text: str) -> list[ReceiveDrops]:
    """One record per interface line; the two header lines and malformed lines are skipped.

    Sample from this machine (Linux 6.18):

    >>> parse_net_dev('''Inter-|   Receive                                                |  Transmit
    ...  face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    ...     lo:    6386      58    0    0    0     0          0         0     6386      58    0    0    0     0       0          0
    ...   eth0: 9281716   7321    0   17    2     0          0         0   842771    5802    0    0    0     0       0          0
    ... ''')
    [ReceiveDrops(device='lo', dropped=0, fifo=0), ReceiveDrops(device='eth0', dropped=17, fifo=2)]
    """
    rows = []
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        words = rest.split()
        if not sep or len(words) < 16 or not "".join(words).isdecimal():   # split() gives no empty word
            continue
        rows.append(ReceiveDrops(name.strip(), int(words[3]), int(words[4])))
    return rows
