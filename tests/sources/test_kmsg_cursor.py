"""KmsgCursor on the real /dev/kmsg: the first drain is the whole ring buffer, later ones only what was logged since."""
import os
import uuid

import pytest

from minfree.sources.kmsg import KmsgCursor, read_kmsg_records

pytestmark = [pytest.mark.live, pytest.mark.root]


@pytest.mark.skipif(os.geteuid() != 0, reason="writing to /dev/kmsg needs root")
def test_drain_returns_only_new_records():
    with KmsgCursor() as cursor:
        first = cursor.drain()
        assert len(first) >= len(read_kmsg_records()) - 5   # the ring buffer as it was (a few may arrive meanwhile)
        marker = f"minfree-exporter-test {uuid.uuid4()}"
        with open("/dev/kmsg", "w") as kmsg:
            kmsg.write(f"<6>{marker}\n")
        new = cursor.drain()
        assert any(marker.encode() in record for record in new)
        assert len(new) < 50 and not any(marker.encode() in record for record in first)
        assert not any(marker.encode() in record for record in cursor.drain())   # never twice
