"""The /proc/net parsers on the running kernel, against the kernel's other views of the same counters."""
import os
from pathlib import Path

import pytest

from minfree.proc.net_dev import parse_net_dev
from minfree.proc.net_snmp import parse_net_snmp
from minfree.proc.softnet import parse_softnet_dropped
from minfree.render.prometheus import TCP_COUNTERS

pytestmark = pytest.mark.live


def sysfs(device: str, counter: str) -> int:
    return int(Path(f"/sys/class/net/{device}/statistics/{counter}").read_text())


def test_net_dev_drop_column_is_rx_dropped_plus_missed():
    rows = parse_net_dev(Path("/proc/net/dev").read_text())
    assert {r.device for r in rows} == set(os.listdir("/sys/class/net"))
    for row in rows:
        assert row.dropped == sysfs(row.device, "rx_dropped") + sysfs(row.device, "rx_missed_errors")
        assert row.fifo == sysfs(row.device, "rx_fifo_errors")


def test_netstat_and_snmp_hold_the_tcp_counters():
    found = parse_net_snmp(Path("/proc/net/snmp").read_text())
    found.update(parse_net_snmp(Path("/proc/net/netstat").read_text()))
    for proto, counter in TCP_COUNTERS:
        assert counter in found[proto], (proto, counter)
    # every protocol of both files parsed (names and values agree in length)
    protos = {line.split(":")[0] for name in ("snmp", "netstat") for line in Path(f"/proc/net/{name}").read_text().splitlines()}
    assert set(found) == protos


def test_softnet_has_one_line_per_cpu():
    text = Path("/proc/net/softnet_stat").read_text()
    assert len(text.splitlines()) == os.cpu_count()
    assert parse_softnet_dropped(text) == sum(int(line.split()[1], 16) for line in text.splitlines())
