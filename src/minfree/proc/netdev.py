"""Network interfaces from /sys/class/net: MTU, link speed, driver, state.

Jumbo-frame NICs are the classic source of order>0 GFP_ATOMIC allocations
(kernel-memory.md §5.5), so doctor relates MTU and driver to failures.

* ``speed`` is Mb/s; the kernel prints -1 (SPEED_UNKNOWN) or fails the read
  with EINVAL for links that are down or virtual: both give None.
* The driver is the last component of the ``device/driver`` symlink.
* An interface without ``device`` (lo, bridges, bonds, veth, ifb) is virtual.
"""

from __future__ import annotations

from minfree.model.record import record


# Values that mean "unknown" rather than a rate: SPEED_UNKNOWN (-1) printed as
# unsigned by some old drivers, and the 16-bit 0xffff some drivers reported.
_UNKNOWN_SPEEDS = frozenset({0, 65535, 4294967295})


@record
class NetDevice:
    """One interface of /sys/class/net: its ``mtu``, ``speed`` (Mb/s), ``operstate`` and the name its
    ``device/driver`` link points to (None: unreadable or unknown); virtual without ``device``."""

    name: str
    mtu: int | None
    speed_mbps: int | None
    driver: str | None
    operstate: str | None
    is_virtual: bool


#: The kernel prints these as %u/%d: a longer run of digits is damage (and int() refuses
#: strings over 4300 digits with ValueError).
_DIGITS = 20


def parse_speed(text: str) -> int | None:
    """/sys/class/net/X/speed in Mb/s; None when unknown.

    Sample from this machine (virtio_net eth0 prints -1), and a 25G NIC:

    >>> parse_speed("-1\\n"), parse_speed("25000\\n"), parse_speed("65535"), parse_speed("fast")
    (None, 25000, None, None)
    """
    word = text.strip()
    if not word.isdecimal() or len(word) > _DIGITS:
        return None
    value = int(word)
    return None if value in _UNKNOWN_SPEEDS else value


def parse_mtu(text: str) -> int | None:
    """/sys/class/net/X/mtu (sample from this machine's eth0: ``1400``).

    >>> parse_mtu("1400\\n"), parse_mtu("9000"), parse_mtu(""), parse_mtu("9" * 5000)
    (1400, 9000, None, None)
    """
    word = text.strip()
    return int(word) if word.isdecimal() and len(word) <= _DIGITS else None


def parse_operstate(text: str) -> str | None:
    """/sys/class/net/X/operstate (RFC 2863 state: up, down, unknown, dormant...).

    >>> parse_operstate("up\\n"), parse_operstate("")
    ('up', None)
    """
    word = text.strip()
    return word or None
