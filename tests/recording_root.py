"""A SystemRoot that remembers what was read through it, for tests of read order and coverage."""
from __future__ import annotations

from minfree.sources.root import SystemRoot


class RecordingRoot(SystemRoot):
    """``touched``: every path asked for, in order; ``found``: those that could be read."""

    __slots__ = ("touched", "found")

    def __init__(self, path):
        super().__init__(path)
        self.touched: list[str] = []
        self.found: list[str] = []

    def read_text(self, rel, *, optional=False):
        self.touched.append(rel)
        text = super().read_text(rel, optional=optional)
        if text is not None:
            self.found.append(rel)
        return text
