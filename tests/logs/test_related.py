"""related_kind's first test is MARKERS written out (for speed); report_block reads MARKERS to
refuse a report that holds a related message: the two must name the same strings."""
import inspect
import re

from minfree.logs import related


def test_related_kind_asks_for_every_marker() -> None:
    source = inspect.getsource(related.related_kind)
    start = source.index("if not (")
    gate = source[start:source.index("return None", start)]
    assert sorted(re.findall(r'"([^"]+)" in text', gate)) == sorted(related.MARKERS)
