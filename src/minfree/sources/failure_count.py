"""A reading of the in-kernel count of failed page allocations, whichever counter of
:mod:`minfree.sources.failcount` made it."""
from __future__ import annotations

from minfree.model.record import record


@record(frozen=False)
class FailureCount:
    """Failed page allocations counted in the kernel since the counter was enabled."""

    total: int
    by_order: dict[int, int] | None  # None: the counter counts the total only (perf)

    def since(self, earlier: FailureCount | None) -> FailureCount:
        """The failures between ``earlier`` (a previous reading of the same counter) and this one.

        >>> FailureCount(5, {0: 1, 3: 4}).since(FailureCount(2, {0: 1, 3: 1}))
        FailureCount(total=3, by_order={0: 0, 3: 3})
        >>> FailureCount(5, None).since(None)
        FailureCount(total=5, by_order=None)
        """
        if earlier is None:
            return self
        by_order = None if self.by_order is None else {
            o: n - (earlier.by_order or {}).get(o, 0) for o, n in self.by_order.items()}
        return FailureCount(self.total - earlier.total, by_order)

    def counters(self) -> dict[str, int]:
        """As history counters (cumulative within one recorder run): ``failed_alloc`` and,
        per order, ``failed_alloc_order_N``.

        >>> FailureCount(2, {0: 0, 9: 2}).counters()
        {'failed_alloc': 2, 'failed_alloc_order_0': 0, 'failed_alloc_order_9': 2}
        """
        out = {"failed_alloc": self.total}
        out.update({f"failed_alloc_order_{o}": n for o, n in sorted((self.by_order or {}).items())})
        return out
