"""What one scan of kernel logs found: explained events, related messages, what was skipped."""
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
