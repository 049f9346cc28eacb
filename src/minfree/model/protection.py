"""lowmem_reserve[] (the ``protection:`` line of /proc/zoneinfo) per version (reference §2.5).

Models ``setup_per_zone_lowmem_reserve()`` in mm/page_alloc.c: 2.6.32-4.x (ratio < 1 forced to 1,
present_pages on 2.6.32), 5.0 (ratio < 1 disables), 5.10-6.18 (empty lower zone cleared),
6.11-6.12.18 (empty upper zone shows 0, commit 96a5c186efff, reverted by eae116d1f044).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from minfree.model.rules import KernelRules
from minfree.model.zones import Comparison, Zone, compare_values


def node_protection(
    sizes: Sequence[int], ratios: Sequence[int], rules: KernelRules
) -> list[tuple[int, ...]]:
    """Protection arrays for one node; ``sizes[i]`` = managed (or present) pages of zone index i.

    Returns one tuple per zone index, each ``len(sizes)`` long:
    ``protection_i[j] = Σ_{k=i+1..j} size_k // ratio[i]`` for j > i, else 0.

    Snapshot 2 of the reference (6.18, DMA 3840, DMA32 772917, Normal 819200, 2 empty zones):

    >>> from types import SimpleNamespace as V
    >>> r = KernelRules.for_version(V(major=6, minor=18, patch=2, vendor=None))
    >>> node_protection([3840, 772917, 819200, 0, 0], [256, 256, 32, 0, 0], r)[:2]
    [(0, 3019, 6219, 6219, 6219), (0, 0, 3200, 3200, 3200)]
    >>> r612 = KernelRules.for_version(V(major=6, minor=12, patch=0, vendor=None))
    >>> node_protection([3840, 772917, 819200, 0, 0], [256, 256, 32, 0, 0], r612)[0]
    (0, 3019, 6219, 0, 0)
    """
    n = len(sizes)
    out = [[0] * n for _ in range(n)]
    for i in range(n - 1):
        ratio = ratios[i] if i < len(ratios) else 0
        if ratio < 1:
            if rules.reserve_ratio_below_one == "one":
                ratio = 1  # <=4.x: sysctl_lowmem_reserve_ratio[idx] = 1
            else:
                continue  # 5.0+: ratio 0 -> reserve 0
        if rules.reserve_clears_empty_lower and sizes[i] == 0:
            continue  # 5.10+: clear = !ratio || !zone_managed_pages(zone)
        upper_sum = 0
        for j in range(i + 1, n):
            upper_sum += sizes[j]
            if rules.reserve_zeroes_empty_upper and sizes[j] == 0:
                continue  # 6.11-6.12.18: empty upper zone -> 0 (sum still accumulates)
            out[i][j] = upper_sum // ratio
    return [tuple(row) for row in out]


def predict_protection(
    zones: Iterable[Zone],
    ratios: Sequence[int],
    rules: KernelRules,
    *,
    nr_zones: int | None = None,
) -> dict[tuple[int, str], tuple[int, ...]]:
    """Protection arrays for every zone, keyed by ``(node, zone name)``.

    Zone indices missing from ``zones`` (old zoneinfo hides empty zones) count as empty;
    ``nr_zones`` (MAX_NR_ZONES, the length of a ``protection:`` line) defaults to the
    highest index seen + 1.
    """
    zones = list(zones)
    width = nr_zones if nr_zones is not None else max((z.index for z in zones), default=-1) + 1
    out: dict[tuple[int, str], tuple[int, ...]] = {}
    for node in sorted({z.node for z in zones}):
        node_zones = [z for z in zones if z.node == node]
        sizes = [0] * width
        for z in node_zones:
            if z.index < width:
                sizes[z.index] = z.size(rules.size_field)
        arrays = node_protection(sizes, ratios, rules)
        for z in node_zones:
            if z.index < width:
                out[(node, z.name)] = arrays[z.index]
    return out


def compare(predicted: Sequence[int], shown: Sequence[int]) -> Comparison:
    """Predicted vs shown protection array, field names ``protection[j]``.

    >>> compare((0, 3019, 6219), (0, 3019, 6200)).explain("DMA")
    'DMA: stale by up to 19 pages (protection[2] predicted 6219 shown 6200)'
    """
    as_map = lambda seq: {f"protection[{j}]": v for j, v in enumerate(seq)}  # noqa: E731
    result = compare_values(as_map(predicted), as_map(shown))
    if len(predicted) != len(shown):
        diffs = dict(result.diffs)
        diffs["len"] = (len(predicted), len(shown))
        return Comparison(exact=False, diffs=diffs)
    return result
