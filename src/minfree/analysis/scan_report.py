"""What one scan of kernel logs found: explained events, related messages, what was skipped,
and which event best explains the rest."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from minfree.analysis.explain import ExplainedEvent


@dataclass(slots=True)
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

    def most_telling(self) -> ExplainedEvent | None:
        """The event that best explains the rest: from the most frequent (process, order)
        group, the one with the most evidence (verdict, trace, decoded mode), the latest on
        ties; None when the scan found no event."""
        if not self.events:
            return None
        groups = Counter((e.event.process, e.event.order) for e in self.events)
        top_group = groups.most_common(1)[0][0]

        def evidence(item: tuple[int, ExplainedEvent]) -> tuple[int, int, int, int, int]:
            index, e = item
            return (int((e.event.process, e.event.order) == top_group), int(e.verdict is not None),
                    int(bool(e.frames)), int(e.decoding is not None and e.decoding.exact), index)

        return max(enumerate(self.events), key=evidence)[1]
