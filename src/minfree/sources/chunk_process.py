"""Run a producer of byte chunks (a decompressor) in a forked child, on the other core.

A decoder in a thread shares the interpreter with the scanner that reads its output: zlib and
zstd release the GIL while they decode, but the Python around them (feeding, joining,
queueing) does not, and the scanner waits. :class:`ChunkProcess` forks instead (a
:class:`~minfree.sources.forked.ForkedChild`: it holds no other child's pipes and dies with
this process): the child runs ``produce()`` and copies each chunk into one of :data:`SLOTS` slots of
:data:`SLOT_SIZE` bytes of shared anonymous memory (mapped before the fork, so both processes
see the same pages and no byte crosses a pipe); a pipe carries only slot numbers and lengths
(child to parent) and freed slot numbers (parent to child). Memory is bounded by the slots:
the child waits for a free one, and takes them in turn. Chunks are packed into a slot until it is full or until
``produce`` yields an empty chunk, its sign that it is about to wait for input (so a slow
pipe upstream still streams); a chunk larger than a slot fills several.

The child's end: a message saying so, or the exception ``produce`` raised (pickled: our own
child), which :meth:`ChunkProcess.chunks` raises after every chunk before it. A child that
dies without a word (killed) ends the chunks with :class:`ChunkProcessDied`.

>>> def produce():
...     yield from (b"kernel: one\\n", b"kernel: two\\n", b"", b"kernel: three\\n")
...     raise EOFError("cut short")
>>> process = ChunkProcess(produce)
>>> chunks = process.chunks()
>>> bytes(next(chunks)), bytes(next(chunks))
(b'kernel: one\\nkernel: two\\n', b'kernel: three\\n')
>>> next(chunks)
Traceback (most recent call last):
...
EOFError: cut short
>>> process.close()
"""
from __future__ import annotations

import collections
import mmap
import os
import pickle
import select
import struct
from collections.abc import Callable, Iterable, Iterator

from minfree.sources.forked import ForkedChild, pickled_error

SLOT_SIZE = 4 << 20   # bytes per shared slot: several decoder calls' output are packed into one
SLOTS = 6             # slots in flight: the child runs this far ahead of the reader
_HEADER = struct.Struct("<qq")   # (slot, length) | (_END, 0) | (_RAISED, pickled length)
_END = -1
_RAISED = -2


class ChunkProcessDied(Exception):
    """The child ended without saying how (killed, or out of memory)."""


class ChunkProcess:
    """``produce()``'s chunks, made by a forked child; raises OSError when no child can be made
    (the caller then produces them itself)."""

    def __init__(self, produce: Callable[[], Iterable[bytes]]) -> None:
        self._ring = mmap.mmap(-1, SLOTS * SLOT_SIZE)   # MAP_SHARED | MAP_ANONYMOUS
        try:
            self._child = ForkedChild(lambda to_parent, from_parent: _child(produce, self._ring, to_parent[0],
                                                                              from_parent[0]),
                                      from_child=1, to_child=1)
        except OSError:
            self._ring.close()
            raise
        (self._tell,), (self._freed,) = self._child.from_child, self._child.to_child
        self._view = memoryview(self._ring)
        self._ended = False    # the child said its last word: it needs no more slots

    def ready(self) -> bool:
        """A message from the child is waiting: the next chunk would not block."""
        return bool(select.select([self._tell], [], [], 0)[0])

    def chunks(self) -> Iterator[memoryview]:
        """Each chunk in order, as a view of its slot: valid until the next one is asked for."""
        while True:
            slot, length = _HEADER.unpack(self._read_exactly(_HEADER.size))
            if slot == _END:
                self._ended = True
                return
            if slot == _RAISED:
                self._ended = True
                raise pickle.loads(self._read_exactly(length))   # our own child's exception
            start = slot * SLOT_SIZE
            chunk = self._view[start:start + length]
            try:
                yield chunk
            finally:
                chunk.release()
            self._give_back(slot)

    def close(self) -> None:
        """Stop the child (if it is still at work) and wait for it; idempotent."""
        self._child.close()
        if not self._ring.closed:
            self._view.release()
            try:
                self._ring.close()
            except BufferError:   # a view of a chunk lives on (a traceback): unmapped with it
                pass

    def _read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            more = os.read(self._tell, size - len(data))
            if not more:
                self._ended = True
                raise ChunkProcessDied("the decompressing process ended unexpectedly")
            data += more
        return data

    def _give_back(self, slot: int) -> None:
        if self._ended:
            return
        try:
            os.write(self._freed, bytes((slot,)))
        except OSError:   # the child is gone: what it sent is still in the pipe
            pass


def _child(produce: Callable[[], Iterable[bytes]], ring: mmap.mmap, tell: int, freed: int) -> None:
    """In the forked child: fill slots with ``produce()``'s chunks."""
    # round robin, oldest freed first: every slot is touched whether the reader keeps up or
    # not, so the peak memory of a large input is the same at any density of reports
    free = collections.deque(range(SLOTS))
    slot, fill = -1, 0

    def send(header: bytes, payload: bytes = b"") -> None:
        message = header + payload
        while message:
            message = message[os.write(tell, message):]

    def flush() -> None:
        nonlocal slot
        if slot >= 0:
            send(_HEADER.pack(slot, fill))
            slot = -1

    try:
        try:
            for chunk in produce():
                if not chunk:
                    flush()
                view = memoryview(chunk)
                at = 0
                while at < len(view):
                    if slot < 0:
                        while not free:
                            got = os.read(freed, SLOTS)
                            if not got:
                                return   # the reader closed: stop
                            free.extend(got)
                        slot, fill = free.popleft(), 0
                    size = min(len(view) - at, SLOT_SIZE - fill)
                    start = slot * SLOT_SIZE + fill
                    ring[start:start + size] = view[at:at + size]
                    fill, at = fill + size, at + size
                    if fill == SLOT_SIZE:
                        flush()
            flush()
        except Exception as exc:  # noqa: BLE001 - raised again in the parent
            flush()
            payload = pickled_error(exc)
            send(_HEADER.pack(_RAISED, len(payload)), payload)
        else:
            send(_HEADER.pack(_END, 0))
    except BrokenPipeError:
        pass   # the reader went away first
