"""Network counters that say packets were lost: /proc/net/snmp, /proc/net/netstat and
/proc/net/softnet_stat.

``snmp`` and ``netstat`` print pairs of lines, a header and its values, each starting with
the same ``Prefix:`` (net/ipv4/proc.c ``snmp_seq_show``, ``netstat_seq_show``): counters are
named ``Prefix.Name`` here (``TcpExt.TCPRcvQDrop``, ``Tcp.RetransSegs``). ``softnet_stat``
has one line per possible CPU of hex columns (net/core/net-procfs.c ``softnet_seq_show``):
the 1st is packets processed, the 2nd packets dropped because the backlog was full, the 3rd
``time_squeeze``; only the dropped and squeezed totals are kept.
"""
from __future__ import annotations

from minfree.proc.net_snmp import parse_net_snmp
from minfree.proc.softnet import parse_softnet


def parse_snmp(text: str) -> dict[str, int]:
    """``Prefix.Name -> value`` of an snmp or netstat file (:func:`parse_net_snmp`, flattened).

    Real sample (this machine, Linux 6.18, shortened):

    >>> text = ("Tcp: RtoAlgorithm RtoMin RetransSegs InErrs\\nTcp: 1 200 12 0\\n"
    ...         "TcpExt: TCPRcvQDrop TCPBacklogDrop TCPMemoryPressures\\nTcpExt: 0 3 1\\n"
    ...         "Udp: InDatagrams\\nUdp: x\\n")
    >>> counters = parse_snmp(text)
    >>> counters["Tcp.RetransSegs"], counters["TcpExt.TCPBacklogDrop"], "Udp.InDatagrams" in counters
    (12, 3, False)
    """
    return {f"{proto}.{name}": value for proto, values in parse_net_snmp(text).items()
            for name, value in values.items()}


def parse_softnet_stat(text: str) -> dict[str, int]:
    """Backlog drops and time squeezes summed over CPUs (:func:`parse_softnet`); 0 when none parse.

    Real sample (this machine, 2 CPUs, 15 columns each):

    >>> line = "00001c96 00000002 00000001" + " 00000000" * 12
    >>> parse_softnet_stat(line + "\\n" + line + "\\nzz\\n")
    {'softnet.dropped': 4, 'softnet.time_squeeze': 2}
    """
    dropped, squeezed = parse_softnet(text) or (0, 0)
    return {"softnet.dropped": dropped, "softnet.time_squeeze": squeezed}


def parse_counter(text: str) -> int | None:
    """One decimal counter file (``/sys/class/net/X/statistics/rx_dropped``).

    >>> parse_counter("17\\n"), parse_counter("")
    (17, None)
    """
    word = text.strip()
    return int(word) if word.isdecimal() else None
