"""Failure reports of the live kernel log, tallied as they appear (the exporter's counters).

Each report counts as often as it occurred (``last message repeated N times`` included), under
its order and the subsystem that wanted the memory (:mod:`minfree.analysis.origin`). The
tally also keeps what tune's sizing needs (:class:`~minfree.analysis.sizing.FailureSummary`),
so that the recommended ``min_free_kbytes`` follows the failures logged so far without
keeping every event.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.sizing import FailureSummary, summarize_failures
from minfree.model.record import field, record

UNKNOWN_ORDER = "unknown"   # a report whose header printed no order (vmalloc)


@record(frozen=False)
class FailureTally:
    """``by_kind[(order, origin)]``: occurrences; ``summary``: sizing's view of all of them."""

    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    summary: FailureSummary = field(default_factory=FailureSummary)

    def add(self, events: Iterable[ExplainedEvent]) -> None:
        """Count ``events`` (explained failure reports).

        >>> from types import SimpleNamespace as N
        >>> ev = lambda order, cat: N(event=N(order=order, repeated=1), decoding=N(can_sleep=False),
        ...                           origin=N(category=cat), occurrences=2)
        >>> tally = FailureTally()
        >>> tally.add([ev(1, "network-receive")]); tally.add([ev(None, "vmalloc")])
        >>> dict(tally.by_kind), tally.summary.total, tally.summary.network, tally.summary.max_atomic_order
        ({('1', 'network-receive'): 2, ('unknown', 'vmalloc'): 2}, 4, 2, 1)
        """
        events = list(events)
        for item in events:
            order = item.event.order
            self.by_kind[(UNKNOWN_ORDER if order is None else str(order), item.origin.category)] += item.occurrences
        new = summarize_failures(events)
        old = self.summary
        orders = [o for o in (old.max_atomic_order, new.max_atomic_order) if o is not None]
        self.summary = FailureSummary(
            atomic_order0=old.atomic_order0 + new.atomic_order0,
            atomic_high_order=old.atomic_high_order + new.atomic_high_order,
            max_atomic_order=max(orders) if orders else None,
            network=old.network + new.network,
            total=old.total + new.total,
        )
