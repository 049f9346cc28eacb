"""``/proc/stat``: only ``btime``, the boot time in seconds since the epoch (fs/proc/stat.c,
``show_stat``: ``btime %llu``, every version), which turns printk timestamps into dates.

>>> parse_btime("cpu  10 0 5 900 0 0 0 0 0 0\\nintr 1 2\\nctxt 4411\\nbtime 1764686310\\nprocesses 1905\\n")
1764686310
>>> parse_btime("cpu  10 0 5 900\\n") is None
True
"""
from __future__ import annotations


def parse_btime(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("btime "):
            value = line[6:].strip()
            return int(value) if value.isdecimal() else None
    return None
