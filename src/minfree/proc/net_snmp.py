"""/proc/net/netstat and /proc/net/snmp: protocol counters as pairs of lines.

Both files print each protocol twice, a line of names then a line of values, each line
starting with the protocol (6.18 net/ipv4/proc.c ``snmp_seq_show_tcp_udp``,
``netstat_seq_show``)::

    TcpExt: SyncookiesSent ... TCPBacklogDrop ... TCPRcvQDrop ...
    TcpExt: 0 ... 0 ...

Values are unsigned except the few the kernel prints signed (``Tcp: MaxConn -1``).
"""
from __future__ import annotations

from collections.abc import Collection


def parse_net_snmp(text: str, protocols: Collection[str] | None = None) -> dict[str, dict[str, int]]:
    """``{protocol: {counter: value}}`` of every protocol, or of ``protocols`` only; a name line
    without its value line, or a value line whose length differs from its names, is skipped.

    Sample from this machine (Linux 6.18, trimmed):

    >>> parse_net_snmp('''Tcp: RtoAlgorithm RtoMin MaxConn RetransSegs
    ... Tcp: 1 200 -1 12
    ... TcpExt: TCPBacklogDrop TCPRcvQDrop TCPMemoryPressures
    ... TcpExt: 0 3 1
    ... IpExt: InNoRoutes
    ... ''')
    {'Tcp': {'RtoAlgorithm': 1, 'RtoMin': 200, 'MaxConn': -1, 'RetransSegs': 12}, 'TcpExt': {'TCPBacklogDrop': 0, 'TCPRcvQDrop': 3, 'TCPMemoryPressures': 1}}
    >>> parse_net_snmp("Ip: Forwarding\\nIp: 1\\nUdp: InErrors\\nUdp: 4\\n", protocols={"Udp"})
    {'Udp': {'InErrors': 4}}
    """
    found: dict[str, dict[str, int]] = {}
    names: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        proto, sep, rest = line.partition(":")
        if not sep:
            names = None
            continue
        if protocols is not None and proto not in protocols:
            names = None
            continue
        words = rest.split()
        if names is not None and names[0] == proto:
            values = _ints(words)
            if values is not None and len(values) == len(names[1]):
                found[proto] = dict(zip(names[1], values))
            names = None
        else:
            names = (proto, words)
    return found


def _ints(words: list[str]) -> list[int] | None:
    try:
        return [int(word) for word in words]
    except ValueError:
        return None
