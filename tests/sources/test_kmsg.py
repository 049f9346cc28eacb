"""Tests for minfree.sources.kmsg: /dev/kmsg snapshot and follow."""

from __future__ import annotations

import os
import queue
import threading
import uuid
from pathlib import Path

import pytest

from minfree.sources import kmsg
from minfree.sources.kmsg import follow_kmsg, read_kmsg_records, read_kmsg_snapshot

# Records as this machine's /dev/kmsg returns them (Linux 6.18), one per read(2).
RECORDS = [
    b"5,0,0,-;Linux version 6.18.44-fc-v669 (builder@sandboxing) #1 SMP PREEMPT_DYNAMIC @0\n",
    b"6,193,295364,-;acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM ClockPM Segments MSI HPX-Type3]\n"
    b" SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00\n",
    b"4,286,422719,-;amd_pstate: The CPPC feature is supported but currently disabled by the BIOS."
    b"\\x0aPlease enable it if your BIOS has the CPPC option.\n",
]


class FakeDevice:
    """os.read replacement returning one record per call, EPIPE once, then EAGAIN."""

    def __init__(self, records: list[bytes], epipe_at: int) -> None:
        self.pending = list(records)
        self.epipe_at = epipe_at
        self.calls = 0

    def read(self, fd: int, size: int) -> bytes:
        self.calls += 1
        if self.calls == self.epipe_at:
            raise BrokenPipeError(32, "Broken pipe")
        if not self.pending:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return self.pending.pop(0)


def test_snapshot_skips_overwritten_records_and_stops_at_eagain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    device = FakeDevice(RECORDS, epipe_at=2)
    monkeypatch.setattr(kmsg.os, "read", device.read)
    path = tmp_path / "kmsg"
    path.touch()
    assert read_kmsg_records(str(path)) == RECORDS
    assert device.calls == len(RECORDS) + 2  # one EPIPE, one EAGAIN


def test_snapshot_of_a_captured_file(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(RECORDS))
    assert read_kmsg_snapshot(str(path)) == b"".join(RECORDS)


def test_snapshot_of_a_missing_device_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_kmsg_snapshot(str(tmp_path / "kmsg"))


def test_follow_skips_epipe_and_ends_at_eof_of_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(RECORDS))
    real_read = os.read
    calls = []

    def read_with_one_epipe(fd: int, size: int) -> bytes:
        calls.append(size)
        if len(calls) == 1:
            raise BrokenPipeError(32, "Broken pipe")
        return real_read(fd, size)

    monkeypatch.setattr(kmsg.os, "read", read_with_one_epipe)
    assert b"".join(follow_kmsg(str(path), from_end=False)) == b"".join(RECORDS)
    assert list(follow_kmsg(str(path), from_end=True)) == []


@pytest.mark.live
def test_live_snapshot_is_well_formed_records() -> None:
    records = read_kmsg_records()
    assert records
    for record in records:
        header, sep, _ = record.partition(b";")
        fields = header.split(b",")
        assert sep and len(fields) >= 4 and fields[0].isdigit() and fields[1].isdigit() and fields[2].isdigit()
        assert record.endswith(b"\n")
    sequences = [int(r.split(b",")[1]) for r in records]
    assert sequences == sorted(sequences)


def _sequence(record: bytes) -> int:
    return int(record.split(b",", 2)[1])


@pytest.mark.live
@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="writing /dev/kmsg needs root")
def test_follow_yields_a_marker_written_after_the_call() -> None:
    newest_before = _sequence(read_kmsg_records()[-1])
    marker = f"minfree-test-{uuid.uuid4()}".encode()
    records = follow_kmsg()  # positioned at the end now
    found: queue.Queue[list[bytes]] = queue.Queue()

    def consume() -> None:
        seen = []
        for record in records:
            seen.append(record)
            if marker in record:
                break
        found.put(seen)

    # A daemon thread: if the marker never came, the blocked read cannot hang the run.
    threading.Thread(target=consume, daemon=True).start()
    with open("/dev/kmsg", "wb", buffering=0) as device:
        device.write(b"<4>" + marker + b"\n")
    seen = found.get(timeout=2)
    assert marker in seen[-1] and seen[-1].startswith(b"12,")  # user facility (1), warning (4)
    assert all(_sequence(record) > newest_before for record in seen)
