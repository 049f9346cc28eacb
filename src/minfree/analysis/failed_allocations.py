"""Failed page allocations counted in the kernel over doctor's window (the cheap always-on
mode of ``minfree trace``: the in-kernel count only, no flags, no call sites)."""
from __future__ import annotations


from minfree.analysis import thresholds as T
from minfree.model.record import record


@record(frozen=False)
class FailedAllocations:
    """What the counter saw, or why there is no count (``unavailable``)."""

    counter: str | None                # "ebpf" or "hist" (per order), or "perf" (the total only)
    window_s: float | None
    total: int | None
    by_order: dict[int, int] | None
    unavailable: str | None = None

    @property
    def failed_orders(self) -> list[int]:
        return sorted(o for o, n in (self.by_order or {}).items() if n)


def severity(failed: FailedAllocations) -> str | None:
    """The finding's severity from what the count can tell (no flags, no call sites): by the
    smallest failed order (thresholds.FAILED_ORDER_*); a total without orders (perf) is a
    warning. None when nothing failed.

    >>> severity(FailedAllocations("ebpf", 1.0, 2, {0: 1, 9: 1}))
    'critical'
    >>> severity(FailedAllocations("ebpf", 1.0, 1, {0: 0, 3: 1}))
    'warning'
    >>> severity(FailedAllocations("ebpf", 1.0, 1, {9: 1}))
    'info'
    >>> severity(FailedAllocations("perf", 1.0, 4, None)), severity(FailedAllocations("perf", 1.0, 0, None))
    ('warning', None)
    """
    if not failed.total:
        return None
    orders = failed.failed_orders
    if not orders:
        return "warning"
    if orders[0] <= T.FAILED_ORDER_CRITICAL_MAX:
        return "critical"
    return "warning" if orders[0] <= T.FAILED_ORDER_WARNING_MAX else "info"
