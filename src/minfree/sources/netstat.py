"""The network loss counters of a live host, read together as one flat mapping.

Keys: ``Tcp.RetransSegs`` and every other /proc/net/snmp and /proc/net/netstat counter,
``softnet.dropped`` / ``softnet.time_squeeze``, and ``nic.<if>.<counter>`` for the drop
counters of every interface that has a device (``specs.NET_DROP_COUNTERS``). What matters
of them is ``minfree.analysis.trace_window``.
"""
from __future__ import annotations

from minfree.proc.netstat import parse_counter, parse_snmp, parse_softnet_stat
from minfree.sources import specs
from minfree.sources.readers import netdev_names, read_text
from minfree.sources.root import SystemRoot


def read_net_counters(root: SystemRoot, interfaces: tuple[str, ...]) -> dict[str, int]:
    counters: dict[str, int] = {}
    for spec in (specs.SNMP, specs.NETSTAT):
        text = read_text(root, spec)
        if text is not None:
            counters.update(parse_snmp(text))
    softnet = read_text(root, specs.SOFTNET_STAT)
    if softnet is not None:
        counters.update(parse_softnet_stat(softnet))
    for name in interfaces:
        for counter in specs.NET_DROP_COUNTERS:
            text = read_text(root, specs.netdev_stat(name, counter))
            value = None if text is None else parse_counter(text)
            if value is not None:
                counters[f"nic.{name}.{counter}"] = value
    return counters


def physical_interfaces(root: SystemRoot) -> tuple[str, ...]:
    """Interfaces with a device behind them (NICs), whose drops mean packets from the wire."""
    return tuple(name for name in netdev_names(root, optional=True)
                 if root.exists(specs.netdev_link(name, "device")))
