"""What one scan of kernel logs found: explained events, related messages, what was skipped,
and which event best explains the rest."""
from __future__ import annotations

from collections import Counter

from minfree.model.record import field, record

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing: a cold doctor imports no typing
if TYPE_CHECKING:   # doctor builds an empty report for a clean log without the explanation machinery
    from minfree.analysis.explain import ExplainedEvent

if TYPE_CHECKING:
    from minfree.analysis.log_sizing import LogSizing


@record(frozen=False)
class ScanReport:
    """Everything one scan found, in input order."""

    events: list[ExplainedEvent] = field(default_factory=list)
    related: Counter[str] = field(default_factory=Counter)
    related_by_host: dict[str, Counter[str]] = field(default_factory=dict)
    skipped_lines: int = 0
    bytes_read: int = 0
    inputs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # inputs that broke off (truncated archives...)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, why) left out of a directory
    boot_time: float | None = None   # epoch seconds the scanned boot began: dates printk stamps
    sizing: LogSizing | None = None   # tune's proposal for a host whose report shows enough

    def most_telling(self) -> ExplainedEvent | None:
        """The event that best explains the rest, chosen as an engineer reading the log would:
        a report whose dump replays to a failure and whose trace names its origin; of those,
        one on the network path (what these hosts lose), then one from the most frequent
        (process, order) group; never one the dump says would have passed while another does
        not. The latest wins ties; None when the scan found no event."""
        if not self.events:
            return None
        groups = Counter(group(e) for e in self.events)
        top_group = groups.most_common(1)[0][0]
        return max(enumerate(self.events),
                   key=lambda item: rank(strength(item[1]), group(item[1]) == top_group, item[0]))[1]


def group(e: ExplainedEvent) -> tuple[str | None, int | None]:
    """The (process, order) group of an event: :meth:`ScanReport.most_telling` prefers the
    most frequent one."""
    return e.event.process, e.event.order


def strength(e: ExplainedEvent) -> tuple[int, int, int, int, int]:
    """What makes one event telling on its own, for :func:`rank`: a failing replay with a
    trace, the network path, a failing replay, a trace, an exact GFP decoding."""
    from minfree.analysis.origin import NETWORK_CATEGORIES

    fails = e.verdict is not None and e.verdict.reason != "passes_on_dump"
    return (int(fails and bool(e.frames)), int(e.origin.category in NETWORK_CATEGORIES), int(fails),
            int(bool(e.frames)), int(e.decoding is not None and e.decoding.exact))


def rank(own: tuple[int, ...], in_top_group: bool, index: int) -> tuple[int, ...]:
    """The order of :meth:`ScanReport.most_telling`: the most telling event has the largest
    rank (``own`` from :func:`strength`; ``index``: its place among all events)."""
    return (*own[:2], int(in_top_group), *own[2:], index)
