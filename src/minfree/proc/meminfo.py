"""/proc/meminfo and per-node /sys/devices/system/node/nodeN/meminfo.

Both files print ``Name: value [kB]`` lines (the node file prefixes each line
with ``Node N``). Fields come and go with kernel versions (``MemAvailable``
3.14+, on RHEL6 only with ``vm.meminfo_legacy_layout=0`` and then printed last;
``KReclaimable`` 4.20+; ``Percpu`` 4.16+...), so values are kept by name and
the caller asks for what it needs.

Caveat (kernel-memory.md §8): with deferred struct page init, MemTotal is not
the memory the watermark code uses; take ``managed`` from /proc/zoneinfo.
"""

from __future__ import annotations


from minfree.model.record import field, record


@record
class Meminfo:
    """Fields of one meminfo file: ``kb`` for ``kB`` lines, ``counts`` for unitless ones."""

    kb: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    node: int | None = None

    @property
    def mem_total_kb(self) -> int | None:
        return self.kb.get("MemTotal")

    @property
    def mem_free_kb(self) -> int | None:
        return self.kb.get("MemFree")

    @property
    def mem_available_kb(self) -> int | None:
        """MemAvailable (3.14+; absent on RHEL6's legacy layout and in node files)."""
        return self.kb.get("MemAvailable")


def _parse(text: str) -> Meminfo:
    kb: dict[str, int] = {}
    counts: dict[str, int] = {}
    node: int | None = None
    for line in text.splitlines():
        head, sep, rest = line.partition(":")
        if not sep:
            continue
        words = head.split()
        if len(words) == 3 and words[0] == "Node" and words[1].isdecimal() and len(words[1]) <= 10:
            node = int(words[1]) if node is None else node
            words = words[2:]
        if len(words) != 1:
            continue
        value = rest.split()
        if not value or not value[0].isdecimal() or len(value[0]) > 20:   # %lu: 20 digits at most
            continue
        if len(value) == 2 and value[1] == "kB":
            kb[words[0]] = int(value[0])
        elif len(value) == 1:
            counts[words[0]] = int(value[0])
    return Meminfo(kb=kb, counts=counts, node=node)


def parse_meminfo(text: str) -> Meminfo:
    """Parse /proc/meminfo. Unknown or malformed lines are skipped.

    Sample from this machine (Linux 6.18, excerpt):

    >>> sample = '''MemTotal:       24684084 kB
    ... MemFree:        24510032 kB
    ... MemAvailable:   24434180 kB
    ... KReclaimable:      22920 kB
    ... HugePages_Total:       0
    ... Hugepagesize:       2048 kB
    ... DirectMap1G:    25165824 kB
    ... '''
    >>> info = parse_meminfo(sample)
    >>> info.mem_total_kb, info.mem_available_kb, info.counts
    (24684084, 24434180, {'HugePages_Total': 0})

    RHEL6 (2.6.32-642, legacy layout: no MemAvailable):

    >>> parse_meminfo("MemTotal:       16334248 kB\\nHardwareCorrupted:     0 kB\\n").mem_available_kb is None
    True
    """
    return _parse(text)


def parse_node_meminfo(text: str) -> Meminfo:
    """Parse /sys/devices/system/node/nodeN/meminfo (``Node N`` prefixed lines).

    Sample from this machine (Linux 6.18, excerpt):

    >>> sample = '''Node 0 MemTotal:        4024524 kB
    ... Node 0 MemFree:         3850524 kB
    ... Node 0 MemUsed:          174000 kB
    ... Node 0 HugePages_Total:     0
    ... '''
    >>> info = parse_node_meminfo(sample)
    >>> info.node, info.mem_total_kb, info.mem_free_kb, info.counts['HugePages_Total']
    (0, 4024524, 3850524, 0)
    """
    return _parse(text)
