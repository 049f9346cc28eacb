"""/proc/vmstat: ``name value`` counters, and rates between two samples.

Counters since boot say little; findings use rates over a window
(``vmstat_rates``). Field names changed across kernels (kernel-memory.md §6.4):
``allocstall`` (<= 4.7) became ``allocstall_<zone>`` (4.8+), per-zone
``pgscan_kswapd_<zone>`` (<= 4.7) became global ``pgscan_kswapd``;
``vmstat_total`` hides that difference.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from minfree.model.record import record

# nr_* items are mostly gauges (node/zone stat items); these nr_* are cumulative
# event counts (6.18 mm/vmstat.c vmstat_text: nr_dirtied, nr_written,
# nr_foll_pin_*; nr_tlb_* under CONFIG_DEBUG_TLBFLUSH).
_NR_COUNTERS = frozenset({"nr_dirtied", "nr_written", "nr_foll_pin_acquired", "nr_foll_pin_released"})
_GAUGES = frozenset({"workingset_nodes"})


def is_counter(name: str) -> bool:
    """Whether a /proc/vmstat item only grows (an event count), not a gauge.

    >>> is_counter("pgscan_kswapd"), is_counter("nr_free_pages"), is_counter("nr_dirtied")
    (True, False, True)
    """
    if name in _GAUGES:
        return False
    if name.startswith("nr_"):
        return name in _NR_COUNTERS or name.startswith("nr_tlb_")
    return True


def parse_vmstat(text: str, names: Collection[str] | None = None) -> dict[str, int]:
    """Parse /proc/vmstat into ``{name: value}``; malformed lines are skipped. With ``names``,
    only the items :func:`vmstat_total` reads for them (``name`` and ``name_<zone>``).

    Sample from this machine (Linux 6.18, excerpt):

    >>> sample = '''nr_free_pages 963154
    ... nr_free_pages_blocks 907776
    ... pgscan_kswapd 0
    ... allocstall_normal 0
    ... compact_stall 0
    ... '''
    >>> parse_vmstat(sample)["nr_free_pages"]
    963154

    2.6.32 (RHEL6) names, and garbage:

    >>> parse_vmstat("allocstall 12\\npgscan_kswapd_normal 40\\nbogus\\nx y\\n")
    {'allocstall': 12, 'pgscan_kswapd_normal': 40}
    >>> parse_vmstat(sample, names=["compact_stall", "allocstall"])
    {'allocstall_normal': 0, 'compact_stall': 0}
    """
    counters: dict[str, int] = {}
    wanted = None if names is None else tuple(names)
    zoned = None if names is None else tuple(name + "_" for name in names)
    for line in text.splitlines():
        if wanted is not None and not line.lstrip().startswith(wanted):
            continue   # cheap first test; the name itself is tested below
        words = line.split()
        if len(words) != 2:
            continue
        name, value = words
        if len(value) <= 21 and (value.isdecimal() or (value[:1] == "-" and value[1:].isdecimal())):   # %ld
            if wanted is None or name in wanted or name.startswith(zoned):
                counters[name] = int(value)
    return counters


def vmstat_total(counters: Mapping[str, int], name: str) -> int | None:
    """``name`` itself, else the sum of its per-zone ``name_<zone>`` items, else None.

    >>> vmstat_total({"allocstall_dma32": 1, "allocstall_normal": 4}, "allocstall")
    5
    >>> vmstat_total({"allocstall": 3}, "allocstall"), vmstat_total({}, "allocstall")
    (3, None)
    """
    if name in counters:
        return counters[name]
    prefix = name + "_"
    parts = [value for key, value in counters.items() if key.startswith(prefix)]
    return sum(parts) if parts else None


@record
class VmstatSample:
    """/proc/vmstat values with the monotonic time (seconds) they were read."""

    counters: dict[str, int]
    taken_at: float


@record
class VmstatRates:
    """Change of every event counter between two samples.

    ``reset`` lists counters that went down (wrapped or reset); they get no rate.
    """

    seconds: float
    deltas: dict[str, int]
    per_second: dict[str, float]
    reset: tuple[str, ...]


def vmstat_rates(before: VmstatSample, after: VmstatSample) -> VmstatRates | None:
    """Per-second rates of the event counters present in both samples.

    None when the window is empty or negative (samples swapped or same instant).

    >>> a = VmstatSample({"pgscan_kswapd": 100, "nr_free_pages": 9, "pageoutrun": 7}, 10.0)
    >>> b = VmstatSample({"pgscan_kswapd": 160, "nr_free_pages": 5, "pageoutrun": 2}, 12.0)
    >>> r = vmstat_rates(a, b)
    >>> r.deltas, r.per_second, r.reset
    ({'pgscan_kswapd': 60}, {'pgscan_kswapd': 30.0}, ('pageoutrun',))
    """
    seconds = after.taken_at - before.taken_at
    if seconds <= 0:
        return None
    deltas: dict[str, int] = {}
    reset: list[str] = []
    for name, new in after.counters.items():
        old = before.counters.get(name)
        if old is None or not is_counter(name):
            continue
        if new < old:
            reset.append(name)
        else:
            deltas[name] = new - old
    per_second = {name: delta / seconds for name, delta in deltas.items()}
    return VmstatRates(seconds, deltas, per_second, tuple(reset))
