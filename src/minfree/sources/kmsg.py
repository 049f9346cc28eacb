"""Live kernel log from ``/dev/kmsg``: a non-blocking snapshot and a blocking follow.

Each ``read(2)`` on ``/dev/kmsg`` returns exactly one record (kernel/printk/printk.c,
``devkmsg_read``, Linux 6.18; format documented in
Documentation/ABI/testing/dev-kmsg)::

    PRIORITY,SEQUENCE,TIMESTAMP_USEC,FLAGS[,caller=..];TEXT\\n
     KEY=VALUE\\n           (optional dictionary lines, each starting with a space)

In TEXT every byte below 0x20 (newline and tab included), from 0x7f up, and ``\\``
itself is escaped as ``\\xNN`` (``msg_add_ext_text`` in printk.c).
A read returns ``EPIPE`` when the record at the reader's position was overwritten
(the ring buffer wrapped); the next read continues at the oldest record still held.
A non-blocking read returns ``EAGAIN`` once every record has been read.

Records are returned raw: :mod:`minfree.logs.prefix` reads their level, facility and
timestamp, unescapes the text and drops the dictionary lines.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

KMSG_PATH = "/dev/kmsg"

# One record never exceeds the kernel's extended console buffer (CONSOLE_EXT_LOG_MAX,
# 8192 bytes in include/linux/printk.h); a read with a smaller buffer fails with EINVAL.
_RECORD_BUFFER = 16384


def read_kmsg_records(path: str = KMSG_PATH) -> list[bytes]:
    """Every record the kernel ring buffer holds now, oldest first (never blocks).

    Opens ``path`` with ``O_RDONLY|O_NONBLOCK`` and reads until ``EAGAIN``; an
    ``EPIPE`` (records overwritten while reading) is skipped over. Raises ``OSError``
    when the device cannot be opened (e.g. ``EPERM`` under ``dmesg_restrict``).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        return _drain(fd)[0]
    finally:
        os.close(fd)


def _drain(fd: int) -> tuple[list[bytes], int]:
    """Read a non-blocking descriptor until ``EAGAIN``: (records, records lost to a wrap)."""
    records: list[bytes] = []
    lost = 0
    while True:
        try:
            record = os.read(fd, _RECORD_BUFFER)
        except BlockingIOError:
            break
        except BrokenPipeError:
            lost += 1
            continue
        if not record:
            break
        records.append(record)
    return records, lost


class KmsgCursor:
    """``/dev/kmsg`` read a little at a time by a long-lived reader (the exporter): each
    :meth:`drain` returns, without blocking, the records logged since the previous one; the
    first returns every record the ring buffer holds. ``lost`` counts the times records were
    overwritten before they were read (``EPIPE``). Raises ``OSError`` when the device cannot
    be opened.

    >>> import os, tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"6,339,5140900,-;virtio_net virtio0 eth0: up\\n")
    >>> with KmsgCursor(f.name) as cursor:
    ...     cursor.drain(), cursor.drain()
    ([b'6,339,5140900,-;virtio_net virtio0 eth0: up\\n'], [])
    >>> os.unlink(f.name)
    """

    def __init__(self, path: str = KMSG_PATH) -> None:
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self.lost = 0

    def drain(self) -> list[bytes]:
        records, lost = _drain(self._fd)
        self.lost += lost
        return records

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> KmsgCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_kmsg_snapshot(path: str = KMSG_PATH) -> bytes:
    """The raw records of :func:`read_kmsg_records`, concatenated.

    >>> import os, tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"6,339,5140900,-;virtio_net virtio0 eth0: up\\n")
    >>> read_kmsg_snapshot(f.name)
    b'6,339,5140900,-;virtio_net virtio0 eth0: up\\n'
    >>> os.unlink(f.name)
    """
    return b"".join(read_kmsg_records(path))


def follow_kmsg(path: str = KMSG_PATH, from_end: bool = True) -> Iterator[bytes]:
    """Yield raw records as the kernel logs them (blocking reads, forever).

    The device is opened, and with ``from_end`` positioned after the newest record
    (``SEEK_END``), when this function is called, not on the first ``next()``: nothing
    logged after the call is missed. Without ``from_end`` the records already held are
    yielded first. Overwritten records (``EPIPE``) are skipped. The device is closed
    when the iterator is closed or garbage-collected.
    """
    device = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the iterator
    try:
        if from_end:
            os.lseek(device.fileno(), 0, os.SEEK_END)
    except BaseException:
        device.close()
        raise
    return _records(device)


def _records(device: io.FileIO) -> Iterator[bytes]:
    with device:
        while True:
            try:
                record = os.read(device.fileno(), _RECORD_BUFFER)
            except BrokenPipeError:
                continue
            if not record:
                return
            yield record
